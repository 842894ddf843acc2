"""A click whose answer never comes (the server went away) says so; a real server stopped."""

import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from cellule.extensions import db
from tests.conftest import follow_nav, sign_in
from tests.servers import free_port

pytestmark = pytest.mark.browser


class Server:
    """The test app on a fixed loopback port that the test can stop and start again."""

    def __init__(self, app):
        self.app, self.port = app, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None

    def start(self):
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def test_an_htmx_action_while_the_server_is_down_is_reported_then_works_again(
        app, page, make_user, triage):
    from cases.models import Case

    _run, case = triage("serious")
    other = make_user("psychologist", name="Dirk Psycholoog")
    server = Server(app)
    server.start()
    try:
        sign_in(page, server.url, make_user("supervisor", language="en"))
        follow_nav(page, "Board")
        # The board's bulk reassign (an htmx form): tick the case, pick the psychologist.
        page.get_by_label(f"Select {case.reference}").check()
        page.get_by_label("Reassign selected to").select_option(label="Dirk Psycholoog")

        server.stop()
        page.get_by_role("button", name="Reassign selected").click()
        notice = page.locator("#flashes .flash-unreachable")
        expect(notice).to_be_visible()
        expect(notice).to_have_attribute("role", "alert")
        expect(notice).to_contain_text("may not have been saved")
        db.session.expire_all()
        assert db.session.get(Case, case.id).assignee_id != other.id

        # Back up: the same click works and the notice goes away.
        server.start()
        page.get_by_role("button", name="Reassign selected").click()
        expect(page.locator("#bulk-done")).to_contain_text("1 case reassigned to Dirk Psycholoog")
        expect(notice).to_have_count(0)
        db.session.expire_all()
        assert db.session.get(Case, case.id).assignee_id == other.id
    finally:
        if server.server is not None:
            try:
                server.stop()
            except Exception:  # noqa: BLE001 (already stopped)
                pass
