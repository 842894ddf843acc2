"""The follow-up protocol (DESIGN §10, issue 19): due times over a weekend, attempts, the
escalation after three failures, the API contract and its permissions."""

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from cellule.extensions import db

FRIDAY_16H = datetime(2026, 1, 9, 15, 0, tzinfo=UTC)  # Friday 16:00 in Brussels (CET)


def _local(task):
    from triage.calendar import get_calendar

    return task.due_at.astimezone(get_calendar().tz).strftime("%a %d %H:%M")


@pytest.fixture
def follow_up(triage, resources):
    """A high case opened on a Friday at 16:00: its protocol and its follow-up tasks."""
    from cases.followup.operations import open_follow_ups, protocol_of

    with time_machine.travel(FRIDAY_16H, tick=False):
        _run, case = triage("high", at=FRIDAY_16H)
    return case, protocol_of(case.id), open_follow_ups(case.id)


def test_due_times_over_a_weekend(follow_up):
    case, protocol, tasks = follow_up
    assert [_local(t) for t in tasks] == [
        "Mon 12 08:30",  # 24 h: Saturday 16:00 -> the next opening
        "Mon 12 16:00",  # 72 h: Monday 16:00, open
        "Fri 16 08:30",  # 7 days: the opening of that business day
        "Mon 09 08:30",  # 1 month: Sunday 8 February -> Monday's opening
        "Thu 09 08:30",  # 3 months: 9 April
    ]
    assert {t.kind for t in tasks} == {"follow_up"}
    rows = protocol.schedule
    # Moved by 40.5 h, more than half of 24 h: the person's 24/7 line covers the gap.
    assert rows[0]["crisis_line"]["phone"] == "0800 32 123"
    assert [r["crisis_line"] for r in rows[1:]] == [None] * 4


def test_once_per_case(follow_up, triage):
    from cases.followup.models import FollowUpProtocol
    from cases.models import Task

    case, _protocol, tasks = follow_up
    triage("high", person=case.person)  # a re-assessment at the same level
    assert db.session.query(FollowUpProtocol).count() == 1
    assert db.session.query(Task).filter_by(kind="follow_up").count() == len(tasks)


def test_no_protocol_without_risk(triage):
    from cases.followup.operations import protocol_of

    _run, case = triage("elevated")
    assert protocol_of(case.id) is None


def test_three_failures_alert_the_supervisors(follow_up, make_user):
    from cases.followup import operations as followup
    from cases.models import Task

    case, protocol, tasks = follow_up
    supervisor = make_user("supervisor")
    advisor = make_user("advisor")
    for outcome in ("no_answer", "voicemail"):
        followup.log_attempt(tasks[0], outcome, "", advisor)
    assert protocol.alerted_at is None
    followup.log_attempt(tasks[0], "no_answer", "no tone", advisor)
    db.session.commit()
    alert = db.session.scalars(select(Task).where(Task.code == "follow_up_unreached")).one()
    assert (alert.assignee_id, alert.case_id) == (supervisor.id, case.id)
    assert tasks[0].status == "open" and protocol.alerted_at is not None
    followup.log_attempt(tasks[0], "reached", "talked", advisor)
    assert tasks[0].status == "done" and followup.failures_in_a_row(protocol) == 0


def test_end_cancels_the_remaining_contacts(follow_up, make_user):
    from cases.followup import operations as followup
    from cases.operations import OperationError

    _case, protocol, tasks = follow_up
    advisor = make_user("advisor")
    with pytest.raises(OperationError) as refused:
        followup.end_protocol(protocol, "handed_over", "", advisor)
    assert "note" in refused.value.fields
    followup.end_protocol(protocol, "handed_over", "CPAS of Namur", advisor)
    db.session.commit()
    assert {t.status for t in tasks} == {"cancelled"}
    assert protocol.state == "handed_over"


def test_api_attempts(follow_up, api_client):
    case, _protocol, tasks = follow_up
    client, _user = api_client("advisor")
    url = f"/api/v1/tasks/{tasks[0].id}/attempts"
    response = client.post(url, json={"outcome": "no_answer", "note": "rang 10 times"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["outcome"], body["task_status"], body["failures_in_a_row"]) == (
        "no_answer", "open", 1)
    response = client.post(url, json={"outcome": "maybe"})
    assert response.status_code == 422 and "outcome" in response.get_json()["fields"]
    assert client.post("/api/v1/tasks/999999/attempts",
                       json={"outcome": "reached"}).status_code == 404
    assert client.post(url, json={"outcome": "reached"}).status_code == 201
    assert client.post(url, json={"outcome": "reached"}).status_code == 409


def test_api_not_a_follow_up_and_permissions(follow_up, api_client, make_user):
    from cases import operations as ops

    case, _protocol, tasks = follow_up
    client, user = api_client("advisor")
    other = ops.create_task(title="Call", kind="callback", actor=user, assignee=user, case=case)
    db.session.commit()
    assert client.post(f"/api/v1/tasks/{other.id}/attempts",
                       json={"outcome": "reached"}).status_code == 404
    admin, _ = api_client("admin")
    assert admin.post(f"/api/v1/tasks/{tasks[0].id}/attempts",
                      json={"outcome": "reached"}).status_code == 403


def test_page_logs_an_attempt(follow_up, login_as, client):
    _case, _protocol, tasks = follow_up
    login_as("advisor")
    page = client.get(f"/tasks/{tasks[0].id}/follow-up")
    assert page.status_code == 200
    assert "0800 32 123" in page.get_data(as_text=True)  # the crisis line for the weekend
    response = client.post_form(f"/tasks/{tasks[0].id}/attempts",
                                {"outcome": "voicemail", "note": "left a message"})
    assert response.status_code == 302
    assert "left a message" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.post_form(f"/tasks/{tasks[0].id}/attempts",
                            {"outcome": "nope"}).status_code == 422


def test_the_page_ends_the_follow_up(follow_up, login_as, client):
    _case, protocol, tasks = follow_up
    login_as("advisor")
    url = f"/tasks/{tasks[1].id}/follow-up/end"
    assert client.post_form(url, {"state": "handed_over"}).status_code == 422
    assert client.post_form(url, {"state": "completed"}).status_code == 302
    db.session.expire_all()
    assert protocol.state == "completed" and {t.status for t in tasks} == {"cancelled"}
    assert client.post_form(url, {"state": "declined"}).status_code == 409


def test_api_attempt_honours_the_idempotency_key(follow_up, api_client):
    from cases.followup.models import FollowUpAttempt

    _case, _protocol, tasks = follow_up
    client, _user = api_client("advisor")
    url, headers = f"/api/v1/tasks/{tasks[0].id}/attempts", {"Idempotency-Key": "k-1"}
    first = client.post(url, json={"outcome": "no_answer"}, headers=headers)
    again = client.post(url, json={"outcome": "no_answer"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_json() == again.get_json()
    assert db.session.query(FollowUpAttempt).count() == 1
    assert client.post(url, json={"outcome": "voicemail"}, headers=headers).status_code == 422


def test_openapi_documents_the_attempts(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/tasks/{id}/attempts"]["post"]
    assert {"201", "404", "409", "422"} <= set(operation["responses"])


def test_the_delays_are_set_per_level(app, triage, resources):
    from cases.followup.operations import open_follow_ups
    from cellule.settings import hours_per_name

    assert hours_per_name("High=4,48; imminent=2") == {"high": (4, 48), "imminent": (2,)}
    with pytest.raises(ValueError):
        hours_per_name("high=48,4")
    tuesday_10h = datetime(2026, 1, 13, 9, 0, tzinfo=UTC)
    app.config["CELLULE_FOLLOW_UP_DELAYS"] = {"high": (4, 48)}
    try:
        _run, case = triage("high", at=tuesday_10h)
    finally:
        app.config.pop("CELLULE_FOLLOW_UP_DELAYS")
    assert [_local(t) for t in open_follow_ups(case.id)] == ["Tue 13 14:00", "Thu 15 10:00"]


def test_the_claimer_takes_the_queue_s_follow_ups(follow_up, make_user):
    from cases import operations as ops
    from cases.followup.operations import open_follow_ups

    case, _protocol, tasks = follow_up
    assert {t.assignee_id for t in tasks} == {None}  # planned for the psychology queue
    psychologist = make_user("psychologist")
    assert ops.claim_case(case.id, psychologist)
    db.session.commit()
    assert {t.assignee_id for t in open_follow_ups(case.id)} == {psychologist.id}


def test_the_case_page_links_the_follow_up(follow_up, login_as, client):
    case, _protocol, tasks = follow_up
    login_as("psychologist")
    client.post_form("/language", {"language": "en"})
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"/tasks/{tasks[0].id}/follow-up" in html
    assert "Follow-up contacts planned" in html


def test_who_may_not_see_the_case_finds_nothing(follow_up, api_client, login_as, client):
    _case, _protocol, tasks = follow_up
    ambassador, _user = api_client("ambassador")
    assert ambassador.post(f"/api/v1/tasks/{tasks[0].id}/attempts",
                           json={"outcome": "reached"}).status_code == 404
    login_as("ambassador")
    assert client.get(f"/tasks/{tasks[0].id}/follow-up").status_code == 404


def test_closing_the_case_ends_its_follow_up(follow_up, make_user):
    from cases import operations as ops

    case, protocol, tasks = follow_up
    psychologist = make_user("psychologist")
    assert ops.claim_case(case.id, psychologist)
    case = db.session.get(type(case), case.id)
    ops.close_case(case, "resolved", psychologist, case.version, safety_outcome="safety_plan",
                   no_safety_plan_reason="Plan écrit sur papier")
    db.session.commit()
    db.session.expire_all()
    assert protocol.state == "completed"
    assert {t.status for t in tasks} == {"cancelled"}


def _follow_up_audits(task_ids):
    from cellule.models import AuditEvent

    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "task", AuditEvent.action == "update",
        AuditEvent.object_id.in_([str(i) for i in task_ids]))).all()


def test_follow_ups_follow_the_case_when_it_is_reassigned(follow_up, make_user, login_as,
                                                          client):
    """The case page's reassign moves the open follow-ups to the new assignee, each
    audited; a contact already done stays with whoever made it."""
    from cases import operations as ops
    from cases.followup import operations as followup
    from cases.models import Case, Task

    case, _protocol, tasks = follow_up
    first = make_user("psychologist", name="Paula Première")
    assert ops.claim_case(case.id, first)
    db.session.commit()
    followup.log_attempt(db.session.get(Task, tasks[0].id), "reached", "ok", first)
    db.session.commit()
    second = make_user("psychologist", name="Dirk Tweede")
    login_as("supervisor")
    case = db.session.get(Case, case.id)
    answer = client.post_form(f"/cases/{case.id}/reassign",
                              {"assignee_id": str(second.id), "version": str(case.version)})
    assert answer.status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Case, case.id).assignee_id == second.id
    assert db.session.get(Task, tasks[0].id).assignee_id == first.id  # done: it stays
    moved = followup.open_follow_ups(case.id)
    assert len(moved) == 4 and {t.assignee_id for t in moved} == {second.id}
    audits = _follow_up_audits([t.id for t in moved])
    assert sorted(int(a.object_id) for a in audits if str(second.id) in (a.detail or "")) == \
        sorted(t.id for t in moved)
    client.post_form("/logout")
    client.sign_in(second)
    my_tasks = client.get("/my/tasks").get_data(as_text=True)
    assert my_tasks.count(f"/tasks/{moved[0].id}/follow-up") == 1


def test_bulk_reassign_from_the_board_moves_the_follow_ups(follow_up, triage, make_user,
                                                           login_as, client):
    from werkzeug.datastructures import MultiDict

    from cases.followup.operations import open_follow_ups
    from cases.models import Case, Task

    case, _protocol, tasks = follow_up
    _run, other = triage("high")
    login_as("supervisor")
    psychologist = make_user("psychologist", name="Dirk Psycholoog")
    data = [("cases", f"{c.id}:{c.version}") for c in (case, other)]
    data += [("assignee_id", str(psychologist.id)), ("csrf_token", client.csrf_token())]
    answer = client.htmx("POST", "/board/reassign", data=MultiDict(data),
                         headers={"HX-Target": "board-results"})
    assert answer.status_code == 200
    db.session.expire_all()
    for each in (case, other):
        assert db.session.get(Case, each.id).assignee_id == psychologist.id
        moved = open_follow_ups(each.id)
        assert len(moved) == 5 and {t.assignee_id for t in moved} == {psychologist.id}
        assert len(_follow_up_audits([t.id for t in moved])) == 5
    assert db.session.query(Task).filter(Task.kind == "follow_up",
                                         Task.assignee_id.is_(None)).count() == 0
