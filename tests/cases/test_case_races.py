"""Races on one case against a real gunicorn (2 workers × 2 threads), from Python threads
released together (issue 13): three people closing it at once, a close racing a claim.
Exactly one wins; each other gets a 409 carrying the winner's state ("closed by … at …",
"taken by …"), in the API and in the HTML; never a 500, never a traceback in the log.
"""

import re

import pytest
import requests
from sqlalchemy import func, select

from cases.models import Case, CaseEvent, Task
from cellule.extensions import db
from cellule.models import ApiToken
from tests.conftest import PASSWORD, current_totp_code
from tests.servers import Gunicorn, released_together

ROUNDS = 3


@pytest.fixture
def server(app, tmp_path):
    with Gunicorn(app, tmp_path, workers=2, threads=2) as gunicorn:
        yield gunicorn


class Api:
    """A bearer-token client of the served API."""

    def __init__(self, server, user):
        row, token = ApiToken.issue(user)
        db.session.add(row)
        db.session.commit()
        self.user, self.base = user, server.url + "/api/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def close(self, case_id, version):
        return self.http.post(f"{self.base}/cases/{case_id}/close", timeout=60,
                              json={"outcome": "resolved", "version": version})

    def claim(self, case_id, _version=None):
        return self.http.post(f"{self.base}/cases/{case_id}/claim", timeout=60)


class Browser:
    """A signed-in browser session on the served pages (password and TOTP code)."""

    def __init__(self, server, user):
        self.user, self.base = user, server.url
        self.http = requests.Session()
        token = self._token("/login")
        response = self.http.post(self.base + "/login", allow_redirects=False, timeout=60,
                                  data={"email": user.email, "password": PASSWORD,
                                        "csrf_token": token})
        if response.headers.get("Location") == "/login/code":
            response = self.http.post(self.base + "/login/code", allow_redirects=False,
                                      timeout=60, data={"code": current_totp_code(user),
                                                        "csrf_token": self._token("/login/code")})
        assert response.status_code == 302 and "/login" not in response.headers["Location"]
        self.csrf = self._token("/")

    shown_tasks = ()  # the open tasks of the case as the closing form showed them

    def _token(self, path):
        page = self.http.get(self.base + path, timeout=60).text
        return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def close(self, case_id, version):
        # The closing form says what becomes of each open task it showed (the follow-ups).
        tasks = {f"task_{task_id}": "cancelled" for task_id in self.shown_tasks}
        return self.http.post(f"{self.base}/cases/{case_id}/close", allow_redirects=False,
                              timeout=60, data={"outcome": "resolved", "version": version,
                                                "csrf_token": self.csrf, **tasks})

    def claim(self, case_id, _version=None):
        return self.http.post(f"{self.base}/cases/{case_id}/claim", allow_redirects=False,
                              timeout=60, data={"csrf_token": self.csrf})


def open_task_ids(case_id):
    return db.session.scalars(select(Task.id).where(Task.case_id == case_id,
                                                    Task.status == "open")).all()


def at_once(calls, *args):
    """Call each of `calls` with `args` from threads released together; return the
    responses. The pages' closing forms show the case's open tasks as they are now."""
    Browser.shown_tasks = open_task_ids(args[0])
    return released_together([lambda call=call: call(*args) for call in calls])


def won(response):
    return response.status_code in (200, 302)


def assert_told(client, response, winner, closed):
    """A loser's 409 names the winner's change: the close (by whom, when) or the claim."""
    assert response.status_code == 409, (response.status_code, response.text[:500])
    if isinstance(client, Api):
        current = response.json()["current"]
        if closed:
            assert current["status"] == "closed" and current["closed_at"]
            assert current["closed_by"] == {"id": winner.id, "name": winner.name}
        else:
            assert current["status"] == "in_progress"
            assert current["assignee"] == {"id": winner.id, "name": winner.name}
    elif closed:
        assert f"Closed by {winner.name} at" in response.text
    else:
        assert f"Taken by {winner.name}." in response.text


def test_one_winner_the_others_409_with_its_state(app, server, triage, make_user):
    closers = [Api(server, make_user("supervisor")), Api(server, make_user("psychologist")),
               Browser(server, make_user("supervisor"))]
    for _round in range(ROUNDS):
        _run, case = triage("serious")
        case_id, version = case.id, case.version
        responses = at_once([closer.close for closer in closers], case_id, version)
        assert [won(r) for r in responses].count(True) == 1, [r.status_code for r in responses]
        winner = closers[[won(r) for r in responses].index(True)].user
        for closer, response in zip(closers, responses, strict=True):
            if not won(response):
                assert_told(closer, response, winner, closed=True)
        db.session.expire_all()
        assert db.session.get(Case, case.id).closed_by_id == winner.id
        assert db.session.scalar(select(func.count(CaseEvent.id)).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == "closed")) == 1

    # A close racing a claim, through the API and the pages both ways round.
    pairs = [(Api(server, make_user("psychologist")), Browser(server, make_user("supervisor"))),
             (Browser(server, make_user("psychologist")), Api(server, make_user("supervisor")))]
    for index in range(2 * ROUNDS):
        claimer, closer = pairs[index % 2]
        _run, case = triage("serious")
        case_id, version = case.id, case.version
        claim, close = at_once([claimer.claim, closer.close], case_id, version)
        assert won(claim) != won(close), (claim.status_code, close.status_code)
        if won(claim):
            assert_told(closer, close, claimer.user, closed=False)
        else:
            assert_told(claimer, claim, closer.user, closed=True)
        db.session.expire_all()
        final = db.session.get(Case, case.id)
        assert (final.status == "closed") is won(close)
        assert (final.assignee_id == claimer.user.id) is won(claim)

    log = server.log_text()
    assert "Traceback" not in log and "database is locked" not in log, log[-3000:]
