"""The imminent alert goes out when the safety section is saved (SPEC "When the alert goes
out", DESIGN §9), once per run; a run left after an imminent or high answer still opens the
case at the level answered, with its alerts."""

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from cases.models import Case, Task, TriageRun
from cellule.extensions import db
from cellule.mailer import OutgoingMail
from cellule.outbox import OutboxMessage

from .conftest import LEVEL_ANSWERS

# A Tuesday, 09:00 in Brussels (business hours).
T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
SAFETY = ("cssrs_1_wish_dead", "cssrs_2_thoughts", "cssrs_3_method", "cssrs_4_intent",
          "cssrs_5_plan", "cssrs_6_behaviour", "acute_now")
ACUTE = {"cssrs_1_wish_dead": "yes", "cssrs_2_thoughts": "no", "cssrs_6_behaviour": "no",
         "acute_now": "yes", "resources_given": "y"}


def _safety(level):
    return {k: str(v) for k, v in LEVEL_ANSWERS[level].items() if k in SAFETY}


def _alert_tasks():
    return db.session.scalars(
        select(Task).where(Task.code == "imminent_alert").order_by(Task.id)).all()


def _alert_mails():
    return db.session.scalars(
        select(OutgoingMail).where(OutgoingMail.key.like("alert:%")).order_by(OutgoingMail.id)
    ).all()


def _start(client, contact, data, action="next"):
    response = client.post_form(f"/contacts/{contact.id}/triage", {**data, "action": action})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return db.session.scalars(select(TriageRun).order_by(TriageRun.id.desc())).first()


def _walk_rest(client, run, level):
    from triage.loader import get_script

    script = get_script("cellule-triage")
    for section in script.sections[1:]:
        ids = {i.id for i in section.items}
        data = {k: str(v) for k, v in LEVEL_ANSWERS[level].items() if k in ids}
        response = client.post_form(f"/triage/runs/{run.id}/sections/{section.id}",
                                    {**data, "resources_given": "y"})
        assert response.status_code in (200, 302), response.get_data(as_text=True)[:800]


def test_saving_the_safety_section_alerts_at_once(client, login_as, make_user, make_contact):
    on_duty = make_user("supervisor", on_duty=True)
    off_duty = make_user("supervisor", on_duty=False)
    advisor = login_as("advisor")
    contact = make_contact(advisor)
    run = _start(client, contact, ACUTE)
    # Still a draft: four sections to go, and yet the on-duty supervisor has been alerted.
    assert run.state == "draft" and run.alerted_at is not None
    case = db.session.get(Case, run.case_id)
    assert case.level == "imminent" and case.route == "crisis" and case.queue == "psychology"
    [task] = _alert_tasks()
    assert task.assignee_id == on_duty.id and task.case_id == case.id
    assert task.triage_run_id == run.id  # the alert links to the run in progress
    [mail] = _alert_mails()
    assert mail.user_id == on_duty.id and case.reference in mail.subject
    assert db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.job_name == "send_email"))  # the mail's job, in the same transaction
    assert off_duty.id not in {t.assignee_id for t in _alert_tasks()}
    # The advisor is told on the next section.
    page = client.get(f"/triage/runs/{run.id}").get_data(as_text=True)
    assert "every supervisor on duty has been alerted" in page


def test_the_decision_does_not_alert_again(client, login_as, make_user, make_contact):
    make_user("supervisor", on_duty=True)
    advisor = login_as("advisor")
    contact = make_contact(advisor)
    run = _start(client, contact, ACUTE)
    _walk_rest(client, run, "imminent")
    response = client.post_form(f"/triage/runs/{run.id}/decide",
                                {"level": "imminent", "route": "crisis",
                                 "resources_given": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    run = db.session.get(TriageRun, run.id)
    assert run.state == "decided" and run.final_level == "imminent"
    assert len(_alert_tasks()) == 1 and len(_alert_mails()) == 1
    # One case: the decision attached to the one opened at the safety section.
    assert db.session.scalars(select(Case)).all() == [run.case]


def test_an_anonymous_caller_keeps_one_case(client, login_as, make_user, make_contact):
    make_user("supervisor", on_duty=True)
    advisor = login_as("advisor")
    contact = make_contact(advisor, person=None)
    run = _start(client, contact, ACUTE)
    _walk_rest(client, run, "imminent")
    client.post_form(f"/triage/runs/{run.id}/decide",
                     {"level": "imminent", "route": "crisis", "resources_given": "y"})
    assert len(db.session.scalars(select(Case)).all()) == 1
    assert len(_alert_tasks()) == 1


def test_immediate_danger_ticked_on_a_later_section_alerts(client, login_as, make_user,
                                                         make_contact):
    supervisor = make_user("supervisor", on_duty=True)
    advisor = login_as("advisor")
    contact = make_contact(advisor)
    run = _start(client, contact, _safety("low"))
    assert run.alerted_at is None and not _alert_tasks()
    client.post_form(f"/triage/runs/{run.id}/sections/distress",
                     {"immediate_danger": "y", "resources_given": "y"})  # answers missing: 422
    [task] = _alert_tasks()
    assert task.assignee_id == supervisor.id


def test_hang_up_after_acute_now_opens_the_imminent_case(client, login_as, make_user,
                                                         make_contact):
    supervisor = make_user("supervisor", on_duty=True)
    advisor = login_as("advisor")
    contact = make_contact(advisor)
    run = _start(client, contact, ACUTE)
    response = client.post_form(f"/triage/runs/{run.id}/sections/distress",
                                {"action": "hangup", "resources_given": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    run = db.session.get(TriageRun, run.id)
    assert run.state == "incomplete" and run.final_level == "imminent"
    assert run.case.level == "imminent" and run.case.is_open
    [alert] = _alert_tasks()  # its crisis task, once
    assert alert.assignee_id == supervisor.id and alert.status == "open"
    follow_up = db.session.scalar(select(Task).where(Task.kind == "complete_triage"))
    assert follow_up.assignee_id == advisor.id and follow_up.case_id == run.case_id
    assert len(_alert_mails()) == 1


def test_hang_up_after_a_high_answer_opens_a_high_case(client, login_as, make_contact):
    advisor = login_as("advisor")
    contact = make_contact(advisor)
    run = _start(client, contact, _safety("high"))
    client.post_form(f"/triage/runs/{run.id}/sections/distress", {"action": "hangup"})
    db.session.expire_all()
    run = db.session.get(TriageRun, run.id)
    assert run.state == "incomplete" and run.final_level == "high"
    assert run.case.level == "high" and run.case.queue == "psychology"
    assert run.case.due_at is not None


def test_the_sweep_saves_an_abandoned_alerted_draft(app, client, login_as, make_user,
                                                    make_contact):
    from cases.sweeps import sweep_deadlines

    make_user("supervisor", on_duty=True)
    with time_machine.travel(T0, tick=False):
        advisor = login_as("advisor")
        contact = make_contact(advisor)
        run = _start(client, contact, ACUTE)
    case_id = run.case_id
    with time_machine.travel(T0 + timedelta(minutes=19), tick=False):
        sweep_deadlines()
        assert db.session.get(TriageRun, run.id).state == "draft"  # not yet abandoned
    with time_machine.travel(T0 + timedelta(minutes=21), tick=False):
        sweep_deadlines()
        sweep_deadlines()  # a rerun saves nothing twice
    db.session.expire_all()
    run = db.session.get(TriageRun, run.id)
    assert run.state == "incomplete" and run.final_level == "imminent"
    assert run.case_id == case_id and run.case.level == "imminent"
    [follow_up] = db.session.scalars(select(Task).where(Task.kind == "complete_triage")).all()
    assert follow_up.assignee_id == advisor.id and follow_up.case_id == case_id
    assert len(_alert_tasks()) == 1 and len(_alert_mails()) == 1
    # The advisor coming back finds the record, not a draft to overwrite.
    with time_machine.travel(T0 + timedelta(minutes=22), tick=False):
        assert client.post_form(f"/triage/runs/{run.id}/sections/distress",
                                {"action": "next"}).status_code == 409


def test_the_sweep_opens_the_case_of_an_abandoned_high_draft(app, client, login_as,
                                                             make_contact):
    from cases.sweeps import sweep_deadlines

    with time_machine.travel(T0, tick=False):
        advisor = login_as("advisor")
        contact = make_contact(advisor)
        run = _start(client, contact, _safety("high"))
        low_contact = make_contact(advisor)
        low_run = _start(client, low_contact, _safety("low"))
    assert run.case_id is None
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        sweep_deadlines()
    db.session.expire_all()
    run = db.session.get(TriageRun, run.id)
    assert run.state == "incomplete" and run.case.level == "high"
    assert db.session.get(TriageRun, low_run.id).state == "draft"  # nothing grave: left alone


def test_a_supervisor_sees_the_alert_without_reloading(app, client, login_as, make_user,
                                                       make_contact):
    supervisor = make_user("supervisor", on_duty=True)
    advisor = make_user("advisor")
    sup_client = app.test_client()
    assert sup_client.login(supervisor).status_code == 302
    home = sup_client.get("/").get_data(as_text=True)
    assert 'id="live-alerts"' in home and 'hx-trigger="every 10s"' in home
    assert sup_client.get("/alerts/live").status_code == 204  # nothing yet
    assert client.login(advisor).status_code == 302
    run = _start(client, make_contact(advisor), ACUTE)
    response = sup_client.get("/alerts/live", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    case = db.session.get(Case, run.case_id)
    assert f'href="/cases/{case.id}"' in html and case.reference in html
    assert f'href="/triage/runs/{run.id}"' in html and "Triage in progress" in html
    assert response.headers["Cache-Control"] == "no-store"
    # A page loaded now carries the alert in its region already (no extra round trip),
    # and it is the only banner: the home page keeps no copy of its own.
    home = sup_client.get("/").get_data(as_text=True)
    assert home.count(case.reference) == 1 and home.count('class="alert-panel') == 1
    shown = html.split('name="shown" value="')[1].split('"')[0]
    again = sup_client.get("/alerts/live", query_string={"shown": shown})
    assert again.status_code == 204  # unchanged: nothing swapped, nothing re-announced
    # The supervisor may open the run in progress (another user's draft): its record.
    record = sup_client.get(f"/triage/runs/{run.id}")
    assert record.status_code == 200
    # Advisors have no alert region (the alert is the supervisors').
    assert 'id="live-alerts"' not in client.get("/").get_data(as_text=True)
    assert client.get("/alerts/live").status_code == 403


def test_polling_does_not_keep_an_idle_session_alive(app, make_user):
    supervisor = make_user("supervisor", on_duty=True)
    sup_client = app.test_client()
    with time_machine.travel(T0, tick=False):
        assert sup_client.login(supervisor).status_code == 302
    idle = app.config["CELLULE_IDLE_MINUTES"]
    for minute in range(1, idle + 2):
        with time_machine.travel(T0 + timedelta(minutes=minute), tick=False):
            sup_client.get("/alerts/live", headers={"HX-Request": "true"})
    with time_machine.travel(T0 + timedelta(minutes=idle + 2), tick=False):
        response = sup_client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
