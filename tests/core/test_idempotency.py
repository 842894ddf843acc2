"""`Idempotency-Key` (IETF httpapi draft) on the API POSTs that create something (issue 13):
a retry gets the first answer and changes nothing; the key is per token, bound to one
request, refused when malformed, forgotten after 24 hours; two requests with one key have
one effect; and the real fault: a response lost on the wire, then the retry."""

import json
import socket
import threading
import traceback
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from cases.models import Case, Note, TriageRun
from cellule import idempotency
from cellule.extensions import db
from cellule.idempotency import IdempotencyKey
from cellule.types import utcnow
from contacts import operations
from contacts.models import Contact, Person, ScreenPop
from tests.jobs.conftest import wait_until
from tests.servers import Gunicorn
from triage.examples import answers_for

CONTACT = {"person": {"name": "Marie Dubois", "phone": "+32470123456", "language": "fr"},
           "channel": "phone", "direction": "in", "reasons": ["stress"],
           "summary": "Ne dort plus depuis la faillite."}
KEY = {"Idempotency-Key": '"8e03978e-40d5-43e8-bc93-6894a57f9324"'}


def count(model, *where):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def twice(client, path, body, headers=KEY):
    """POST the same request twice; return both answers."""
    first = client.post(path, json=body, headers=headers)
    again = client.post(path, json=body, headers=headers)
    return first, again


def assert_replayed(first, again, status):
    assert first.status_code == status, first.get_json()
    assert again.status_code == status, again.get_json()
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


def test_every_creating_post_answers_a_retry_with_its_first_answer(api_client):
    client, _user = api_client("advisor")

    first, again = twice(client, "/api/v1/contacts", CONTACT)
    assert_replayed(first, again, 201)
    assert (count(Contact), count(Person)) == (1, 1)
    contact_id = first.get_json()["id"]

    triage = {"answers": answers_for("serious"), "language": "fr"}
    first, again = twice(client, f"/api/v1/contacts/{contact_id}/triage", triage,
                         {"Idempotency-Key": "triage-1"})
    assert_replayed(first, again, 201)
    assert (count(TriageRun), count(Case)) == (1, 1)
    case_id = first.get_json()["case"]["id"]

    note = {"body": "Rappelé, rendez-vous pris.", "visibility": "team"}
    first, again = twice(client, f"/api/v1/cases/{case_id}/notes", note,
                         {"Idempotency-Key": "note-1"})
    assert_replayed(first, again, 201)
    assert count(Note) == 1

    call = {"call_id": "pbx-1", "from": "+32470123456", "to": "+3222000000",
            "event": "ringing", "at": "2026-03-10T10:00:00+01:00"}
    first, again = twice(client, "/api/v1/telephony/calls", call, {"Idempotency-Key": "call-1"})
    assert_replayed(first, again, 200)
    assert count(ScreenPop) == 1
    assert [p["id"] for p in first.get_json()["persons"]] == [
        db.session.get(Contact, contact_id).person_id]

    # Without the header nothing changes: each call files its own contact, as before.
    assert client.post("/api/v1/contacts", json=CONTACT).status_code == 201
    assert client.post("/api/v1/contacts", json=CONTACT).status_code == 201
    assert count(Contact) == 3


def test_a_kept_answer_is_encrypted_at_rest(api_client):
    # A note's answer quotes the note: a copy of the database must not.
    client, _user = api_client("psychologist")
    advisor, _ = api_client("advisor")
    contact = advisor.post("/api/v1/contacts", json=CONTACT).get_json()
    case = advisor.post(f"/api/v1/contacts/{contact['id']}/triage", json={
        "language": "fr", "answers": answers_for("serious")}).get_json()["case"]
    note = {"body": "Idées noires depuis la faillite.", "visibility": "team"}
    first, again = twice(client, f"/api/v1/cases/{case['id']}/notes", note)
    assert_replayed(first, again, 201)
    assert first.get_json()["body"] == note["body"]
    with db.engine.connect() as connection:
        stored = connection.execute(text("SELECT body FROM idempotency_keys")).scalar_one()
    assert stored.startswith("enc1:") and "noires" not in stored


def test_the_openapi_document_offers_the_header_where_it_works(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/contacts", "/telephony/calls", "/contacts/{id}/triage", "/cases/{id}/notes"):
        operation = paths[path]["post"]
        header = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert header and header[0]["in"] == "header" and not header[0]["required"]
        assert header[0]["schema"]["maxLength"] == 255
        assert {"400", "409", "422"} <= set(operation["responses"])
    for path in ("/cases/{id}/claim", "/cases/{id}/close", "/triage/evaluate"):
        assert "Idempotency-Key" not in str(paths[path]["post"].get("parameters"))


def test_the_key_names_one_request_and_one_token(api_client):
    client, user = api_client("advisor")
    first = client.post("/api/v1/contacts", json=CONTACT, headers=KEY)
    assert first.status_code == 201

    # The same key for another body, or on another path: 422 naming the header, no effect.
    for path, body in (("/api/v1/contacts", {**CONTACT, "summary": "Autre appel."}),
                       ("/api/v1/telephony/calls", {"call_id": "x", "from": "",
                                                    "event": "ringing"})):
        response = client.post(path, json=body, headers=KEY)
        assert response.status_code == 422, response.get_json()
        assert "Idempotency-Key" in response.get_json()["fields"]
    assert (count(Contact), count(ScreenPop)) == (1, 0)

    # The bare form of the key is the same key as its quoted (sf-string) form.
    bare = {"Idempotency-Key": KEY["Idempotency-Key"].strip('"')}
    assert client.post("/api/v1/contacts", json=CONTACT, headers=bare).get_data() == \
        first.get_data()

    # Another token (another system, or the same person's other token) has its own keys.
    other, _ = api_client("advisor")
    from cellule.models import ApiToken

    row, token = ApiToken.issue(user)
    db.session.add(row)
    db.session.commit()
    mine_again = client.application.test_client()
    mine_again.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    for each in (other, mine_again):
        response = each.post("/api/v1/contacts", json=CONTACT, headers=KEY)
        assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
        assert response.get_json()["id"] != first.get_json()["id"]
    assert count(Contact) == 3


@pytest.mark.parametrize("value", [
    "", '""', "k" * 256, '"' + "k" * 256 + '"', "caf\u00e9", "tab\there", '"open', '"a"b"',
    'a"b', '"back\\slash"',
])
def test_a_malformed_key_is_400_naming_the_header(api_client, value):
    client, _user = api_client("advisor")
    response = client.post("/api/v1/contacts", json=CONTACT,
                           headers={"Idempotency-Key": value})
    assert response.status_code == 400, (value, response.get_json())
    assert "Idempotency-Key" in response.get_json()["fields"]
    assert count(Contact) == 0


def test_limits_of_a_good_key(api_client):
    client, _user = api_client("advisor")
    for value in ("k" * 255, '"with \\"quotes\\" and spaces"', "~!#$%&'()*+-./:;<=>?@[]^_`{|}"):
        first, again = twice(client, "/api/v1/contacts", CONTACT, {"Idempotency-Key": value})
        assert_replayed(first, again, 201)
    assert count(Contact) == 3
    # Sent twice, the header is ambiguous: refused.
    for pair in (("a", "b"), ('"a"', '"b"')):
        response = client.post("/api/v1/contacts", json=CONTACT,
                               headers=[("Idempotency-Key", value) for value in pair])
        assert response.status_code == 400 and "Idempotency-Key" in response.get_json()["fields"]


def test_an_answer_is_kept_24_hours_then_purged_by_the_relay(app, api_client):
    from cellule.jobs import Relay

    client, _user = api_client("advisor")
    first = client.post("/api/v1/contacts", json=CONTACT, headers=KEY)
    assert first.status_code == 201
    with db.engine.begin() as conn:
        conn.execute(update(IdempotencyKey).values(
            created_at=utcnow() - idempotency.KEEP + timedelta(minutes=1)))
    assert client.post("/api/v1/contacts", json=CONTACT, headers=KEY).get_data() == \
        first.get_data()  # 23 h 59 min: still the same answer
    with db.engine.begin() as conn:
        conn.execute(update(IdempotencyKey).values(
            created_at=utcnow() - idempotency.KEEP - timedelta(minutes=1)))
    later = client.post("/api/v1/contacts", json=CONTACT, headers=KEY)
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert later.get_json()["id"] != first.get_json()["id"]  # a new operation
    assert count(Contact) == 2

    # The workers' relay deletes the expired answers (and keeps the others).
    client.post("/api/v1/contacts", json=CONTACT, headers={"Idempotency-Key": "fresh"})
    with db.engine.begin() as conn:
        conn.execute(update(IdempotencyKey).where(IdempotencyKey.key != "fresh").values(
            created_at=utcnow() - timedelta(days=2)))
    Relay(app, "test-relay").tick()
    assert db.session.scalars(select(IdempotencyKey.key)).all() == ["fresh"]


def _in_thread(app, function):
    """Run `function` in a thread (and app context) of its own; return (thread, result
    list, errors)."""
    result, errors = [], []

    def run():
        try:
            with app.app_context():
                result.append(function())
                db.session.remove()
        except Exception:  # surfaced by the caller's assertion
            errors.append(traceback.format_exc())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result, errors


def test_a_second_request_while_the_first_runs_never_files_twice(app, api_client, monkeypatch):
    """PostgreSQL: the draft's 409 with Retry-After, then the retry gets the first answer.
    SQLite (one writer at a time): the second waits for the first and gets its answer."""
    client, _user = api_client("advisor")
    second_client = app.test_client()
    second_client.environ_base.update(client.environ_base)
    inside, release = threading.Event(), threading.Event()
    create = operations.create_contact

    def slow_create(*args, **kwargs):
        contact = create(*args, **kwargs)
        inside.set()
        assert release.wait(30)
        return contact

    monkeypatch.setattr(operations, "create_contact", slow_create)
    first_thread, first, errors = _in_thread(
        app, lambda: client.post("/api/v1/contacts", json=CONTACT, headers=KEY))
    assert inside.wait(30)
    if db.engine.dialect.name == "postgresql":
        busy = second_client.post("/api/v1/contacts", json=CONTACT, headers=KEY)
        assert busy.status_code == 409, busy.get_json()
        assert "Idempotency-Key" in busy.get_json()["fields"]
        assert int(busy.headers["Retry-After"]) >= 1
        release.set()
        first_thread.join(30)
        second = second_client.post("/api/v1/contacts", json=CONTACT, headers=KEY)
    else:
        second_thread, seconds, second_errors = _in_thread(
            app, lambda: second_client.post("/api/v1/contacts", json=CONTACT, headers=KEY))
        release.set()
        first_thread.join(30)
        second_thread.join(30)
        assert not second_errors, second_errors
        second = seconds[0]
    assert not errors, errors
    assert first[0].status_code == 201 and second.status_code == 201
    assert second.get_data() == first[0].get_data()
    assert count(Contact) == 1


def test_concurrent_retries_have_one_effect(app, api_client):
    client, _user = api_client("advisor")
    barrier = threading.Barrier(4)

    def post():
        each = app.test_client()
        each.environ_base.update(client.environ_base)
        barrier.wait(10)
        return each.post("/api/v1/contacts", json=CONTACT, headers=KEY)

    runs = [_in_thread(app, post) for _ in range(4)]
    for thread, _result, _errors in runs:
        thread.join(60)
    assert not [e for _t, _r, errors in runs for e in errors]
    answers = [result[0] for _t, result, _e in runs]
    created = [a for a in answers if a.status_code == 201]
    assert created and all(a.status_code == 409 for a in answers if a not in created)
    assert len({a.get_data() for a in created}) == 1
    assert (count(Contact), count(Person), count(IdempotencyKey)) == (1, 1, 1)


def test_migration_0014_upgrades_and_downgrades(app, api_client):
    from flask_migrate import downgrade, upgrade

    from cellule.models import ApiToken

    def tables():
        return set(inspect(db.engine).get_table_names())

    db.session.remove()
    try:
        downgrade(revision="0013")
        assert "idempotency_keys" not in tables() and "contacts" in tables()
    finally:
        upgrade(revision="heads")
    assert "idempotency_keys" in tables()
    api_client("advisor")
    token_id = db.session.scalar(select(ApiToken.id))
    def answer():
        return IdempotencyKey(token_id=token_id, key="k", fingerprint="f" * 64, status=201,
                              body="{}")

    db.session.add(answer())
    db.session.commit()
    db.session.add(answer())
    with pytest.raises(IntegrityError):  # one answer per token and key
        db.session.commit()
    db.session.rollback()


# --- The real fault ----------------------------------------------------------------


def _raw_post(url, path, token, body, key):
    """Send a POST over a socket and close it at once, without reading the answer."""
    host, port = url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            f"Idempotency-Key: {key}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + payload)
        sock.shutdown(socket.SHUT_WR)
    # Closed: whatever the server answers is lost, as when the client's connection drops.


def test_a_retry_after_a_dropped_response_files_one_contact(app, api_client, tmp_path):
    import urllib.request

    client, _user = api_client("advisor")
    token = client.environ_base["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    with Gunicorn(app, tmp_path, workers=2) as server:
        _raw_post(server.url, "/api/v1/contacts", token, CONTACT, '"retry-me-1"')
        # The server commits anyway, answering a socket nobody reads.
        wait_until(lambda: count(Contact) == 1, timeout=30, message="the first contact")
        request = urllib.request.Request(
            server.url + "/api/v1/contacts", data=json.dumps(CONTACT).encode(), method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                     "Idempotency-Key": '"retry-me-1"'})
        with urllib.request.urlopen(request, timeout=30) as response:
            status, replayed = response.status, response.headers["Idempotent-Replayed"]
            answer = json.loads(response.read())
    assert (status, replayed) == (201, "true")
    contact = db.session.scalars(select(Contact)).one()
    assert answer == {"id": contact.id, "person_id": contact.person_id,
                      "text_red_flags": contact.red_flags}
    assert (count(Contact), count(Person)) == (1, 1)
