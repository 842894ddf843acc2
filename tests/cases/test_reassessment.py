"""The re-assessment (DESIGN §10, issue 19): PHQ-2, GAD-2, CBI personal and the safety screen
asked again, compared to the case's first run; the operation, the page and the API."""

import pytest
from sqlalchemy import select, text

from cellule.extensions import db
from triage.examples import CBI_ZERO, SAFETY_NO

# Better than the "high" triage's answers: PHQ-2 2 -> 1 (high answers: distress 0...).
IMPROVED = {**SAFETY_NO, "phq_1_interest": 0, "phq_2_down": 0, "gad_1_nervous": 0,
            "gad_2_worry": 0, **CBI_ZERO}


@pytest.fixture
def elevated_case(triage):
    """A case opened by an `elevated` triage: PHQ-2 3, GAD-2 0, CBI 0."""
    run, case = triage("elevated")
    return run, case


def _answers(**changes):
    return {**IMPROVED, **changes}


def test_the_change_to_the_first_run(elevated_case, make_user):
    from cases.models import CaseEvent
    from cases.reassessment.operations import record_reassessment

    run, case = elevated_case
    advisor = make_user("advisor")
    row = record_reassessment(case, _answers(phq_2_down=1, gad_1_nervous=1, gad_2_worry=1),
                              advisor, occasion="other")
    db.session.commit()
    assert row.first_run_id == run.id and row.route == case.route
    assert row.first_scores["phq2"] == {"total": 3, "positive": True}
    assert row.scores["phq2"] == {"total": 1, "positive": False}
    assert row.change == {"phq2": -2, "gad2": 2, "cbi_personal": 0.0}
    assert row.improved is False  # GAD-2 went up
    again = record_reassessment(case, _answers(), advisor, occasion="other")
    assert again.change == {"phq2": -3, "gad2": 0, "cbi_personal": 0.0} and again.improved
    kinds = db.session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id))
    assert "reassessed" in list(kinds)


def test_the_answers_are_encrypted_at_rest(elevated_case, make_user):
    from cases.reassessment.operations import record_reassessment

    _run, case = elevated_case
    record_reassessment(case, _answers(), make_user("advisor"), occasion="other")
    db.session.commit()
    stored = db.session.execute(text("SELECT content FROM reassessments")).scalar_one()
    assert "phq_1_interest" not in stored and "phq2" not in stored


@pytest.mark.parametrize(("answers", "field", "message"), [
    ({"hours_per_week": 40}, "answers.hours_per_week", "not asked in a re-assessment"),
    ({"phq_1_interest": 4}, "answers.phq_1_interest", "must be an integer from 0 to 3"),
    ({"cssrs_3_method": "no"}, "answers.cssrs_3_method", "not asked"),
    ({"cbi_1_tired": None}, "answers.cbi_1_tired", "required"),
    ({"nonsense": 1}, "answers.nonsense", "not asked in a re-assessment"),
])
def test_refused_answers_name_the_field(elevated_case, make_user, answers, field, message):
    from cases.operations import OperationError
    from cases.reassessment.operations import record_reassessment

    _run, case = elevated_case
    values = {k: v for k, v in _answers(**answers).items() if v is not None}
    with pytest.raises(OperationError) as refused:
        record_reassessment(case, values, make_user("advisor"), occasion="other")
    assert message in refused.value.fields[field]


def test_occasion_and_task_are_checked(elevated_case, make_user):
    from cases import operations as ops
    from cases.operations import OperationError
    from cases.reassessment.operations import record_reassessment

    _run, case = elevated_case
    advisor = make_user("advisor")
    with pytest.raises(OperationError) as refused:
        record_reassessment(case, _answers(), advisor, occasion="follow_up")
    assert "task_id" in refused.value.fields
    callback = ops.create_task(title="Call", kind="callback", actor=advisor, case=case)
    with pytest.raises(OperationError) as refused:
        record_reassessment(case, _answers(), advisor, occasion="follow_up", task=callback)
    assert "task_id" in refused.value.fields
    with pytest.raises(OperationError):
        record_reassessment(case, _answers(), advisor, occasion="weekly")


def test_an_imminent_answer_alerts_through_the_chain(elevated_case, make_user):
    from cases.followup.operations import protocol_of
    from cases.models import Task
    from cases.reassessment.operations import record_reassessment

    _run, case = elevated_case
    supervisor = make_user("supervisor")
    row = record_reassessment(case, _answers(cssrs_1_wish_dead="yes", acute_now="yes"),
                              make_user("advisor"), occasion="other")
    db.session.commit()
    assert row.alerted and row.safety_yes
    assert (case.level, case.route) == ("imminent", "crisis")
    alert = db.session.scalars(select(Task).where(Task.code == "imminent_alert")).one()
    assert (alert.assignee_id, alert.case_id) == (supervisor.id, case.id)
    assert protocol_of(case.id) is not None  # the follow-up protocol, once per case


def test_a_better_answer_never_lowers_the_case(triage, make_user):
    from cases.reassessment.operations import record_reassessment

    _run, case = triage("high")
    row = record_reassessment(case, _answers(), make_user("advisor"), occasion="other")
    db.session.commit()
    assert case.level == "high" and not row.alerted
    assert row.first_scores["cssrs"] == {"category": "high"}
    assert row.scores["cssrs"] == {"category": "none"}


def test_a_closed_case_is_not_reassessed(elevated_case, make_user):
    from cases.operations import OperationError
    from cases.reassessment.operations import record_reassessment

    _run, case = elevated_case
    case.status = "closed"
    with pytest.raises(OperationError) as refused:
        record_reassessment(case, _answers(), make_user("advisor"), occasion="closing")
    assert "case" in refused.value.fields


# --------------------------------------------------------------------------- API


def test_api_contract(elevated_case, api_client):
    from cellule.audit import AuditEvent

    _run, case = elevated_case
    client, _user = api_client("advisor")
    response = client.post(f"/api/v1/cases/{case.id}/reassessments",
                           json={"answers": _answers(), "occasion": "closing"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["change"] == {"phq2": -3, "gad2": 0, "cbi_personal": 0.0}
    assert body["scores"]["phq2"] == {"total": 0, "positive": False}
    assert (body["occasion"], body["improved"], body["supervisors_alerted"]) == (
        "closing", True, False)
    assert {"id", "scores", "change"} <= set(body)
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "reassessment"))
    assert list(actions) == ["create"]


def test_api_refusals(elevated_case, api_client):
    _run, case = elevated_case
    client, _user = api_client("advisor")
    url = f"/api/v1/cases/{case.id}/reassessments"
    response = client.post(url, json={"answers": _answers(phq_2_down=7)})
    assert response.status_code == 422
    assert response.get_json()["fields"] == {
        "answers.phq_2_down": "must be an integer from 0 to 3"}
    response = client.post(url, json={"answers": "all fine"})
    assert response.status_code == 422 and "answers" in response.get_json()["fields"]
    response = client.post(url, json={"answers": _answers(), "occasion": "follow_up",
                                      "task_id": 2**40})
    assert response.status_code == 422 and "task_id" in response.get_json()["fields"]
    assert client.post("/api/v1/cases/999999/reassessments",
                       json={"answers": _answers()}).status_code == 404
    for role, status in (("ambassador", 403), ("admin", 403)):
        other, _ = api_client(role)
        assert other.post(url, json={"answers": _answers()}).status_code == status


def test_api_honours_the_idempotency_key(elevated_case, api_client):
    from cases.reassessment.models import Reassessment

    _run, case = elevated_case
    client, _user = api_client("advisor")
    url, headers = f"/api/v1/cases/{case.id}/reassessments", {"Idempotency-Key": "r-1"}
    first = client.post(url, json={"answers": _answers()}, headers=headers)
    again = client.post(url, json={"answers": _answers()}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.session.query(Reassessment).count() == 1
    other = client.post(url, json={"answers": _answers(phq_2_down=1)}, headers=headers)
    assert other.status_code == 422


def test_openapi_documents_the_reassessments(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/cases/{id}/reassessments"]["post"]
    assert {"201", "403", "404", "422"} <= set(operation["responses"])
    assert "Reassessment" in spec["components"]["schemas"]


# --------------------------------------------------------------------------- pages


def test_the_page_records_and_the_case_shows_the_change(elevated_case, login_as, client):
    _run, case = elevated_case
    login_as("advisor")
    page = client.get(f"/cases/{case.id}/reassessment?occasion=closing")
    assert page.status_code == 200
    assert 'name="phq_1_interest"' in page.get_data(as_text=True)
    form = {k: str(v) for k, v in _answers(cssrs_3_method="yes").items()}  # not asked: dropped
    form["occasion"] = "closing"
    response = client.post_form(f"/cases/{case.id}/reassessments", form)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/cases/{case.id}/close")
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="reassessment-card"' in html and "3 → 0" in html


def test_the_page_names_the_missing_answers(elevated_case, login_as, client):
    _run, case = elevated_case
    login_as("advisor")
    form = {k: str(v) for k, v in _answers().items() if k != "gad_2_worry"}
    response = client.post_form(f"/cases/{case.id}/reassessments", form)
    assert response.status_code == 422
    assert 'id="err-gad_2_worry"' in response.get_data(as_text=True)


def test_a_reached_attempt_offers_the_reassessment(triage, resources, login_as, client):
    from cases.followup.operations import open_follow_ups

    _run, case = triage("high")
    task = open_follow_ups(case.id)[0]
    login_as("advisor")
    url = f"/tasks/{task.id}/follow-up"
    assert 'id="reassess-now"' not in client.get(url).get_data(as_text=True)
    client.post_form(f"/tasks/{task.id}/attempts", {"outcome": "reached", "note": ""})
    html = client.get(url).get_data(as_text=True)
    assert f"/cases/{case.id}/reassessment?task={task.id}" in html
    form = {k: str(v) for k, v in _answers().items()}
    form["task_id"] = str(task.id)
    assert client.post_form(f"/cases/{case.id}/reassessments", form).status_code == 303
    from cases.reassessment.models import Reassessment

    row = db.session.scalars(select(Reassessment)).one()
    assert (row.occasion, row.task_id) == ("follow_up", task.id)


def test_erasure_keeps_the_figures_not_the_answers(elevated_case, make_user):
    from cases.reassessment.models import Reassessment
    from cases.reassessment.operations import record_reassessment
    from cases.rights.erasure import anonymise_case

    _run, case = elevated_case
    row = record_reassessment(case, _answers(), make_user("advisor"), occasion="other")
    db.session.commit()
    anonymise_case(case)
    db.session.commit()
    row = db.session.get(Reassessment, row.id)
    assert row.answers == {} and row.change["phq2"] == -3


def test_the_person_s_export_holds_the_reassessments(elevated_case, make_user):
    from cases.reassessment.operations import record_reassessment
    from cases.rights.export import person_data

    _run, case = elevated_case
    record_reassessment(case, _answers(), make_user("advisor"), occasion="other")
    db.session.commit()
    data = person_data(case.person)
    assert data["reassessments"][0]["answers"]["phq_1_interest"] == 0
    assert data["reassessments"][0]["change"]["phq2"] == -3
