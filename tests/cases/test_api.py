"""The API contract (DESIGN §7): shapes, statuses and 422s that name the fields."""

import pytest

from cellule.extensions import db

from .conftest import LEVEL_ANSWERS

EVALUATION_KEYS = {"level", "route", "due_at", "scores", "signals", "text_red_flags",
                   "crisis_resources", "reasons"}
CASE_KEYS = {"id", "reference", "level", "route", "status", "due_at", "queue"}


def test_evaluate_stores_nothing(api_client):
    from cases.models import TriageRun

    client, _user = api_client("advisor")
    response = client.post("/api/v1/triage/evaluate", json={
        "script": "cellule-triage", "version": 1, "language": "fr",
        "answers": LEVEL_ANSWERS["serious"], "evaluated_at": "2026-03-10T10:00:00+01:00"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert EVALUATION_KEYS <= set(body)
    assert (body["level"], body["route"]) == ("serious", "psychologist")
    assert body["due_at"] == "2026-03-11T16:00:00+00:00"
    assert set(body["scores"]) == {"cssrs", "phq2", "gad2", "cbi_personal"}
    assert body["scores"]["cssrs"] == {"category": "low"}
    assert [r["phone"] for r in body["crisis_resources"]] == ["0800 32 123", "112"]
    assert db.session.query(TriageRun).count() == 0


@pytest.mark.parametrize("payload,field", [
    ({"answers": {**LEVEL_ANSWERS["low"], "cssrs_3_method": "no"}}, "answers.cssrs_3_method"),
    ({"answers": {k: v for k, v in LEVEL_ANSWERS["low"].items() if k != "phq_2_down"}},
     "answers.phq_2_down"),
    ({"answers": {**LEVEL_ANSWERS["low"], "phq_1_interest": 4}}, "answers.phq_1_interest"),
    ({"answers": {**LEVEL_ANSWERS["low"], "no_such_item": 1}}, "answers.no_such_item"),
    ({"answers": LEVEL_ANSWERS["low"], "language": "xx"}, "language"),
    ({"answers": LEVEL_ANSWERS["low"], "version": 99}, "version"),
    ({"answers": LEVEL_ANSWERS["low"], "immediate_danger": "yes"}, "immediate_danger"),
    ({"answers": LEVEL_ANSWERS["low"], "evaluated_at": "2026-03-10T10:00:00"}, "evaluated_at"),
    ({"answers": []}, "answers"),
    ({}, "answers"),
])
def test_evaluate_422_names_the_field(api_client, payload, field):
    client, _user = api_client("ambassador")
    response = client.post("/api/v1/triage/evaluate", json=payload)
    assert response.status_code == 422
    body = response.get_json()
    assert field in body["fields"], body
    assert body["error"]


def test_evaluate_refuses_admins_and_non_json(api_client):
    client, _user = api_client("admin")
    assert client.post("/api/v1/triage/evaluate", json={"answers": {}}).status_code == 403
    client, _user = api_client("advisor")
    response = client.post("/api/v1/triage/evaluate", data="nope")
    assert response.status_code == 400


@pytest.mark.parametrize("level,has_case", [
    ("imminent", True), ("high", True), ("serious", True), ("elevated", True),
    ("at_risk", True), ("low", False),
])
def test_contact_triage_contract(api_client, make_contact, make_user, level, has_case):
    make_user("supervisor")
    client, user = api_client("advisor")
    contact = make_contact(user)
    response = client.post(f"/api/v1/contacts/{contact.id}/triage",
                           json={"answers": LEVEL_ANSWERS[level], "immediate_danger": False,
                                 "language": "fr"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert EVALUATION_KEYS | {"triage_id", "case"} <= set(body)
    assert body["level"] == level
    if has_case:
        assert set(body["case"]) == CASE_KEYS
        assert body["case"]["level"] == level and body["case"]["status"] == "open"
        assert body["case"]["reference"].startswith("CEL-")
    else:
        assert body["case"] is None


def test_contact_triage_422_and_404(api_client, make_contact, make_user):
    client, user = api_client("ambassador")
    other = make_contact(make_user("advisor"))
    response = client.post(f"/api/v1/contacts/{other.id}/triage",
                           json={"answers": LEVEL_ANSWERS["low"]})
    assert response.status_code == 404  # not theirs: existence does not leak
    mine = make_contact(user)
    response = client.post(f"/api/v1/contacts/{mine.id}/triage",
                           json={"answers": {"cssrs_1_wish_dead": "maybe"}})
    assert response.status_code == 422
    assert "answers.cssrs_1_wish_dead" in response.get_json()["fields"]


def test_case_get_list_claim_note_close(api_client, triage, make_user):
    psy_client, psy = api_client("psychologist")
    _run, case = triage("serious")
    response = psy_client.get("/api/v1/cases?route=psychologist&status=open")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"items", "next_cursor"}
    assert [c["id"] for c in body["items"]] == [case.id]
    response = psy_client.post(f"/api/v1/cases/{case.id}/claim")
    assert response.status_code == 200 and response.get_json()["assignee_id"] == psy.id
    assert psy_client.post(f"/api/v1/cases/{case.id}/claim").status_code == 409
    response = psy_client.post(f"/api/v1/cases/{case.id}/notes",
                               json={"body": "Premier entretien.", "visibility": "clinical"})
    assert response.status_code == 201
    assert response.get_json()["body"] == "Premier entretien."
    response = psy_client.get(f"/api/v1/cases/{case.id}")
    detail = response.get_json()
    assert {"timeline", "tasks", "notes"} <= set(detail)
    assert [e["kind"] for e in detail["timeline"]][:2] == ["opened", "routed"]
    version = detail["version"]
    response = psy_client.post(f"/api/v1/cases/{case.id}/close",
                               json={"outcome": "resolved", "version": version})
    assert response.status_code == 200 and response.get_json()["status"] == "closed"


@pytest.mark.parametrize("payload,fields", [
    ({}, {"outcome", "version"}),
    ({"outcome": "gone", "version": 1}, {"outcome"}),
    ({"outcome": "resolved", "version": "1"}, {"version"}),
])
def test_close_422_names_fields(api_client, triage, payload, fields):
    client, _user = api_client("supervisor")
    _run, case = triage("serious")
    response = client.post(f"/api/v1/cases/{case.id}/close", json=payload)
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == fields


@pytest.mark.parametrize("query,field", [
    ("status=zzz", "status"), ("level=huge", "level"), ("route=x", "route"),
    ("overdue=maybe", "overdue"), ("assignee=bob", "assignee"), ("cursor=%%%", "cursor"),
])
def test_list_422_names_fields(api_client, query, field):
    client, _user = api_client("supervisor")
    response = client.get("/api/v1/cases?" + query)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


def test_notes_422(api_client, triage):
    client, _user = api_client("psychologist")
    _run, case = triage("serious")
    response = client.post(f"/api/v1/cases/{case.id}/notes", json={"visibility": "secret"})
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"body", "visibility"}
    response = client.post(f"/api/v1/cases/{case.id}/notes", json={"body": "   "})
    assert response.status_code == 422 and "body" in response.get_json()["fields"]


def test_tasks_list_and_done(api_client, make_user, triage):
    from cases import operations as ops

    client, user = api_client("advisor")
    _run, case = triage("at_risk", user=user)
    task = ops.create_task(title="Rappeler", kind="callback", actor=user, assignee=user,
                           case=case, due_at=ops.utcnow())
    db.session.commit()
    response = client.get("/api/v1/tasks?assignee=me&overdue=true")
    assert response.status_code == 200
    assert [t["id"] for t in response.get_json()["items"]] == [task.id]
    assert client.get("/api/v1/tasks?overdue=perhaps").status_code == 422
    response = client.post(f"/api/v1/tasks/{task.id}/done")
    assert response.status_code == 200 and response.get_json()["status"] == "done"
    assert client.post(f"/api/v1/tasks/{task.id}/done").status_code == 409


def test_openapi_documents_every_path(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/triage/evaluate", "/contacts/{id}/triage", "/cases", "/cases/{id}",
                 "/cases/{id}/claim", "/cases/{id}/notes", "/cases/{id}/close", "/tasks",
                 "/tasks/{id}/done"):
        assert path in paths, path
