"""The deadline sweep, travelling in time: reminders before, escalation after, each once."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from cases import operations as ops
from cases import routing
from cases.models import Task
from cases.sweeps import sweep_deadlines
from cellule.extensions import db
from cellule.jobs import drain
from cellule.mailer import Notice, OutgoingMail
from contacts import operations as contact_ops

# A Tuesday, 09:00 in Brussels.
T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """Travel to T0; `clock.to(offset)` moves to T0 + offset (time then runs on)."""

    class Clock:
        def __init__(self):
            self.traveller = None

        def to(self, offset=timedelta(0)):
            self.stop()
            self.traveller = time_machine.travel(T0 + offset, tick=True)
            self.traveller.start()

        def stop(self):
            if self.traveller is not None:
                self.traveller.stop()
                self.traveller = None

    clock = Clock()
    clock.to()
    yield clock
    clock.stop()


@pytest.fixture
def staff(make_user):
    return {
        "advisor": make_user("advisor", language="nl"),
        "on_duty": make_user("supervisor"),
        "off_duty": make_user("supervisor", on_duty=False),
    }


def mails():
    db.session.expire_all()
    return db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)).all()


def recipients(kind):
    notices = {n.key: n for n in db.session.scalars(select(Notice))}
    return sorted(m.recipient for m in mails() if notices[m.key.rsplit(":to:", 1)[0]].kind == kind)


def make_task(assignee, due_at, case=None):
    task = ops.create_task(title="Rappeler Mme Martin", kind="callback", actor=None,
                           assignee=assignee, case=case, due_at=due_at)
    db.session.commit()
    return task


def make_case(due_at, assignee=None):
    person = contact_ops.create_person(None, name="Jeanne Martin")
    case = ops.open_case(person_id=person.id, level="high", route="psychologist",
                         due_at=due_at, actor=None)
    case.assignee_id = assignee.id if assignee else None
    db.session.commit()
    return case


def test_a_task_gets_one_reminder_then_one_escalation(app, clock, staff):
    task = make_task(staff["advisor"], T0 + timedelta(hours=2))
    assert sweep_deadlines() == 0  # two hours ahead: too early

    clock.to(timedelta(hours=1, minutes=30))
    assert sweep_deadlines() == 1
    assert recipients("reminder") == [staff["advisor"].email]
    assert sweep_deadlines() == 0  # a rerun sends nothing

    clock.to(timedelta(hours=2, minutes=1))
    assert sweep_deadlines() == 1
    # Only the supervisor on duty.
    assert recipients("escalation") == [staff["on_duty"].email]
    for _ in range(3):
        assert sweep_deadlines() == 0
    assert len(mails()) == 2
    assert all(task.case is None and f"#{task.id}" in m.subject for m in mails())


def test_a_moved_deadline_gets_its_own_notices_and_a_done_task_none(app, clock, staff):
    task = make_task(staff["advisor"], T0 + timedelta(minutes=30))
    done = make_task(staff["advisor"], T0 + timedelta(minutes=30))
    ops.finish_task(done, staff["advisor"])
    db.session.commit()
    assert sweep_deadlines() == 1

    task.due_at = T0 + timedelta(days=1)  # the deadline moved: the database says so
    db.session.commit()
    clock.to(timedelta(hours=2))
    assert sweep_deadlines() == 0  # nothing overdue: the old deadline is no longer the truth
    clock.to(timedelta(days=1, minutes=-30))
    assert sweep_deadlines() == 1
    assert recipients("reminder") == [staff["advisor"].email] * 2
    clock.to(timedelta(days=1, minutes=5))
    assert sweep_deadlines() == 1
    assert recipients("escalation") == [staff["on_duty"].email]


def test_a_case_waiting_for_its_first_response_is_reminded_and_escalated(app, clock, staff):
    case = make_case(T0 + timedelta(minutes=45), assignee=staff["advisor"])
    answered = make_case(T0 + timedelta(minutes=45), assignee=staff["advisor"])
    ops.record_first_response(answered, staff["advisor"])
    db.session.commit()

    assert sweep_deadlines() == 1
    [reminder] = mails()
    assert reminder.recipient == staff["advisor"].email and case.reference in reminder.subject
    assert "Martin" not in reminder.subject + reminder.body  # no personal data in mail

    clock.to(timedelta(hours=1))
    assert sweep_deadlines() == 1
    assert recipients("escalation") == [staff["on_duty"].email]
    assert sweep_deadlines() == 0


def test_with_nobody_on_duty_every_supervisor_is_told(app, clock, make_user):
    off = [make_user("supervisor", on_duty=False), make_user("supervisor", on_duty=False)]
    make_case(T0 - timedelta(minutes=5))  # overdue, unassigned
    assert sweep_deadlines() == 1
    assert recipients("escalation") == sorted(u.email for u in off)


def test_the_sweep_job_mails_each_notice_once_over_smtp(app, clock, staff, smtp_server):
    from cellule import outbox

    make_task(staff["advisor"], T0 - timedelta(minutes=1))
    for minute in range(3):  # the workers request it every minute
        clock.to(timedelta(minutes=minute))
        assert "sweep_deadlines" in outbox.schedule_periodic()
        drain(app)
    assert [m["To"] for m in smtp_server.messages] == [staff["on_duty"].email]
    assert smtp_server.messages[0]["Subject"].startswith("Overdue")


def test_an_imminent_case_mails_the_alerted_supervisors_once(app, clock, staff, smtp_server):
    case = make_case(T0)
    user_ids = routing.notify_supervisors(case.id)
    db.session.commit()
    assert user_ids == [staff["on_duty"].id]
    drain(app)
    [alert] = smtp_server.messages
    assert alert["To"] == staff["on_duty"].email and case.reference in alert["Subject"]
    # The in-app alert tasks are due now, but they are the alert: no reminder, no escalation
    # about them (the case's own deadline is escalated, once).
    clock.to(timedelta(minutes=10))
    sweep_deadlines()
    drain(app)
    alert_tasks = db.session.scalars(select(Task).where(Task.code == "imminent_alert")).all()
    assert len(alert_tasks) == 1
    notices = db.session.scalars(select(Notice).order_by(Notice.id)).all()
    assert [(n.kind, n.object_type) for n in notices] == [("alert", "case"),
                                                          ("escalation", "case")]
