"""The database unavailable (issue 13): a clean 503 with Retry-After, nothing half-written,
one log line per outage, and everything works again once it is back — nothing restarted.

- PostgreSQL: a real gunicorn reaches the test's database through a TCP proxy of the test's
  own (tests/servers.py) that the test cuts, between requests and in the middle of one.
- SQLite: another connection holds the write lock beyond the busy timeout.
- Both: a real programming error stays a 500; only connectivity is a 503.
"""

import http.cookiejar
import json
import logging
import re
import sqlite3
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from cellule import create_app
from cellule.extensions import db
from cellule.models import ApiToken
from contacts.models import Contact, Person
from tests.conftest import PASSWORD, TEST_DATABASE_URL, base_config, serve_app
from tests.jobs.conftest import wait_until
from tests.servers import Gunicorn, TcpProxy

ON_POSTGRESQL = bool(TEST_DATABASE_URL)
postgresql_only = pytest.mark.skipif(
    not ON_POSTGRESQL, reason="cutting the connection needs PostgreSQL behind a TCP proxy "
    "(CELLULE_TEST_DATABASE_URL)")
sqlite_only = pytest.mark.skipif(ON_POSTGRESQL, reason="a file lock is SQLite's own outage")

# A short busy timeout, so that a held SQLite lock is an outage within a fraction of a second.
SQLITE_BUSY_TIMEOUT = 0.3


@pytest.fixture
def app(database_url, redis_url, tmp_path):
    """The suite's `app`, with a short SQLite busy timeout."""
    config = base_config(database_url, redis_url)
    if not ON_POSTGRESQL:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT}}
    yield from serve_app(config, tmp_path)


def contact_body(summary, **extra):
    return {"channel": "phone", "direction": "in", "reasons": ["stress"], "summary": summary,
            **extra}


def contacts_with(summary):
    db.session.rollback()
    return db.session.scalar(select(func.count(Contact.id)).where(Contact.summary == summary))


def persons_named(name):
    db.session.rollback()
    return db.session.scalar(select(func.count(Person.id)).where(Person.name == name))


def outage_lines(text_, start="Database unreachable", end="Database reachable again"):
    return text_.count(start), text_.count(end)


# --- Both databases: only connectivity is a 503 ---------------------------------------


@pytest.mark.parametrize("statements", [
    ["SELECT no_such_column FROM users"],  # ProgrammingError (SQLite: an OperationalError)
    ["INSERT INTO users (id) SELECT id FROM users"],  # IntegrityError
    # An OperationalError of PostgreSQL's that is no outage (QueryCanceled, 57014).
    pytest.param(["SET LOCAL statement_timeout = 50", "SELECT pg_sleep(2)"],
                 marks=postgresql_only, id="statement-timeout"),
])
def test_a_real_database_error_is_still_a_500_not_an_outage(app, make_user, statements, caplog):
    make_user("advisor")

    @app.get("/test-broken")
    def broken():
        for statement in statements:
            db.session.execute(text(statement))
        return "unreachable"

    response = app.test_client().get("/test-broken")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
    assert "unhandled error on GET /test-broken" in caplog.text  # logged as the bug it is
    assert "Database unreachable" not in caplog.text


# --- SQLite: a write lock held beyond the busy timeout -----------------------------------


@sqlite_only
def test_a_locked_sqlite_database_answers_503_then_works_again(
    app, client, login_as, api_client, caplog
):
    caplog.set_level(logging.INFO, logger="cellule.errors")
    login_as("advisor")
    api, _ = api_client("advisor")
    assert api.post("/api/v1/contacts", json=contact_body("Avant")).status_code == 201

    holder = sqlite3.connect(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)
    holder.execute("BEGIN IMMEDIATE")  # another process writing: reads go on, writes wait
    try:
        response = api.post("/api/v1/contacts", json=contact_body("Pendant le verrou"))
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        assert response.get_json() == {
            "error": "database temporarily unavailable; nothing was saved"}

        page = client.post_form("/people/new", {"name": "Lotte Verbeke", "language": "nl",
                                                "phone": "", "email": "", "sector": "horeca",
                                                "affiliate_number": ""})
        assert page.status_code == 503
        assert int(page.headers["Retry-After"]) > 0
        body = page.get_data(as_text=True)
        assert "cannot reach its database for a moment" in body
        assert "was not saved" in body
    finally:
        holder.rollback()
        holder.close()

    assert contacts_with("Pendant le verrou") == 0 and persons_named("Lotte Verbeke") == 0
    assert caplog.text.count("Database unreachable") == 1  # two requests, one outage
    assert "unhandled error" not in caplog.text and "Traceback" not in caplog.text

    # The lock is gone: the same calls succeed, in the same processes and sessions.
    assert api.post("/api/v1/contacts", json=contact_body("Après")).status_code == 201
    page = client.post_form("/people/new", {"name": "Lotte Verbeke", "language": "nl",
                                            "phone": "", "email": "", "sector": "horeca",
                                            "affiliate_number": ""})
    assert page.status_code == 303
    assert contacts_with("Après") == 1 and persons_named("Lotte Verbeke") == 1
    assert outage_lines(caplog.text) == (1, 1)


# --- PostgreSQL: a real gunicorn behind a proxy that the test cuts ------------------------


class Browser:
    """An HTTP client with cookies, that returns every answer (no exception on 5xx)."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, method, path, form=None, body=None, headers=None):
        headers = {"Accept-Language": "en", **(headers or {})}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=headers)
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def sign_in(self, user):
        _, _, page = self.open("GET", "/login")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        status, _, page = self.open("POST", "/login", form={
            "email": user.email, "password": PASSWORD, "csrf_token": token})
        assert status == 200 and "Sign out" in page, page[-2000:]


@pytest.fixture
def served(app, make_user, tmp_path):
    """(gunicorn, proxy, a signed-in advisor's browser, an API caller) on PostgreSQL."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    advisor = make_user("advisor")
    row, token = ApiToken.issue(advisor)
    db.session.add(row)
    db.session.commit()
    with TcpProxy(url.host, url.port or 5432) as proxy, Gunicorn(
        app, tmp_path, workers=1, database_url=proxy.url_for(url.render_as_string(False))
    ) as server:
        browser = Browser(server.url)
        browser.sign_in(advisor)

        def api(method, path, body=None):
            status, headers, text_ = browser.open(
                method, path, body=body, headers={"Authorization": f"Bearer {token}"})
            return status, headers, json.loads(text_) if text_ else None

        yield server, proxy, browser, api


@postgresql_only
def test_a_cut_database_answers_503_with_retry_after_then_everything_works_again(served):
    server, proxy, browser, api = served
    assert browser.open("GET", "/")[0] == 200
    assert api("POST", "/api/v1/contacts", contact_body("Avant la coupure"))[0] == 201

    proxy.cut()
    status, headers, page = browser.open("GET", "/")
    assert status == 503 and int(headers["Retry-After"]) > 0
    assert "cannot reach its database for a moment" in page and "was not saved" in page
    status, headers, answer = api("POST", "/api/v1/contacts", contact_body("Pendant la coupure"))
    assert status == 503 and int(headers["Retry-After"]) > 0
    assert answer == {"error": "database temporarily unavailable; nothing was saved"}
    status, _, health = api("GET", "/api/v1/health")
    assert status == 503 and health["database"] == "down" and health["redis"] == "ok"

    proxy.restore()  # nothing is restarted: the same gunicorn worker, the same session
    status, _, page = browser.open("GET", "/")
    assert status == 200 and "Sign out" in page
    assert api("POST", "/api/v1/contacts", contact_body("Après la coupure"))[0] == 201
    assert api("GET", "/api/v1/health")[2]["database"] == "ok"

    assert contacts_with("Pendant la coupure") == 0
    assert contacts_with("Après la coupure") == 1
    log = server.log_text()
    assert "Traceback" not in log and "unhandled error" not in log, log[-3000:]
    assert outage_lines(log) == (1, 1), log[-3000:]


@postgresql_only
def test_a_cut_in_the_middle_of_a_write_answers_503_and_leaves_nothing_half_written(
    app, served
):
    server, proxy, _, api = served
    assert api("POST", "/api/v1/contacts", contact_body("Échauffement"))[0] == 201
    direct = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    name = "Wouter Claes"
    body = contact_body("Coupé en pleine écriture",
                        person={"name": name, "phone": "0475 11 22 33", "language": "nl"})
    answers = []
    try:
        # The test holds the audit table: the request inserts the person and the contact,
        # then waits on its audit row — a write in progress, half done.
        with direct.connect() as holder:
            holder.execute(text("LOCK TABLE audit_events IN EXCLUSIVE MODE"))
            caller = threading.Thread(target=lambda: answers.append(
                api("POST", "/api/v1/contacts", body)))
            caller.start()

            def waiting_backend():
                with direct.connect() as probe:
                    return probe.scalar(text(
                        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query LIKE 'INSERT INTO audit_events%'"))

            pid = wait_until(waiting_backend, timeout=30, message="the write to wait")
            proxy.cut()
            caller.join(30)
            holder.rollback()

        def backend_gone():
            with direct.connect() as probe:
                return not probe.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})

        wait_until(backend_gone, timeout=30, message="the cut transaction to end")
    finally:
        direct.dispose()

    status, headers, answer = answers[0]
    assert status == 503 and int(headers["Retry-After"]) > 0, answer
    assert answer["error"].startswith("database temporarily unavailable")
    assert persons_named(name) == 0 and contacts_with(body["summary"]) == 0

    proxy.restore()
    status, _, answer = api("POST", "/api/v1/contacts", body)
    assert status == 201, answer
    assert persons_named(name) == 1 and contacts_with(body["summary"]) == 1
    log = server.log_text()
    assert "Traceback" not in log, log[-3000:]
    assert outage_lines(log) == (1, 1), log[-3000:]


def test_postgresql_connections_get_a_short_connect_timeout(app, redis_url, tmp_path):
    url = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"
    other = create_app(base_config(url, redis_url), tmp_path / "other")
    with other.app_context():
        events = []
        event.listen(db.engine, "do_connect",
                     lambda dialect, record, cargs, cparams: events.append(cparams))
        response = other.test_client().get("/api/v1/health")
        assert db.engine.pool.timeout() == other.config["DATABASE_POOL_TIMEOUT"] == 10
        db.engine.dispose()
    assert response.status_code == 503 and response.get_json()["database"] == "down"
    assert events and events[0]["connect_timeout"] == 3


@postgresql_only
def test_a_connection_lost_after_the_answer_was_decided_does_not_make_it_a_500(
        database_url, redis_url, tmp_path, caplog):
    # The database restarts between the view and the end of the request: the session's
    # closing ROLLBACK meets a dead socket. The answer already decided is the answer.
    url = make_url(database_url)
    with TcpProxy(url.host, url.port or 5432) as proxy:
        app = create_app(base_config(proxy.url_for(url.render_as_string(False)), redis_url),
                         tmp_path / "instance")
        app.teardown_appcontext(lambda exc: proxy.cut())  # runs first: teardowns go in reverse
        client = app.test_client()
        with caplog.at_level(logging.WARNING):
            response = client.get("/api/v1/health")
        assert response.status_code == 200 and response.get_json()["database"] == "ok"
        assert "connection lost at the end of a request" in caplog.text
        proxy.restore()
        app.teardown_appcontext_funcs.pop()
        assert client.get("/api/v1/health").get_json()["database"] == "ok"
        with app.app_context():
            db.engine.dispose()
