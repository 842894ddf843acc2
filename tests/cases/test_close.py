"""Closing a case (DESIGN §9): one confirmed step that resolves every open task, a safety
outcome for imminent/high cases, and no red banner for a case that is closed."""

import json

import pytest
from sqlalchemy import select

from cases.models import Case, CaseEvent, Task
from cellule.extensions import db
from cellule.models import AuditEvent


@pytest.fixture
def imminent_case(make_user, triage):
    """An imminent case from a real triage: two on-duty supervisors alerted, plus a
    callback task the psychologist who claimed it gave themselves."""
    from cases import operations as ops

    supervisors = [make_user("supervisor", on_duty=True) for _ in range(2)]
    _run, case = triage("imminent")
    psychologist = make_user("psychologist")
    assert ops.claim_case(case.id, psychologist)
    case = db.session.get(Case, case.id)
    callback = ops.create_task(title="Rappeler demain matin", kind="callback",
                               actor=psychologist, assignee=psychologist, case=case)
    db.session.commit()
    return {"case": case, "supervisors": supervisors, "psychologist": psychologist,
            "callback": callback}


def _open_tasks(case_id):
    return db.session.scalars(select(Task).where(Task.case_id == case_id,
                                                 Task.status == "open",
                                                 Task.kind != "follow_up")).all()


def _case(case_id):
    db.session.expire_all()
    return db.session.get(Case, case_id)


def test_closing_step_lists_the_open_tasks_and_resolves_them_all(client, imminent_case):
    case, psychologist = imminent_case["case"], imminent_case["psychologist"]
    callback = imminent_case["callback"]
    tasks = _open_tasks(case.id)
    alerts = [t for t in tasks if t.code == "imminent_alert"]
    assert len(alerts) == 2 and len(tasks) >= 3
    client.sign_in(psychologist)

    page = client.get(f"/cases/{case.id}/close")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for task in tasks:  # each open task, with its choice
        assert f'name="task_{task.id}"' in html
    assert "Rappeler demain matin" in html
    assert "Imminent danger: crisis protocol running" in html
    assert 'name="safety_outcome"' in html  # imminent: the safety outcome is asked

    form = {"outcome": "resolved", "version": str(case.version),
            "safety_outcome": "crisis_line", f"task_{callback.id}": "done",
            "no_safety_plan_reason": "Refusé par la personne"}
    form.update({f"task_{t.id}": "cancelled" for t in tasks if t.id != callback.id})
    response = client.post_form(f"/cases/{case.id}/close", form)
    assert response.status_code == 302
    case = _case(case.id)
    assert case.status == "closed" and case.safety_outcome == "crisis_line"
    assert _open_tasks(case.id) == [t for t in _open_tasks(case.id) if t.kind == "survey"]
    statuses = {t.id: t.status for t in db.session.scalars(
        select(Task).where(Task.id.in_([t.id for t in tasks])))}
    assert statuses[callback.id] == "done"
    assert {statuses[a.id] for a in alerts} == {"cancelled"}
    kinds = db.session.scalars(select(CaseEvent.kind).where(
        CaseEvent.case_id == case.id)).all()
    assert kinds.count("task_cancelled") == len(tasks) - 1 and "task_done" in kinds
    assert kinds.index("closed") > kinds.index("task_done")
    closed = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                       CaseEvent.kind == "closed"))
    assert closed.detail["safety_outcome"] == "crisis_line"
    audited = db.session.scalars(select(AuditEvent.object_id).where(
        AuditEvent.object_type == "task", AuditEvent.action == "update")).all()
    assert {str(t.id) for t in tasks} <= set(audited)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Handed to a crisis line" in page
    assert "without a safety plan: Refusé par la personne" in page  # the timeline says why
    assert 'id="case-no-plan-reason"' in page


def test_a_task_the_step_did_not_show_keeps_the_case_open(client, imminent_case):
    """The closer confirms what they saw: a task added since is shown, nothing is closed."""
    case, psychologist = imminent_case["case"], imminent_case["psychologist"]
    client.sign_in(psychologist)
    response = client.post_form(f"/cases/{case.id}/close", {
        "outcome": "resolved", "version": str(case.version), "safety_outcome": "safety_plan",
        "no_safety_plan_reason": "Plan écrit sur papier"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "say what becomes of them too" in html
    assert f'name="task_{imminent_case["callback"].id}"' in html
    assert _case(case.id).is_open and len(_open_tasks(case.id)) == 3


@pytest.mark.parametrize("extra,message", [
    ({}, "closes only with a safety outcome"),
    ({"safety_outcome": "other"}, "Say in the note what was done"),
    ({"safety_outcome": "later"}, "closes only with a safety outcome"),
    ({"safety_outcome": "crisis_line", "no_safety_plan_reason": "  "},
     "say why in “No safety plan because…”"),
])
def test_an_imminent_case_closes_only_with_a_safety_outcome(client, imminent_case, extra,
                                                            message):
    case, psychologist = imminent_case["case"], imminent_case["psychologist"]
    client.sign_in(psychologist)
    form = {"outcome": "resolved", "version": str(case.version), **extra}
    form.update({f"task_{t.id}": "cancelled" for t in _open_tasks(case.id)})
    response = client.post_form(f"/cases/{case.id}/close", form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'id="close-errors"' in html
    assert 'name="safety_outcome"' in html  # the step again, to answer
    assert _case(case.id).is_open and len(_open_tasks(case.id)) == 3


def test_other_with_a_note_closes(client, imminent_case):
    case, psychologist = imminent_case["case"], imminent_case["psychologist"]
    client.sign_in(psychologist)
    form = {"outcome": "other", "version": str(case.version), "safety_outcome": "other",
            "safety_note": "Hospitalisée à sa demande, famille prévenue.",
            "no_safety_plan_reason": "Hospitalisée avant d'en écrire un"}
    form.update({f"task_{t.id}": "cancelled" for t in _open_tasks(case.id)})
    assert client.post_form(f"/cases/{case.id}/close", form).status_code == 302
    case = _case(case.id)
    assert (case.status, case.safety_outcome) == ("closed", "other")
    assert case.safety_note == "Hospitalisée à sa demande, famille prévenue."


def test_the_closing_step_is_a_fragment_for_htmx(client, imminent_case):
    case, psychologist = imminent_case["case"], imminent_case["psychologist"]
    client.sign_in(psychologist)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'hx-get="/cases/{case.id}/close"' in page and 'href="/cases/' in page
    fragment = client.htmx("GET", f"/cases/{case.id}/close",
                           headers={"HX-Target": "close-step"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and body.lstrip().startswith("<section id=\"close-step\"")
    assert "<html" not in body
    form = {"outcome": "resolved", "version": str(case.version)}
    form.update({f"task_{t.id}": "cancelled" for t in _open_tasks(case.id)})
    refused = client.htmx("POST", f"/cases/{case.id}/close", form,
                          headers={"HX-Target": "close-step"})
    assert refused.status_code == 422 and "<html" not in refused.get_data(as_text=True)
    form["safety_outcome"] = "emergency_services"
    form["no_safety_plan_reason"] = "Emmenée aux urgences"
    done = client.htmx("POST", f"/cases/{case.id}/close", form,
                       headers={"HX-Target": "close-step"})
    assert done.status_code == 200 and done.headers["HX-Redirect"] == f"/cases/{case.id}"
    assert _case(case.id).status == "closed"


def test_a_stale_closing_step_is_409_with_the_other_change(client, imminent_case, make_user):
    from cases import operations as ops

    case, psychologist = imminent_case["case"], imminent_case["psychologist"]
    client.sign_in(psychologist)
    stale = case.version
    ops.set_status(case, "waiting", make_user("supervisor", name="Yves Superviseur"), stale)
    db.session.commit()
    form = {"outcome": "resolved", "version": str(stale), "safety_outcome": "safety_plan"}
    form.update({f"task_{t.id}": "cancelled" for t in _open_tasks(case.id)})
    response = client.post_form(f"/cases/{case.id}/close", form)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'id="conflict"' in html and "Yves Superviseur" in html
    assert f'name="version" value="{stale + 1}"' in html
    assert _case(case.id).is_open and len(_open_tasks(case.id)) == 3


# --------------------------------------------------------------------------- API


def test_api_close_of_an_imminent_case_names_safety_outcome(app, imminent_case):
    from cellule.models import ApiToken

    case, psychologist = imminent_case["case"], imminent_case["psychologist"]
    row, token = ApiToken.issue(psychologist)
    db.session.add(row)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    url = f"/api/v1/cases/{case.id}/close"
    response = client.post(url, json={"outcome": "resolved", "version": case.version},
                           headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"safety_outcome", "no_safety_plan_reason"}
    assert _case(case.id).is_open and len(_open_tasks(case.id)) == 3
    response = client.post(url, json={"outcome": "resolved", "version": case.version,
                                      "safety_outcome": "nonsense"}, headers=headers)
    assert response.status_code == 422 and "safety_outcome" in response.get_json()["fields"]

    callback = imminent_case["callback"]
    response = client.post(url, json={
        "outcome": "resolved", "version": case.version, "safety_outcome": "emergency_services",
        "tasks": {str(callback.id): "done"}}, headers=headers)
    assert response.status_code == 422  # without a safety plan: why
    assert set(response.get_json()["fields"]) == {"no_safety_plan_reason"}
    assert _case(case.id).is_open
    response = client.post(url, json={
        "outcome": "resolved", "version": case.version, "safety_outcome": "emergency_services",
        "tasks": {str(callback.id): "done"}, "no_safety_plan_reason": "Emmenée aux urgences"},
        headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "closed" and body["safety_outcome"] == "emergency_services"
    db.session.expire_all()
    assert db.session.get(Task, callback.id).status == "done"
    assert [t.kind for t in _open_tasks(case.id)] in ([], ["survey"])  # the rest cancelled
    detail = client.get(f"/api/v1/cases/{case.id}", headers=headers).get_json()
    assert {t["status"] for t in detail["tasks"] if t["id"] != callback.id} <= {
        "cancelled", "open"}


@pytest.mark.parametrize("extra,field", [
    ({"tasks": ["1"]}, "tasks"),
    ({"tasks": {"x": "done"}}, "tasks"),
    ({"safety_note": 12}, "safety_note"),
])
def test_api_close_validates_the_new_fields(api_client, triage, extra, field):
    client, _user = api_client("supervisor")
    _run, case = triage("serious")
    response = client.post(f"/api/v1/cases/{case.id}/close",
                           json={"outcome": "resolved", "version": case.version, **extra})
    assert response.status_code == 422 and field in response.get_json()["fields"]


def test_api_close_documents_the_safety_outcome(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["paths"]["/cases/{id}/close"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert body["required"] == ["outcome", "version"]  # the contract's fields stay the ones
    assert {"safety_outcome", "safety_note", "tasks"} <= set(body["properties"])
    assert "safety_plan" in body["properties"]["safety_outcome"]["enum"]


# --------------------------------------------------------------------------- banners


def test_no_red_banner_once_the_imminent_case_is_closed(client, imminent_case):
    case, psychologist = imminent_case["case"], imminent_case["psychologist"]
    supervisor = imminent_case["supervisors"][0]
    client.sign_in(supervisor)
    for url in ("/", "/board"):
        page = client.get(url).get_data(as_text=True)
        assert "alert-panel" in page and case.reference in page, url
    client.post_form("/logout")
    client.sign_in(psychologist)
    form = {"outcome": "resolved", "version": str(case.version),
            "safety_outcome": "safety_plan", "no_safety_plan_reason": "Plan écrit sur papier"}
    form.update({f"task_{t.id}": "cancelled" for t in _open_tasks(case.id)})
    assert client.post_form(f"/cases/{case.id}/close", form).status_code == 302
    client.post_form("/logout")
    client.sign_in(supervisor)
    for url in ("/", "/board"):
        page = client.get(url).get_data(as_text=True)
        assert "alert-panel" not in page, url


def test_a_banner_shows_open_imminent_cases_only(client, imminent_case):
    """An alert left open on a case closed some other way (old data) rings no more."""
    case, supervisor = imminent_case["case"], imminent_case["supervisors"][1]
    with db.engine.begin() as conn:
        conn.execute(db.update(Case).where(Case.id == case.id).values(status="closed"))
    client.sign_in(supervisor)
    for url in ("/", "/board"):
        assert "alert-panel" not in client.get(url).get_data(as_text=True), url
    assert client.get("/my/tasks").status_code == 200


# --------------------------------------------------------------------------- hand-made tasks


@pytest.mark.parametrize("kind", ["sign_off", "complete_triage", "survey", "follow_up"])
def test_a_system_task_kind_is_refused_by_hand(client, login_as, triage, kind):
    _run, case = triage("serious")
    login_as("advisor")
    response = client.post_form(f"/cases/{case.id}/tasks", {"title": "Fais-moi voir",
                                                             "kind": kind})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "kind:" in html
    assert db.session.scalars(select(Task).where(  # (the follow-ups its safety yes planned)
        Task.case_id == case.id, Task.kind != "follow_up")).all() == []
    audit = db.session.scalars(select(AuditEvent.detail).where(
        AuditEvent.object_type == "task")).all()
    assert not any(json.loads(d or "{}").get("kind") == kind for d in audit)


def test_the_task_form_offers_only_hand_kinds(client, login_as, triage):
    _run, case = triage("serious")
    login_as("advisor")
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    select_html = html[html.index('id="task-kind"'):]
    select_html = select_html[:select_html.index("</select>")]
    for kind in ("sign_off", "complete_triage", "survey"):
        assert f'value="{kind}"' not in select_html
    assert 'value="callback"' in select_html
    response = client.post_form(f"/cases/{case.id}/tasks", {"title": "Rappel", "kind":
                                                            "callback"})
    assert response.status_code == 302
