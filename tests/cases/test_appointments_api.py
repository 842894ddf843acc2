"""`/api/v1/slots` and `/api/v1/appointments` (issue 20's contract): publishing, listing free
slots, booking (201 with the contract's fields), a slot booked already and a concurrent
double booking (one 201, one 409: the database's unique index), Idempotency-Key, who may
call, and the OpenAPI document."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cellule.extensions import db
from cellule.types import utcnow
from tests.servers import released_together

KEY = {"Idempotency-Key": '"4f0c2d1e-appointments-0001"'}


def _start(days=3, hour=9):
    moment = (utcnow() + timedelta(days=days)).replace(hour=hour, minute=0, second=0,
                                                       microsecond=0)
    return moment.isoformat()


@pytest.fixture
def psychologist_api(api_client):
    return api_client("psychologist")


@pytest.fixture
def person_case(triage, make_person):
    person = make_person(name="Jan Peeters", email="jan@example.be", language="nl")
    return triage("high", person=person)[1]


def _publish(client, **change):
    body = {"starts_at": _start(), "minutes": 50, "mode": "video", "languages": ["nl", "fr"]}
    body.update(change)
    return client.post("/api/v1/slots", json=body)


def test_publish_list_and_book(psychologist_api, api_client, person_case):
    client, psychologist = psychologist_api
    answer = _publish(client)
    assert answer.status_code == 201, answer.get_json()
    slot = answer.get_json()
    assert slot["psychologist_id"] == psychologist.id and slot["free"] is True
    advisor, _user = api_client("advisor")
    listed = advisor.get(f"/api/v1/slots?psychologist_id={psychologist.id}&free=true")
    assert [s["id"] for s in listed.get_json()["items"]] == [slot["id"]]
    booked = advisor.post("/api/v1/appointments",
                          json={"case_id": person_case.id, "slot_id": slot["id"]})
    assert booked.status_code == 201, booked.get_json()
    body = booked.get_json()
    assert {"id", "starts_at", "psychologist_id", "mode"} <= set(body)
    assert body["psychologist_id"] == psychologist.id and body["mode"] == "video"
    again = advisor.post("/api/v1/appointments",
                         json={"case_id": person_case.id, "slot_id": slot["id"]})
    assert again.status_code == 409 and again.get_json()["fields"] == {
        "slot_id": "the slot is booked already"}
    assert advisor.get("/api/v1/slots?free=true").get_json()["items"] == []
    assert len(advisor.get("/api/v1/slots?free=false").get_json()["items"]) == 1


@pytest.mark.parametrize("change, field", [
    ({"minutes": 10}, "minutes"), ({"minutes": 200}, "minutes"), ({"mode": "fax"}, "mode"),
    ({"languages": ["xx"]}, "languages.0"), ({"starts_at": "9999-12-31T10:00:00+00:00"},
                                             "starts_at"),
    ({"starts_at": "2020-01-01T10:00:00+00:00"}, "starts_at"),
    ({"starts_at": "2027-01-01T10:00:00"}, "starts_at"),
])
def test_a_bad_slot_is_422_naming_the_field(psychologist_api, change, field):
    client, _user = psychologist_api
    answer = _publish(client, **change)
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] and field in body["fields"], body


def test_who_may_call(api_client, psychologist_api, person_case):
    client, _user = psychologist_api
    slot = _publish(client).get_json()
    for role in ("advisor", "supervisor", "ambassador", "admin"):
        other, _u = api_client(role)
        assert _publish(other, starts_at=_start(days=5)).status_code == 403, role
    for role, status in (("ambassador", 403), ("admin", 403)):
        other, _u = api_client(role)
        assert other.post("/api/v1/appointments", json={
            "case_id": person_case.id, "slot_id": slot["id"]}).status_code == status, role
        assert other.get("/api/v1/slots").status_code == 403


def test_idempotency_key_replays_the_booking(psychologist_api, api_client, person_case):
    from cases.appointments.models import Appointment

    client, _user = psychologist_api
    slot = _publish(client).get_json()
    advisor, _u = api_client("advisor")
    body = {"case_id": person_case.id, "slot_id": slot["id"]}
    first = advisor.post("/api/v1/appointments", json=body, headers=KEY)
    second = advisor.post("/api/v1/appointments", json=body, headers=KEY)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.get_json() == second.get_json()
    assert db.session.scalar(select(func.count(Appointment.id))) == 1
    other = advisor.post("/api/v1/appointments", json={**body, "slot_id": slot["id"] + 1},
                         headers=KEY)
    assert other.status_code == 422


def test_a_concurrent_double_booking_is_one_201_and_one_409(app, psychologist_api, api_client,
                                                           person_case):
    from cases.appointments.models import Appointment

    client, _user = psychologist_api
    advisors = [api_client("advisor")[0], api_client("advisor")[0]]
    for attempt in range(3):  # the race is real: repeat it on fresh slots
        slot = _publish(client, starts_at=_start(days=3 + attempt)).get_json()
        body = {"case_id": person_case.id, "slot_id": slot["id"]}

        def book(advisor, body=body):
            def go():  # its own app context, hence its own connection
                with app.app_context():
                    try:
                        return advisor.post("/api/v1/appointments", json=body).status_code
                    finally:
                        db.session.remove()
            return go

        results = released_together([book(a) for a in advisors], timeout=10)
        assert sorted(results) == [201, 409], results
        db.session.expire_all()
        assert db.session.scalar(select(func.count(Appointment.id)).where(
            Appointment.slot_id == slot["id"])) == 1


def test_openapi_documents_the_contract(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    book = spec["paths"]["/appointments"]["post"]
    assert {"201", "409", "422"} <= set(book["responses"])
    assert any(p.get("name") == "Idempotency-Key" for p in book.get("parameters", []))
    assert "201" in spec["paths"]["/slots"]["post"]["responses"]
    names = {p["name"] for p in spec["paths"]["/slots"]["get"]["parameters"]}
    assert {"psychologist_id", "from", "to", "free"} <= names
