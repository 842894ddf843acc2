"""The JSON API of people, contacts and the telephony screen-pop (DESIGN §7 contract)."""

from datetime import timedelta

import pytest

from cellule.extensions import db
from cellule.models import AuditEvent
from cellule.types import utcnow
from contacts import telephony
from contacts.models import Contact, Person, ScreenPop

# --- GET /persons ----------------------------------------------------------


@pytest.fixture
def known(app, make_user, make_person):
    advisor = make_user("advisor")
    return {
        "benedicte": make_person(advisor, name="Bénédicte Lambert", phone="0475 12 34 56",
                                 email="benedicte@example.be", affiliate_number="BE-104233"),
        "pieter": make_person(advisor, name="Pieter VAN DEN BOSSCHE", phone="+32486224107"),
    }


PERSON_KEYS = {"id", "name", "phone", "email", "affiliate_number", "language", "starter",
               "sector", "merged_into_id", "created_at"}


@pytest.mark.parametrize(
    "query, expected",
    [
        ("q=benedicte", "benedicte"),
        ("q=BOSSCHE", "pieter"),
        ("phone=0475/12.34.56", "benedicte"),
        ("phone=%2B32%20475%2012%2034%2056", "benedicte"),
        ("phone=0032475123456", "benedicte"),
        ("email=Benedicte@Example.be", "benedicte"),
        ("affiliate_number=be104233", "benedicte"),
        ("q=lambert&phone=0475123456", "benedicte"),
    ],
)
def test_persons_lookup(api_client, known, query, expected):
    client, user = api_client("advisor")
    response = client.get("/api/v1/persons?" + query)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"items"}
    assert [p["id"] for p in body["items"]] == [known[expected].id]
    assert set(body["items"][0]) == PERSON_KEYS
    assert body["items"][0]["phone"].startswith("+32")


def test_persons_lookup_filters_combine(api_client, known):
    client, _ = api_client("advisor")
    body = client.get("/api/v1/persons?q=bossche&phone=0475123456").get_json()
    assert body == {"items": []}


def test_persons_lookup_is_audited(api_client, known):
    client, user = api_client("advisor")
    client.get("/api/v1/persons?q=benedicte")
    listed = db.session.scalars(
        db.select(AuditEvent.object_id).where(AuditEvent.action == "list",
                                              AuditEvent.user_id == user.id)
    ).all()
    assert listed == [str(known["benedicte"].id)]


@pytest.mark.parametrize(
    "query, field",
    [
        ("", "q"),
        ("q=" + "x" * 201, "q"),
        ("email=nope", "email"),
        ("q=x&limit=0", "limit"),
        ("q=x&limit=abc", "limit"),
        ("q=x&limit=²", "limit"),
    ],
)
def test_persons_lookup_bad_input(api_client, query, field):
    client, _ = api_client("advisor")
    response = client.get("/api/v1/persons?" + query)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] and field in body["fields"]


def test_ambassador_lookup_sees_own_people_only(api_client, known, make_person):
    client, ambassador = api_client("ambassador")
    mine = make_person(ambassador, name="Bénédicte Mine")
    body = client.get("/api/v1/persons?q=benedicte").get_json()
    assert [p["id"] for p in body["items"]] == [mine.id]


def test_admin_cannot_look_up_people(api_client, known):
    client, _ = api_client("admin")
    response = client.get("/api/v1/persons?q=benedicte")
    assert response.status_code == 403
    assert response.get_json()["error"]


def test_persons_lookup_needs_a_token(client):
    assert client.get("/api/v1/persons?q=x").status_code == 401


# --- POST /contacts --------------------------------------------------------


def test_create_contact_for_a_known_person(api_client, known, counts):
    client, user = api_client("advisor")
    person = known["benedicte"]
    response = client.post("/api/v1/contacts", json={
        "person_id": person.id, "channel": "phone", "direction": "in",
        "occurred_at": "2026-01-15T10:30:00+01:00", "duration_minutes": 12,
        "reasons": ["stress", "finances"], "summary": "Calme, rappel dans une semaine.",
    })
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "person_id", "text_red_flags"}
    assert body["person_id"] == person.id and body["text_red_flags"] == []
    contact = db.session.get(Contact, body["id"])
    assert contact.occurred_at.isoformat() == "2026-01-15T09:30:00+00:00"
    assert contact.reasons == ["stress", "finances"]
    assert contact.handled_by_id == user.id and contact.created_by_id == user.id
    assert counts() == (2, 1)


def test_create_contact_reports_red_flags(api_client, known):
    client, _ = api_client("advisor")
    response = client.post("/api/v1/contacts", json={
        "person_id": known["pieter"].id, "channel": "phone",
        "summary": "Hij zegt: ik wil er een einde aan maken.",
    })
    body = response.get_json()
    assert response.status_code == 201
    assert body["text_red_flags"] == [
        {"phrase": "er een einde aan maken", "language": "nl",
         "matched": "er een einde aan maken"}
    ]
    assert db.session.get(Contact, body["id"]).red_flagged


def test_create_contact_with_an_inline_person_finds_the_known_one(api_client, known, counts):
    client, _ = api_client("advisor")
    response = client.post("/api/v1/contacts", json={
        "person": {"name": "B. Lambert", "phone": "0475/12.34.56", "language": "fr"},
        "channel": "phone",
    })
    assert response.status_code == 201
    assert response.get_json()["person_id"] == known["benedicte"].id
    assert counts() == (2, 1)


def test_create_contact_with_an_inline_new_person(api_client, known, counts):
    client, user = api_client("advisor")
    response = client.post("/api/v1/contacts", json={
        "person": {"name": "Sofie Claes", "phone": "0496 55 44 33", "email": "sofie@example.be",
                   "language": "nl"},
        "channel": "web", "reasons": ["family"],
    })
    assert response.status_code == 201
    person = db.session.get(Person, response.get_json()["person_id"])
    assert (person.name, person.phone, person.language, person.created_by_id) == (
        "Sofie Claes", "+32496554433", "nl", user.id)
    assert counts() == (3, 1)


def test_anonymous_contact(api_client):
    client, _ = api_client("advisor")
    response = client.post("/api/v1/contacts", json={"channel": "walk_in"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["person_id"] is None
    contact = db.session.get(Contact, body["id"])
    assert contact.direction == "in" and contact.reasons == [] and contact.summary == ""


def test_contact_on_a_merged_person_goes_to_the_survivor(api_client, known):
    from contacts import operations

    client, user = api_client("advisor")
    operations.merge_persons(known["pieter"], known["benedicte"], user)
    db.session.commit()
    response = client.post("/api/v1/contacts",
                           json={"person_id": known["pieter"].id, "channel": "phone"})
    assert response.get_json()["person_id"] == known["benedicte"].id


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "channel"),
        ({"channel": "pigeon"}, "channel"),
        ({"channel": "phone", "direction": "sideways"}, "direction"),
        ({"channel": "phone", "occurred_at": "yesterday"}, "occurred_at"),
        ({"channel": "phone", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"channel": "phone", "occurred_at": 12}, "occurred_at"),
        ({"channel": "phone", "duration_minutes": -1}, "duration_minutes"),
        ({"channel": "phone", "duration_minutes": "ten"}, "duration_minutes"),
        ({"channel": "phone", "duration_minutes": True}, "duration_minutes"),
        ({"channel": "phone", "duration_minutes": 5000}, "duration_minutes"),
        ({"channel": "phone", "reasons": "stress"}, "reasons"),
        ({"channel": "phone", "reasons": ["stress", "boredom"]}, "reasons"),
        ({"channel": "phone", "summary": 42}, "summary"),
        ({"channel": "phone", "summary": "x" * 20001}, "summary"),
        ({"channel": "phone", "person_id": "1"}, "person_id"),
        ({"channel": "phone", "person_id": 999999}, "person_id"),
        ({"channel": "phone", "person_id": 2**70}, "person_id"),
        ({"channel": "phone", "person_id": 1, "person": {"name": "X"}}, "person"),
        ({"channel": "phone", "person": "Jan"}, "person"),
        ({"channel": "phone", "person": {}}, "person.name"),
        ({"channel": "phone", "person": {"name": "x" * 201}}, "person.name"),
        ({"channel": "phone", "person": {"name": "Jan", "email": "nope"}}, "person.email"),
        ({"channel": "phone", "person": {"name": "Jan", "language": "xx"}}, "person.language"),
        ({"channel": "phone", "person": {"name": "Jan", "phone": 470}}, "person.phone"),
        ({"channel": "phone", "person": {"name": "Jan", "starter": "yes"}}, "person.starter"),
    ],
)
def test_create_contact_bad_input(api_client, known, counts, body, field):
    client, _ = api_client("advisor")
    before = counts()
    response = client.post("/api/v1/contacts", json=body)
    assert response.status_code == 422, response.get_json()
    payload = response.get_json()
    assert payload["error"] and field in payload["fields"]
    assert counts() == before


@pytest.mark.parametrize("raw", ["[1, 2]", "not json", '"text"', ""])
def test_create_contact_needs_a_json_object(api_client, counts, raw):
    client, _ = api_client("advisor")
    response = client.post("/api/v1/contacts", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert counts() == (0, 0)


def test_ambiguous_inline_person_is_a_409(api_client, make_person, counts):
    client, user = api_client("advisor")
    make_person(user, name="Twin A", phone="0475 12 34 56")
    make_person(user, name="Twin B", phone="0475 12 34 56")
    response = client.post("/api/v1/contacts", json={
        "person": {"name": "Twin", "phone": "0475123456"}, "channel": "phone"})
    assert response.status_code == 409
    assert "person" in response.get_json()["fields"]
    assert counts() == (2, 0)


def test_ambassador_cannot_use_someone_elses_person(api_client, known, counts):
    client, _ = api_client("ambassador")
    response = client.post("/api/v1/contacts",
                           json={"person_id": known["benedicte"].id, "channel": "phone"})
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"person_id": "no such person"}
    assert counts() == (2, 0)


def test_ambassador_inline_person_never_attaches_to_someone_elses(api_client, known, counts):
    client, ambassador = api_client("ambassador")
    response = client.post("/api/v1/contacts", json={
        "person": {"name": "Bénédicte", "phone": "0475 12 34 56"},
        "channel": "internal_referral"})
    assert response.status_code == 201
    person = db.session.get(Person, response.get_json()["person_id"])
    assert person.id != known["benedicte"].id and person.created_by_id == ambassador.id


def test_taken_affiliate_number_the_user_cannot_see_files_a_new_person(api_client, known,
                                                                        counts):
    # Issue 14: no 409 that would tell the number is known (tests/contacts/
    # test_possible_duplicates.py checks the answer is the one of an unused number).
    client, _ = api_client("ambassador")
    response = client.post("/api/v1/contacts", json={
        "person": {"name": "Someone", "affiliate_number": "BE-104233"}, "channel": "phone"})
    assert response.status_code == 201
    assert response.get_json()["person_id"] != known["benedicte"].id
    assert counts() == (3, 1)


def test_admin_cannot_create_contacts(api_client, counts):
    client, _ = api_client("admin")
    response = client.post("/api/v1/contacts", json={"channel": "phone"})
    assert response.status_code == 403
    assert counts() == (0, 0)


# --- GET /contacts ---------------------------------------------------------


@pytest.fixture
def history(app, make_user, make_person, make_contact):
    advisor = make_user("advisor")
    person = make_person(advisor, name="Koen Wouters")
    other = make_person(advisor, name="Other")
    now = utcnow()
    contacts = []
    for i in range(7):
        contacts.append(make_contact(
            advisor, person if i % 2 == 0 else other,
            channel="email" if i == 3 else "phone",
            summary="je veux en finir" if i in (1, 5) else "ok",
            occurred_at=now - timedelta(hours=10 - i)))
    # Two contacts at the very same instant: the cursor must not lose one.
    same = now - timedelta(minutes=5)
    contacts.append(make_contact(advisor, person, occurred_at=same))
    contacts.append(make_contact(advisor, person, occurred_at=same))
    return advisor, person, contacts


CONTACT_KEYS = {"id", "person_id", "channel", "direction", "occurred_at", "duration_minutes",
                "reasons", "summary", "red_flagged", "text_red_flags", "handled_by_id",
                "handled_at", "created_by_id", "created_at", "call_id"}


def test_list_contacts_pages_with_a_keyset_cursor(api_client, history):
    _, _, contacts = history
    client, _ = api_client("advisor")
    seen, cursor = [], None
    while True:
        url = "/api/v1/contacts?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url).get_json()
        assert set(body) == {"items", "next_cursor"}
        seen.extend(c["id"] for c in body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    expected = sorted(contacts, key=lambda c: (c.occurred_at, c.id), reverse=True)
    assert seen == [c.id for c in expected]


def test_list_contacts_filters(api_client, history):
    _, person, contacts = history
    client, _ = api_client("advisor")
    body = client.get(f"/api/v1/contacts?person_id={person.id}").get_json()
    assert {c["person_id"] for c in body["items"]} == {person.id}
    assert body["next_cursor"] is None
    body = client.get("/api/v1/contacts?channel=email").get_json()
    assert [c["id"] for c in body["items"]] == [contacts[3].id]
    assert set(body["items"][0]) >= CONTACT_KEYS | {"email"}
    body = client.get("/api/v1/contacts?flagged=true").get_json()
    assert [c["id"] for c in body["items"]] == [contacts[5].id, contacts[1].id]
    assert body["items"][0]["text_red_flags"][0]["phrase"] == "en finir"
    body = client.get("/api/v1/contacts?flagged=false").get_json()
    assert len(body["items"]) == 7


@pytest.mark.parametrize(
    "query, field",
    [("channel=pigeon", "channel"), ("flagged=yes", "flagged"), ("cursor=abc", "cursor"),
     ("cursor=WzEsMl0", "cursor"), ("person_id=x", "person_id"), ("limit=1000", "limit")],
)
def test_list_contacts_bad_input(api_client, history, query, field):
    client, _ = api_client("advisor")
    response = client.get("/api/v1/contacts?" + query)
    assert response.status_code == 400
    assert field in response.get_json()["fields"]


def test_ambassador_lists_only_own_contacts(api_client, history, make_contact):
    client, ambassador = api_client("ambassador")
    mine = make_contact(ambassador, None, channel="internal_referral")
    body = client.get("/api/v1/contacts").get_json()
    assert [c["id"] for c in body["items"]] == [mine.id]


def test_get_one_contact(api_client, history):
    _, _, contacts = history
    client, user = api_client("psychologist")
    response = client.get(f"/api/v1/contacts/{contacts[3].id}")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) >= CONTACT_KEYS and body["email"]["body"] is None
    assert db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "read", AuditEvent.object_type == "contact",
        AuditEvent.user_id == user.id)).object_id == str(contacts[3].id)


def test_get_contact_refusals(api_client, history):
    _, _, contacts = history
    client, ambassador = api_client("ambassador")
    response = client.get(f"/api/v1/contacts/{contacts[0].id}")
    assert response.status_code == 404 and response.get_json() == {"error": "not found"}
    assert db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "denied", AuditEvent.user_id == ambassador.id)) is not None
    assert client.get("/api/v1/contacts/999999").status_code == 404
    admin, _ = api_client("admin")
    assert admin.get(f"/api/v1/contacts/{contacts[0].id}").status_code == 403


# --- POST /telephony/calls -------------------------------------------------


def test_screen_pop_for_a_known_caller(api_client, known, client, login_as):
    api, _ = api_client("advisor")
    response = api.post("/api/v1/telephony/calls", json={
        "call_id": "c-1", "from": "+32475123456", "to": "+3225112233", "event": "ringing",
        "at": "2026-01-15T10:30:00+01:00"})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"persons", "open_cases", "screen_pop_url"}
    assert [p["id"] for p in body["persons"]] == [known["benedicte"].id]
    assert body["open_cases"] == []
    url = body["screen_pop_url"]
    # No personal data in the URL: an opaque token only.
    assert "32475123456" not in url and "Lambert" not in url and "pop=" in url
    pop = db.session.scalar(db.select(ScreenPop))
    assert pop.phone == "+32475123456" and pop.call_id == "c-1"
    assert url.split("pop=")[1] not in pop.digest

    login_as("advisor")
    page = client.get(url.replace("http://localhost", ""))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f'name="person_id" type="hidden" value="{known["benedicte"].id}"' in text
    assert "Bénédicte Lambert" in text
    assert 'name="pop" type="hidden" value="' in text


def test_screen_pop_for_an_unknown_caller_prefills_the_number(api_client, known, client,
                                                             login_as):
    api, _ = api_client("advisor")
    body = api.post("/api/v1/telephony/calls", json={
        "call_id": "c-2", "from": "0499 88 77 66", "event": "answered"}).get_json()
    assert body["persons"] == []
    login_as("advisor")
    text = client.get(body["screen_pop_url"].replace("http://localhost", "")).get_data(
        as_text=True)
    assert 'value="+32499887766"' in text


def test_screen_pop_for_a_withheld_number(api_client):
    api, _ = api_client("advisor")
    response = api.post("/api/v1/telephony/calls",
                        json={"call_id": "c-3", "from": "", "event": "ringing"})
    assert response.status_code == 200
    assert response.get_json()["persons"] == []


def test_open_cases_come_from_the_registered_providers(api_client, known, monkeypatch):
    monkeypatch.setattr(telephony, "_OPEN_CASE_PROVIDERS", [])
    telephony.register_open_cases(
        lambda persons, user: [{"id": 7, "person_id": p.id} for p in persons])
    api, _ = api_client("advisor")
    body = api.post("/api/v1/telephony/calls", json={
        "call_id": "c-4", "from": "0475123456", "event": "ringing"}).get_json()
    assert body["open_cases"] == [{"id": 7, "person_id": known["benedicte"].id}]


def test_expired_screen_pop_is_refused(api_client, known, client, login_as):
    api, _ = api_client("advisor")
    url = api.post("/api/v1/telephony/calls", json={
        "call_id": "c-5", "from": "0475123456", "event": "ringing"}).get_json()["screen_pop_url"]
    pop = db.session.scalar(db.select(ScreenPop))
    pop.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    login_as("advisor")
    text = client.get(url.replace("http://localhost", "")).get_data(as_text=True)
    assert "Bénédicte Lambert" not in text
    assert 'name="pop" type="hidden" value=""' in text


@pytest.mark.parametrize(
    "body, field",
    [
        ({"from": "0475", "event": "ringing"}, "call_id"),
        ({"call_id": "", "from": "0475", "event": "ringing"}, "call_id"),
        ({"call_id": "x" * 101, "from": "0475", "event": "ringing"}, "call_id"),
        ({"call_id": 5, "from": "0475", "event": "ringing"}, "call_id"),
        ({"call_id": "c", "event": "ringing"}, "from"),
        ({"call_id": "c", "from": 475, "event": "ringing"}, "from"),
        ({"call_id": "c", "from": "0" * 41, "event": "ringing"}, "from"),
        ({"call_id": "c", "from": "0475", "event": "hung"}, "event"),
        ({"call_id": "c", "from": "0475"}, "event"),
        ({"call_id": "c", "from": "0475", "event": "ringing", "at": "soon"}, "at"),
        ({"call_id": "c", "from": "0475", "event": "ringing", "to": ["x"]}, "to"),
    ],
)
def test_screen_pop_bad_input(api_client, body, field):
    api, _ = api_client("advisor")
    response = api.post("/api/v1/telephony/calls", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]
    assert db.session.scalar(db.select(db.func.count(ScreenPop.id))) == 0


def test_admin_gets_no_screen_pop(api_client):
    api, _ = api_client("admin")
    response = api.post("/api/v1/telephony/calls",
                        json={"call_id": "c", "from": "0475", "event": "ringing"})
    assert response.status_code == 403


# --- OpenAPI ---------------------------------------------------------------


def test_openapi_documents_every_contacts_endpoint(client, app):
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    ours = [("/persons", "get"), ("/contacts", "post"), ("/contacts", "get"),
            ("/contacts/{contact_id}", "get"), ("/telephony/calls", "post")]
    rules = {(r.rule, m.lower()) for r in app.url_map.iter_rules() for m in r.methods}
    for path, method in ours:
        assert (path, method) in documented
        flask_path = "/api/v1" + path.replace("{contact_id}", "<int:contact_id>")
        assert (flask_path, method) in rules
        assert "401" in spec["paths"][path][method]["responses"]
    schemas = spec["components"]["schemas"]
    assert {"Person", "Contact", "RedFlag"} <= set(schemas)


@pytest.mark.parametrize("person_id", [2**31, 708_220_418_479_500, 2**63])
def test_a_person_id_beyond_any_table_is_no_such_person(api_client, counts, person_id):
    # Ids are 32-bit: PostgreSQL refused the lookup of a larger one with a 500 (found by
    # the API fuzzing on PostgreSQL).
    client, _ = api_client("advisor")
    response = client.post("/api/v1/contacts", json={"person_id": person_id, "channel": "phone"})
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"person_id": "no such person"}
    assert counts() == (0, 0)  # no person, no contact
