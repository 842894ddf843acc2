"""Odd input never gives a 500 (issue 13, point 4): forged keyset cursors on every list,
deeply nested JSON, lone surrogates, dates at the edges of the calendar.

One test per kind of odd input per surface; each answer is the refusal a client can act on:
the API's JSON error naming the field (400 or 422), the HTML 400 page or the form again
with the field's error (422).
"""

import json
import re
import socket
from urllib.parse import quote

import pytest

from cellule.extensions import db
from tests.security.odd import EDGE_DATES, EDGE_INSTANTS, EDGE_LOCAL, FORGED_CURSORS, nested
from triage.examples import LEVEL_ANSWERS

# --------------------------------------------------------------------------- the world


@pytest.fixture
def world(app, make_user, api_client):
    """An advisor's and a supervisor's tokens, one contact with a person, one case in the
    psychology queue (opened by the triage API), and signed-in HTML clients."""
    advisor_api, advisor = api_client("advisor")
    supervisor_api, _supervisor = api_client("supervisor")
    response = advisor_api.post("/api/v1/contacts", json={
        "person": {"name": "Ana Peeters", "language": "fr"}, "channel": "phone",
        "summary": "Appel du matin."})
    assert response.status_code == 201, response.get_json()
    contact_id = response.get_json()["id"]
    response = advisor_api.post(f"/api/v1/contacts/{contact_id}/triage",
                                json={"answers": LEVEL_ANSWERS["serious"], "language": "fr"})
    assert response.status_code == 201, response.get_json()
    case_id = response.get_json()["case"]["id"]
    return {"advisor_api": advisor_api, "supervisor_api": supervisor_api, "advisor": advisor,
            "contact_id": contact_id, "case_id": case_id,
            "html": SignedIn(app, make_user)}


class SignedIn(dict):
    """role → a test client signed in as a new user of that role (made when first used)."""

    def __init__(self, app, make_user):
        super().__init__()
        self.app, self.make_user = app, make_user

    def __missing__(self, role):
        client = self[role] = self.app.test_client()
        assert client.login(self.make_user(role)).status_code == 302
        return client


# --------------------------------------------------------------------------- cursors

API_LISTS = {  # path, status of a bad cursor (as before: contacts 400, cases 422)
    "api_contacts": ("/api/v1/contacts?cursor=", 400),
    "api_cases": ("/api/v1/cases?cursor=", 422),
}
HTML_LISTS = {  # path, the role that sees the list
    "board": ("/board?cursor=", "supervisor"),
    "psychology_queue": ("/queues/psychology?cursor=", "psychologist"),
    "advisors_queue": ("/queues/advisors?cursor=", "advisor"),
    "my_cases": ("/my/cases?cursor=", "advisor"),
    "inbox": ("/inbox?after=", "advisor"),
}


@pytest.mark.parametrize("surface", API_LISTS)
def test_forged_cursors_on_an_api_list_are_refused_naming_cursor(world, surface):
    path, status = API_LISTS[surface]
    for forgery, cursor in FORGED_CURSORS.items():
        response = world["supervisor_api"].get(path + quote(cursor))
        assert response.status_code == status, (forgery, response.get_data(as_text=True)[:300])
        assert "cursor" in response.get_json()["fields"]


@pytest.mark.parametrize("surface", HTML_LISTS)
def test_forged_cursors_on_an_html_list_are_the_400_page(world, surface):
    path, role = HTML_LISTS[surface]
    assert world["html"][role].get(path.split("?")[0]).status_code == 200
    for forgery, cursor in FORGED_CURSORS.items():
        response = world["html"][role].get(path + quote(cursor))
        assert response.status_code == 400, (forgery, response.get_data(as_text=True)[:300])
        assert response.mimetype == "text/html"


def test_a_cursor_only_works_on_the_list_that_issued_it(world):
    """Cursors are signed per list: the contacts API's next page is not a case cursor."""
    client = world["advisor_api"]
    for n in range(2):
        assert client.post("/api/v1/contacts", json={"channel": "web", "summary": f"n{n}"}
                           ).status_code == 201
    first = client.get("/api/v1/contacts?limit=1").get_json()
    cursor = first["next_cursor"]
    second = client.get("/api/v1/contacts?limit=1&cursor=" + cursor)
    assert second.status_code == 200
    assert second.get_json()["items"][0]["id"] < first["items"][0]["id"]
    response = client.get("/api/v1/cases?cursor=" + cursor)
    assert response.status_code == 422 and "cursor" in response.get_json()["fields"]
    response = world["html"]["advisor"].get("/inbox?after=" + cursor)
    assert response.status_code == 400


# --------------------------------------------------------------------------- JSON nesting


def _json_posts(world):
    return {
        "contacts": "/api/v1/contacts",
        "telephony": "/api/v1/telephony/calls",
        "triage_evaluate": "/api/v1/triage/evaluate",
        "contact_triage": f"/api/v1/contacts/{world['contact_id']}/triage",
        "case_note": f"/api/v1/cases/{world['case_id']}/notes",
        "case_close": f"/api/v1/cases/{world['case_id']}/close",
    }


JSON_POSTS = ("contacts", "telephony", "triage_evaluate", "contact_triage", "case_note",
              "case_close")


@pytest.mark.parametrize("surface", JSON_POSTS)
def test_deeply_nested_json_is_a_400(world, surface):
    path = _json_posts(world)[surface]
    client = world["supervisor_api"]
    bare = "[" * 3000 + "]" * 3000
    response = client.post(path, data=bare, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "nest" in response.get_json()["error"]
    # Just beyond the bound, inside a field: still a 400 before any field is looked at.
    within = json.dumps({"summary": nested(33), "body": nested(33), "answers": nested(33)})
    response = client.post(path, data=within, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)[:300]


def test_json_nested_up_to_the_bound_reaches_the_field_checks(world):
    body = {"channel": "phone", "summary": nested(31)}  # 32 levels with the object itself
    response = world["advisor_api"].post("/api/v1/contacts", json=body)
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"summary"}


def test_brackets_inside_strings_do_not_count_as_nesting(world):
    response = world["advisor_api"].post("/api/v1/contacts", json={
        "channel": "phone", "summary": "[" * 500 + "{" * 500 + '\\"['})
    assert response.status_code == 201, response.get_json()


# --------------------------------------------------------------------------- surrogates


@pytest.mark.parametrize("body, field", [
    ('{"channel": "phone", "summary": "a\\ud800b"}', "summary"),
    ('{"channel": "phone", "person": {"name": "Ana \\udfff"}}', "person.name"),
    ('{"channel": "phone", "reasons": ["stress", "\\ud83d"]}', "reasons.1"),
    ('{"channel": "phone", "\\ud800": 1}', "\ufffd"),
])
def test_lone_surrogate_in_a_contact_is_a_422_naming_the_field(world, body, field):
    response = world["advisor_api"].post("/api/v1/contacts", data=body,
                                         content_type="application/json")
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert list(response.get_json()["fields"]) == [field]


def test_lone_surrogate_as_raw_utf8_bytes_is_a_422(world):
    # ED A0 80 is U+D800 written as UTF-8 (invalid, yet Python's JSON decoder lets it pass).
    body = b'{"channel": "phone", "summary": "a\xed\xa0\x80b"}'
    response = world["advisor_api"].post("/api/v1/contacts", data=body,
                                         content_type="application/json")
    assert response.status_code == 422
    assert list(response.get_json()["fields"]) == ["summary"]


def test_a_surrogate_pair_is_an_ordinary_character(world):
    response = world["advisor_api"].post(
        "/api/v1/contacts", data='{"channel": "phone", "summary": "\\ud83d\\ude42"}',
        content_type="application/json")
    assert response.status_code == 201
    contact = world["advisor_api"].get(f"/api/v1/contacts/{response.get_json()['id']}")
    assert contact.get_json()["summary"] == "\U0001f642"


@pytest.mark.parametrize("surface, body, field", [
    ("telephony", '{"call_id": "c\\ud800", "event": "ringing", "from": ""}', "call_id"),
    ("triage_evaluate", '{"script": "cellule-triage", "answers": {"acute_now": "\\udc00"}}',
     "answers.acute_now"),
    ("case_note", '{"body": "\\ud800", "visibility": "team"}', "body"),
])
def test_lone_surrogate_in_other_api_bodies_is_a_422(world, surface, body, field):
    response = world["supervisor_api"].post(_json_posts(world)[surface], data=body,
                                            content_type="application/json")
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert field in response.get_json()["fields"]


def _no_surrogate(value):
    return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def test_query_strings_forms_and_paths_cannot_carry_a_surrogate(app):
    """Werkzeug keeps a %-escape that is not UTF-8 (a surrogate's bytes) as text, decodes
    raw bytes of a multipart field or a path with U+FFFD, and drops a urlencoded body
    of raw bytes that are not UTF-8: no lone surrogate reaches a view."""
    from flask import request

    with app.test_request_context("/search", query_string="q=a%ED%A0%80b&r=%uD800",
                                  method="POST", data=b"summary=%ED%A0%80&ok=%F0%9F%99%82",
                                  content_type="application/x-www-form-urlencoded"):
        assert (request.args["q"], request.args["r"]) == ("a%ED%A0%80b", "%uD800")
        assert request.form.to_dict() == {"summary": "%ED%A0%80", "ok": "\U0001f642"}
    multipart = (b'--zz\r\nContent-Disposition: form-data; name="summary"\r\n\r\n'
                 b"a\xed\xa0\x80b\r\n--zz--\r\n")
    with app.test_request_context("/x", method="POST", data=multipart,
                                  content_type="multipart/form-data; boundary=zz"):
        assert request.form["summary"] == "a\ufffd\ufffd\ufffdb"
    with app.test_request_context("/x", method="POST", data=b"summary=a\xed\xa0\x80b",
                                  content_type="application/x-www-form-urlencoded"):
        assert dict(request.form) == {}
    environ = app.test_request_context("/x").request.environ
    environ["PATH_INFO"] = "/contacts/\xed\xa0\x80"  # WSGI: the raw bytes as latin-1
    with app.request_context(environ):
        assert _no_surrogate(request.path) and "\ufffd" in request.path


def test_a_surrogate_escape_in_a_form_is_kept_as_text(world):
    advisor = world["html"]["advisor"]
    assert advisor.get("/people?q=%ED%A0%80").status_code == 200
    response = advisor.post(
        "/contacts/new", content_type="application/x-www-form-urlencoded",
        data=f"csrf_token={advisor.csrf_token()}&anonymous=y&channel=phone&direction=in"
             "&occurred_at=2025-01-01T10:00&summary=%ED%A0%80".encode())
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    from contacts.models import Contact

    contact = db.session.scalars(db.select(Contact).order_by(Contact.id.desc())).first()
    assert contact.summary == "%ED%A0%80"


def test_raw_bytes_in_a_query_string_are_a_400_through_gunicorn(app, tmp_path):
    """A client may send bytes that are not UTF-8 unescaped in the request line; werkzeug
    cannot decode them (before: a 500, even the error page failed)."""
    from tests.servers import Gunicorn

    def status(port, target):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Connection: close\r\n\r\n")
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        return int(answer.split(b" ", 2)[1])

    with Gunicorn(app, tmp_path, workers=1) as server:
        assert status(server.port, b"/login?next=\xed\xa0\x80") == 400
        assert status(server.port, b"/api/v1/health?x=\xff") == 400
        assert status(server.port, b"/login?next=%ED%A0%80") == 200
        assert status(server.port, b"/login?next=\xc3\xa9") == 200  # é, unescaped UTF-8
        assert "Traceback" not in server.log_text()


# --------------------------------------------------------------------------- dates

def test_edge_occurred_at_in_the_api_is_a_422(world):
    for value in EDGE_INSTANTS:
        response = world["advisor_api"].post(
            "/api/v1/contacts", json={"channel": "phone", "occurred_at": value})
        assert response.status_code == 422, (value, response.get_data(as_text=True)[:300])
        assert list(response.get_json()["fields"]) == ["occurred_at"]


def test_an_occurred_at_far_out_names_the_fields_own_rule(world):
    # Far future or far past: the contact's rules (not in the future, after 2000), not the
    # parser's range, which says nothing to the person who typed a year wrong.
    for value, message in (("9999-12-31T23:59-05:00", "Must not be in the future."),
                           ("0001-01-01T00:00+05:00", "Must be after the year 2000.")):
        response = world["advisor_api"].post(
            "/api/v1/contacts", json={"channel": "phone", "occurred_at": value})
        assert response.status_code == 422
        assert response.get_json()["fields"] == {"occurred_at": message}


def test_edge_occurred_at_in_the_contact_form_is_a_422(world):
    from contacts.models import Contact

    advisor = world["html"]["advisor"]
    for value in EDGE_LOCAL:
        response = advisor.post_form("/contacts/new", {
            "anonymous": "y", "channel": "phone", "direction": "in", "occurred_at": value})
        assert response.status_code == 422, (value, response.get_data(as_text=True)[:300])
        page = response.get_data(as_text=True)
        assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="occurred_at"|'
                         r'<input[^>]*id="occurred_at"[^>]*aria-invalid="true"', page), value
    assert db.session.scalar(db.select(db.func.count()).select_from(Contact)) == 1


def test_edge_telephony_at_is_a_422(world):
    for value in EDGE_INSTANTS:
        response = world["advisor_api"].post("/api/v1/telephony/calls", json={
            "call_id": "c-1", "event": "ringing", "from": "+3221234567", "at": value})
        assert response.status_code == 422, (value, response.get_data(as_text=True)[:300])
        assert list(response.get_json()["fields"]) == ["at"]


def test_edge_evaluated_at_is_a_422(world):
    for value in EDGE_INSTANTS:
        response = world["advisor_api"].post("/api/v1/triage/evaluate", json={
            "script": "cellule-triage", "answers": LEVEL_ANSWERS["low"], "evaluated_at": value})
        assert response.status_code == 422, (value, response.get_data(as_text=True)[:300])
        assert list(response.get_json()["fields"]) == ["evaluated_at"]


def test_evaluated_at_within_the_range_still_works(world):
    for value in ("1900-01-01T12:00+00:00", "2100-12-31T10:00+01:00"):
        response = world["advisor_api"].post("/api/v1/triage/evaluate", json={
            "script": "cellule-triage", "answers": LEVEL_ANSWERS["serious"],
            "evaluated_at": value})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]


def test_edge_task_due_date_is_a_422_and_no_task(world):
    from cases.models import Task

    supervisor = world["html"]["supervisor"]
    before = db.session.scalar(db.select(db.func.count()).select_from(Task))
    for value in [*EDGE_LOCAL, *EDGE_INSTANTS]:
        response = supervisor.post_form(f"/cases/{world['case_id']}/tasks", {
            "title": "Rappeler", "kind": "callback", "due_at": value})
        assert response.status_code == 422, (value, response.get_data(as_text=True)[:300])
        assert "due_at" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Task)) == before
    response = supervisor.post_form(f"/cases/{world['case_id']}/tasks", {
        "title": "Rappeler", "kind": "callback", "due_at": "2100-12-31T10:00"})
    assert response.status_code == 302
    assert db.session.scalar(db.select(db.func.count()).select_from(Task)) == before + 1


def test_edge_report_dates_in_the_api_are_a_422(world):
    for field in ("from", "to"):
        for value in EDGE_DATES:
            response = world["supervisor_api"].get(f"/api/v1/reports/summary?{field}={value}")
            assert response.status_code == 422, (value, response.get_data(as_text=True)[:300])
            assert list(response.get_json()["fields"]) == [field]
    # A malformed date stays a 400, as documented.
    assert world["supervisor_api"].get("/api/v1/reports/summary?from=2025-13-01").status_code \
        == 400


def test_edge_report_dates_on_the_dashboard_are_a_422(world):
    for value in EDGE_DATES:
        response = world["html"]["supervisor"].get(f"/reports/?from={value}&to=2025-01-31")
        assert response.status_code == 422, (value, response.get_data(as_text=True)[:300])
        assert re.search(r'id="f-from"[^>]*aria-invalid="true"', response.get_data(as_text=True))


def test_edge_report_dates_of_an_export_are_refused(world):
    from cases.reporting.models import ReportExport

    supervisor = world["html"]["supervisor"]
    for value in EDGE_DATES:
        response = supervisor.post("/reports/exports", data={
            "from": value, "to": "2025-01-31", "csrf_token": supervisor.csrf_token()},
            headers={"HX-Request": "true"})
        assert response.status_code == 422, (value, response.get_data(as_text=True)[:300])
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportExport)) == 0
