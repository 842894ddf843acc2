"""Psychologists' appointments (issue 20): publishing slots (one, a weekly pattern in the
cell's local time), their validation, booking from a case with the confirmation and its
.ics invitation, the reminder 24 hours before (exactly once), cancelling (METHOD:CANCEL,
same UID, SEQUENCE + 1), the outcome, and the pages."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from icalendar import Calendar
from sqlalchemy import func, select

from cellule.audit import AuditEvent
from cellule.extensions import db

NOW = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Brussels
MONDAY_9H = datetime(2026, 1, 19, 8, 0, tzinfo=UTC)  # 09:00 in Brussels (CET)
ADDRESS = "marie.dubois@example.be"


@pytest.fixture
def psychologist(make_user):
    return make_user("psychologist", name="Anne Lenoir")


@pytest.fixture
def advisor(make_user):
    return make_user("advisor", name="Claire Dumont")


@pytest.fixture
def case(triage, make_person, advisor):
    person = make_person(name="Marie Dubois", email=ADDRESS, language="nl")
    with time_machine.travel(NOW, tick=False):
        _run, case = triage("high", user=advisor, person=person, at=NOW)
    return case


@pytest.fixture
def slot(psychologist):
    from cases.appointments import operations as ops

    with time_machine.travel(NOW, tick=False):
        slot = ops.publish_slot(psychologist, MONDAY_9H, 50, "video", ["fr", "nl"])
        db.session.commit()
    return slot


def _mails(prefix):
    from cellule.mailer import OutgoingMail

    return db.session.scalars(select(OutgoingMail).where(OutgoingMail.key.like(prefix))
                              .order_by(OutgoingMail.id)).all()


def _ics(mail):
    from cellule.mailer import build_attachment

    name, mime, data = build_attachment(mail.attachment)
    assert mime == "text/calendar" and name.endswith(".ics")
    return Calendar.from_ical(data)


def test_a_weekly_pattern_keeps_the_local_time_across_the_clock_change(app, psychologist):
    from cases.appointments import operations as ops

    with time_machine.travel(NOW, tick=False):
        slots = ops.publish_weekly(psychologist, 0, time(9, 0), 50, "phone", ["fr"],
                                   date(2026, 3, 16), date(2026, 4, 6))
        db.session.commit()
    # 16, 23 March (CET: 08:00 UTC), 30 March and 6 April (CEST: 07:00 UTC)
    assert [s.starts_at.strftime("%d %H:%M") for s in slots] == [
        "16 08:00", "23 08:00", "30 07:00", "06 07:00"]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=50) for s in slots)
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.object_type == "appointment_slot")) == 1


@pytest.mark.parametrize("change, field", [
    ({"starts_at": NOW - timedelta(hours=1)}, "starts_at"),
    ({"starts_at": NOW + timedelta(days=400)}, "starts_at"),
    ({"minutes": 10}, "minutes"),
    ({"minutes": 181}, "minutes"),
    ({"mode": "letter"}, "mode"),
    ({"languages": []}, "languages"),
])
def test_a_slot_is_refused_with_a_reason(app, psychologist, change, field):
    from cases.appointments import operations as ops

    values = {"starts_at": MONDAY_9H, "minutes": 50, "mode": "video", "languages": ["fr"]}
    values.update(change)
    with time_machine.travel(NOW, tick=False), pytest.raises(ops.SlotRefused) as refused:
        ops.publish_slot(psychologist, **values)
    assert field in refused.value.fields


def test_overlaps_and_far_dates_are_refused(app, psychologist, slot):
    from cases.appointments import operations as ops

    with time_machine.travel(NOW, tick=False):
        with pytest.raises(ops.SlotRefused) as refused:
            ops.publish_slot(psychologist, MONDAY_9H + timedelta(minutes=30), 50, "video",
                             ["fr"])
        assert refused.value.fields == {"starts_at": "overlaps another of your slots"}
        with pytest.raises(ops.SlotRefused) as refused:
            ops.publish_weekly(psychologist, 0, time(9, 0), 50, "video", ["fr"],
                               date(2026, 1, 15), date(9999, 12, 31))
        assert "last" in refused.value.fields
        # Right after the first one ends: no overlap.
        ops.publish_slot(psychologist, MONDAY_9H + timedelta(minutes=50), 50, "video", ["fr"])


def test_booking_mails_the_invitation_in_the_persons_language(app, case, slot, advisor):
    from cases.appointments import operations as ops
    from cases.models import CaseEvent

    with time_machine.travel(NOW, tick=False):
        appointment = ops.book(case, slot, advisor)
        db.session.commit()
    [mail] = _mails("appointment:%:invite")
    assert mail.recipient == ADDRESS and mail.case_id == case.id
    cal = _ics(mail)
    assert cal["METHOD"] == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == appointment.uid and int(event["SEQUENCE"]) == 0
    assert event["DTSTART"].params["TZID"] == "Europe/Brussels"
    assert event.decoded("DTSTART").hour == 9  # local wall time
    assert cal.walk("VTIMEZONE")
    assert appointment.reminder_due_at == MONDAY_9H - timedelta(hours=24)
    kinds = db.session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id))
    assert "appointment_booked" in set(kinds)


def test_a_booked_slot_is_taken(app, case, slot, advisor, triage, make_person):
    from cases.appointments import operations as ops

    other = triage("high", user=advisor, person=make_person(email="x@example.be"))[1]
    with time_machine.travel(NOW, tick=False):
        ops.book(case, slot, advisor)
        db.session.commit()
        with pytest.raises(ops.SlotTaken):
            ops.book(other, slot, advisor)
        db.session.rollback()
        assert ops.next_free_slot() is None


def test_the_reminder_goes_once_24_hours_before(app, case, slot, advisor):
    from cases.appointments import operations as ops

    with time_machine.travel(NOW, tick=False):
        ops.book(case, slot, advisor)
        db.session.commit()
    assert ops.send_reminders(MONDAY_9H - timedelta(hours=25)) == 0
    assert ops.send_reminders(MONDAY_9H - timedelta(hours=24)) == 1
    assert ops.send_reminders(MONDAY_9H - timedelta(hours=23)) == 0
    [mail] = _mails("appointment:%:reminder")
    assert "09:00" in mail.body and mail.attachment is None


def test_cancelling_frees_the_slot_and_mails_the_cancel(app, case, slot, advisor):
    from cases.appointments import operations as ops

    with time_machine.travel(NOW, tick=False):
        appointment = ops.book(case, slot, advisor)
        db.session.commit()
        ops.cancel(appointment, advisor)
        db.session.commit()
        assert ops.next_free_slot().id == slot.id
    [mail] = _mails("appointment:%:cancel")
    cal = _ics(mail)
    [event] = cal.walk("VEVENT")
    assert cal["METHOD"] == "CANCEL" and str(event["UID"]) == appointment.uid
    assert int(event["SEQUENCE"]) == 1
    assert ops.send_reminders(MONDAY_9H - timedelta(hours=24)) == 0


def test_the_psychologist_records_a_no_show_after_the_start(app, case, slot, advisor,
                                                            psychologist):
    from cases.appointments import operations as ops

    with time_machine.travel(NOW, tick=False):
        appointment = ops.book(case, slot, advisor)
        db.session.commit()
        with pytest.raises(ops.BookingRefused):
            ops.record_outcome(appointment, "no_show", psychologist)
    with pytest.raises(ops.BookingRefused):
        ops.record_outcome(appointment, "no_show", advisor, now=MONDAY_9H)
    ops.record_outcome(appointment, "no_show", psychologist, now=MONDAY_9H)
    db.session.commit()
    assert appointment.state == "no_show"


# --------------------------------------------------------------------------- pages


def test_my_availability_publishes_and_removes(app, client, psychologist):
    from cases.appointments.models import Slot

    with time_machine.travel(NOW, tick=True):
        client.sign_in(psychologist)
        page = client.get("/availability")
        assert page.status_code == 200 and b'id="no-slots"' in page.data
        answer = client.post_form("/availability/weekly", {
            "weekly-weekday": "0", "weekly-start": "09:00", "weekly-minutes": "50",
            "weekly-mode": "video", "weekly-languages": ["fr", "nl"],
            "weekly-first": "2026-01-15", "weekly-last": "2026-02-10"})
        assert answer.status_code == 303
        assert db.session.scalar(select(func.count(Slot.id))) == 4
        refused = client.post_form("/availability/weekly", {
            "weekly-weekday": "0", "weekly-start": "09:30", "weekly-minutes": "50",
            "weekly-mode": "video", "weekly-languages": ["fr"],
            "weekly-first": "2026-01-15", "weekly-last": "9999-12-31"})
        assert refused.status_code == 422
        assert b"a year ahead" in refused.data
        overlap = client.post_form("/availability/slot", {
            "single-starts_at": "2026-01-19T09:30", "single-minutes": "30",
            "single-mode": "phone", "single-languages": ["fr"]})
        assert overlap.status_code == 422 and b"overlaps another" in overlap.data
        first = db.session.scalars(select(Slot.id).order_by(Slot.starts_at)).first()
        assert client.post_form(f"/availability/{first}/remove", {}).status_code == 303
        assert db.session.get(Slot, first).state == "removed"


def test_booking_from_the_case_page(app, client, case, slot, advisor, psychologist):
    with time_machine.travel(NOW, tick=True):
        client.sign_in(advisor)
        page = client.get(f"/cases/{case.id}")
        assert b'id="book-appointment"' in page.data
        choices = client.get(f"/cases/{case.id}/appointments/new?language=nl&mode=video")
        assert choices.status_code == 200 and f'value="{slot.id}"'.encode() in choices.data
        booked = client.post_form(f"/cases/{case.id}/appointments", {"slot_id": str(slot.id)})
        assert booked.status_code == 303
        again = client.post_form(f"/cases/{case.id}/appointments", {"slot_id": str(slot.id)})
        assert again.status_code == 409 and b"booked meanwhile" in again.data
        page = client.get(f"/cases/{case.id}")
        assert b"appointment-state" in page.data and b"Appointment booked" in page.data
        from cases.appointments.models import Appointment

        appointment = db.session.scalar(select(Appointment))
        cancelled = client.post_form(f"/appointments/{appointment.id}/cancel", {})
        assert cancelled.status_code == 303 and "#appointments-card" in cancelled.headers[
            "Location"]
        page = client.get(f"/cases/{case.id}")
        assert b"Appointment cancelled" in page.data
    assert len(_mails("appointment:%:cancel")) == 1


def test_the_psychologist_records_a_no_show_from_my_availability(app, client, case, slot,
                                                                 advisor, psychologist):
    from cases.appointments import operations as ops
    from cases.models import CaseEvent

    with time_machine.travel(NOW, tick=False):
        appointment = ops.book(case, slot, advisor)
        db.session.commit()
    with time_machine.travel(MONDAY_9H + timedelta(minutes=20), tick=True):
        client.sign_in(psychologist)
        page = client.get("/availability")
        assert f'id="record-{appointment.id}"'.encode() in page.data
        answer = client.post_form(f"/appointments/{appointment.id}/outcome",
                                  {"outcome": "no_show", "back": "availability"})
        assert answer.status_code == 303 and "#to-record" in answer.headers["Location"]
    db.session.expire_all()
    assert db.session.get(type(appointment), appointment.id).state == "no_show"
    assert db.session.scalar(select(CaseEvent.id).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "appointment_no_show"))


def test_the_psychology_queue_shows_the_next_free_slot(app, client, slot, psychologist):
    with time_machine.travel(NOW, tick=True):
        client.sign_in(psychologist)
        page = client.get("/queues/psychology").get_data(as_text=True)
    assert 'id="next-free-slot"' in page and "Anne Lenoir" in page


def test_the_dashboard_counts_slots_offered_booked_and_missed(app, case, slot, advisor,
                                                              psychologist):
    from cases.appointments import operations as ops
    from cases.reporting.anonymise import anonymised
    from cases.reporting.figures import appointments_section
    from cases.reporting.periods import Period
    from triage.calendar import get_calendar

    with time_machine.travel(NOW, tick=False):
        ops.publish_slot(psychologist, MONDAY_9H + timedelta(hours=2), 50, "phone", ["fr"])
        appointment = ops.book(case, slot, advisor)
        db.session.commit()
    ops.record_outcome(appointment, "no_show", psychologist, now=MONDAY_9H)
    db.session.commit()
    period = Period(date(2026, 1, 1), date(2026, 1, 31), get_calendar().tz)
    section = appointments_section(period, NOW)
    assert section == {"offered": 2, "booked": 1, "attended": 0, "missed": 1, "cancelled": 0}
    shown = anonymised({"appointments": section}, k=5)["appointments"]
    assert shown["offered"] == 2 and shown["missed"] is None and shown["booked"] is None
