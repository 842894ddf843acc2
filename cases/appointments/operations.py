"""The appointments' changes, each audited: publishing slots (one, or a weekly pattern),
removing a free one, booking a slot for a case, cancelling, recording attended or no-show,
the reminder 24 hours before.

- Slots are a psychologist's own: starts in the future and within a year, 15 to 180
  minutes, never overlapping another open slot of theirs. A weekly pattern gives local
  times in the cell's zone (Europe/Brussels), stored as UTC (a summer Monday 09:00 and a
  winter one are both 09:00 on the wall).
- Booking: a free, future slot for a case naming a person; the slot is booked at most once
  at a time by the partial unique index (`models`): a concurrent second booking fails in
  the database and is `SlotTaken` (409). The person gets the confirmation in their language
  with the invitation (`ics`, METHOD:REQUEST) through the outbox; the reminder is planned
  24 hours before the start (none when booked later than that).
- Cancelling (the cell) frees the slot and mails METHOD:CANCEL with the same UID,
  SEQUENCE + 1; the psychologist records attended or no-show once the slot started.
- `send_reminders` (the `remind_appointments` sweep) mails each due reminder once: under a
  row lock, `reminder_sent_at` set in the transaction that requests the mail (keyed).
"""

import logging
import uuid
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from cellule import audit
from cellule.extensions import db
from cellule.mailer import send_mail
from cellule.roles import PSYCHOLOGIST, SUPERVISOR
from cellule.types import utcnow
from triage.calendar import get_calendar

from .. import operations as ops
from . import texts
from .models import (
    LANGUAGES,
    MAX_MINUTES,
    MIN_MINUTES,
    MODES,
    OUTCOMES,
    Appointment,
    Slot,
)

log = logging.getLogger(__name__)

NEED = "book_appointment"  # the case action (cases.access)
HORIZON = timedelta(days=366)
REMINDER_BEFORE = timedelta(hours=24)
MAX_PATTERN_SLOTS = 60


class SlotRefused(ops.OperationError):
    """Slots that cannot be published or removed (fields name why)."""


class BookingRefused(ops.OperationError):
    """An appointment that cannot be booked or changed (fields name why)."""


class SlotTaken(BookingRefused):
    """The slot is booked already (a 409)."""


# --------------------------------------------------------------------------- slots


def _check_slot_values(minutes, mode, languages):
    fields = {}
    if not isinstance(minutes, int) or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        fields["minutes"] = f"between {MIN_MINUTES} and {MAX_MINUTES} minutes"
    if mode not in MODES:
        fields["mode"] = "one of " + ", ".join(MODES)
    if not languages or any(code not in LANGUAGES for code in languages):
        fields["languages"] = "one or more of " + ", ".join(LANGUAGES)
    return fields


def _check_starts(starts, now, field="starts_at"):
    if starts <= now:
        return {field: "in the future"}
    if starts > now + HORIZON:
        return {field: "within a year"}
    return {}


def _overlaps(psychologist_id, spans):
    """The spans [(start, end)] that overlap an open slot of the psychologist's."""
    if not spans:
        return []
    first, last = min(s for s, _ in spans), max(e for _, e in spans)
    taken = db.session.execute(select(Slot.starts_at, Slot.ends_at).where(
        Slot.psychologist_id == psychologist_id, Slot.state == "open",
        Slot.starts_at < last, Slot.ends_at > first)).all()
    return [(s, e) for s, e in spans if any(s < te and e > ts for ts, te in taken)]


def _create(psychologist, spans, minutes, mode, languages):
    slots = [Slot(psychologist_id=psychologist.id, starts_at=s, ends_at=e, minutes=minutes,
                  mode=mode, languages=",".join(sorted(set(languages))))
             for s, e in spans]
    db.session.add_all(slots)
    db.session.flush()
    audit.record("create", "appointment_slot", slots[0].id,
                 {"slots": [s.id for s in slots], "mode": mode, "minutes": minutes},
                 user=psychologist)
    log.info("psychologist %s published %d slot(s)", psychologist.id, len(slots))
    return slots


def publish_slot(psychologist, starts_at, minutes, mode, languages, now=None):
    """Publish one slot of `psychologist`; return it. SlotRefused names why not."""
    now = now or utcnow()
    fields = _check_slot_values(minutes, mode, languages)
    if starts_at is None or starts_at.tzinfo is None:
        fields["starts_at"] = "a date and time with its offset"
    else:
        fields.update(_check_starts(starts_at, now))
    if psychologist.role != PSYCHOLOGIST:
        fields["psychologist"] = "only psychologists publish slots"
    if fields:
        raise SlotRefused("cannot publish", fields)
    span = (starts_at, starts_at + timedelta(minutes=minutes))
    if _overlaps(psychologist.id, [span]):
        raise SlotRefused("overlap", {"starts_at": "overlaps another of your slots"})
    return _create(psychologist, [span], minutes, mode, languages)[0]


def publish_weekly(psychologist, weekday, start, minutes, mode, languages, first, last,
                   now=None):
    """Publish a slot at `start` (local time) every `weekday` (0 = Monday) from `first`
    to `last` (dates); return the slots. SlotRefused names why not."""
    now = now or utcnow()
    tz = get_calendar().tz
    fields = _check_slot_values(minutes, mode, languages)
    if not isinstance(weekday, int) or not 0 <= weekday <= 6:
        fields["weekday"] = "0 (Monday) to 6 (Sunday)"
    if not isinstance(start, time):
        fields["start"] = "a time of day"
    today = now.astimezone(tz).date()
    limit = (now + HORIZON).astimezone(tz).date()
    if not isinstance(first, date) or not today <= first <= limit:
        fields["first"] = "from today to a year ahead"
    if not isinstance(last, date) or not today <= last <= limit:
        fields["last"] = "from today to a year ahead"
    elif "first" not in fields and last < first:
        fields["last"] = "on or after the first day"
    if psychologist.role != PSYCHOLOGIST:
        fields["psychologist"] = "only psychologists publish slots"
    if fields:
        raise SlotRefused("cannot publish", fields)
    spans = []
    day = first + timedelta(days=(weekday - first.weekday()) % 7)
    while day <= last:
        starts = datetime.combine(day, start, tz).astimezone(UTC)
        if now < starts <= now + HORIZON:
            spans.append((starts, starts + timedelta(minutes=minutes)))
        day += timedelta(days=7)
    if not spans:
        raise SlotRefused("none", {"first": "no such weekday in the future in these dates"})
    if len(spans) > MAX_PATTERN_SLOTS:
        raise SlotRefused("too many", {"last": f"at most {MAX_PATTERN_SLOTS} slots at once"})
    if _overlaps(psychologist.id, spans):
        raise SlotRefused("overlap", {"start": "overlaps another of your slots"})
    return _create(psychologist, spans, minutes, mode, languages)


def _booked(slot_id):
    return exists().where(Appointment.slot_id == slot_id, Appointment.state != "cancelled")


def booked_slot_ids(slot_ids):
    """Which of these slots are booked (one query)."""
    if not slot_ids:
        return set()
    return set(db.session.scalars(select(Appointment.slot_id).where(
        Appointment.slot_id.in_(slot_ids), Appointment.state != "cancelled")))


def is_free(slot):
    return slot.state == "open" and not db.session.scalar(select(_booked(slot.id)))


def remove_slot(slot, actor):
    """Remove a free slot of the actor's (a booked one must be cancelled first)."""
    if slot.psychologist_id != actor.id:
        raise SlotRefused("not yours", {"slot": "not one of your slots"})
    if not is_free(slot):
        raise SlotRefused("booked", {"slot": "booked: cancel the appointment first"})
    slot.state = "removed"
    audit.record("update", "appointment_slot", slot.id, {"state": "removed"}, user=actor)
    log.info("slot %s removed", slot.id)


def free_slots_query(psychologist_id=None, start=None, end=None, free=True, mode=None,
                     language=None):
    """The open slots (free ones with `free`), soonest first."""
    query = select(Slot).where(Slot.state == "open")
    if psychologist_id is not None:
        query = query.where(Slot.psychologist_id == psychologist_id)
    if start is not None:
        query = query.where(Slot.starts_at >= start)
    if end is not None:
        query = query.where(Slot.starts_at < end)
    if mode:
        query = query.where(Slot.mode == mode)
    if language:
        query = query.where(Slot.languages.contains(language))
    if free:
        query = query.where(~_booked(Slot.id))
    return query.order_by(Slot.starts_at, Slot.id)


def next_free_slot(now=None):
    """The soonest free slot (the psychology queue shows it), or None."""
    return db.session.scalar(free_slots_query(start=now or utcnow()).limit(1))


# --------------------------------------------------------------------------- appointments


def book(case, slot, actor, now=None):
    """Book `slot` for `case`; return the appointment. SlotTaken when it is booked (also
    by a concurrent request: the unique index), BookingRefused for other reasons."""
    now = now or utcnow()
    fields = {}
    if case.person is None:
        fields["case"] = "the case names nobody yet"
    if slot is None or slot.state != "open":
        fields["slot_id"] = "no such slot"
    elif slot.starts_at <= now:
        fields["slot_id"] = "the slot is past"
    if fields:
        raise BookingRefused("cannot book", fields)
    language = case.person.language if case.person.language in LANGUAGES else "fr"
    reminder = slot.starts_at - REMINDER_BEFORE
    appointment = Appointment(
        slot_id=slot.id, case_id=case.id, uid=f"{uuid.uuid4()}@{_domain()}",
        language=language, booked_at=now, booked_by_id=actor.id,
        reminder_due_at=reminder if reminder > now else None)
    try:
        with db.session.begin_nested():
            db.session.add(appointment)
            db.session.flush()
    except IntegrityError:
        raise SlotTaken("taken", {"slot_id": "the slot is booked already"}) from None
    ops.add_event(case, "appointment_booked", actor, appointment=appointment.id,
                  starts_at=slot.starts_at.isoformat(), mode=slot.mode)
    audit.record("create", "appointment", appointment.id,
                 {"case_id": case.id, "slot_id": slot.id}, user=actor)
    _mail(appointment, "invite", texts.confirmation(appointment), "appointment_invite")
    log.info("case %s: appointment %s on slot %s", case.id, appointment.id, slot.id)
    return appointment


def _domain():
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    return sender.rpartition("@")[2].strip(">").strip() or "cellule"


def _mail(appointment, kind, words, attachment=None):
    person = appointment.case.person
    if person is None or not person.email:
        return None
    subject, body = words
    return send_mail(person.email, subject, body, key=f"appointment:{appointment.id}:{kind}",
                     person_id=person.id, case_id=appointment.case_id,
                     attachment=f"{attachment}:{appointment.id}" if attachment else None)


def may_change(user, appointment):
    """The cell cancels: the slot's psychologist, a supervisor, an advisor who may book."""
    return appointment.slot.psychologist_id == user.id or user.role in (SUPERVISOR, "advisor")


def cancel(appointment, actor, now=None):
    """Cancel a booked appointment: the slot is free again; the person gets METHOD:CANCEL."""
    if appointment.state != "booked":
        raise BookingRefused("not booked", {"appointment": "not booked"})
    appointment.state, appointment.cancelled_at = "cancelled", now or utcnow()
    appointment.cancelled_by_id = actor.id
    appointment.sequence += 1
    ops.add_event(appointment.case, "appointment_cancelled", actor, appointment=appointment.id)
    audit.record("update", "appointment", appointment.id,
                 {"state": "cancelled", "sequence": appointment.sequence}, user=actor)
    db.session.flush()
    _mail(appointment, "cancel", texts.cancellation(appointment), "appointment_cancel")
    log.info("appointment %s cancelled", appointment.id)


def record_outcome(appointment, outcome, actor, now=None):
    """The slot's psychologist records whether the person came, once the slot started."""
    now = now or utcnow()
    fields = {}
    if outcome not in OUTCOMES:
        fields["outcome"] = "one of " + ", ".join(OUTCOMES)
    if appointment.slot.psychologist_id != actor.id:
        fields["appointment"] = "only the appointment's psychologist records it"
    elif appointment.state != "booked":
        fields["appointment"] = "not booked"
    elif appointment.slot.starts_at > now:
        fields["appointment"] = "not started yet"
    if fields:
        raise BookingRefused("cannot record", fields)
    appointment.state, appointment.outcome_at, appointment.outcome_by_id = outcome, now, actor.id
    ops.add_event(appointment.case, f"appointment_{outcome}", actor, appointment=appointment.id)
    audit.record("update", "appointment", appointment.id, {"state": outcome}, user=actor)
    log.info("appointment %s: %s", appointment.id, outcome)


def case_appointments(case_id):
    return db.session.scalars(
        select(Appointment).where(Appointment.case_id == case_id)
        .options(joinedload(Appointment.slot).joinedload(Slot.psychologist))
        .order_by(Appointment.booked_at.desc(), Appointment.id.desc())).all()


def to_record(psychologist_id, now, days=14):
    """The psychologist's booked appointments that started in the last `days` days: whether
    the person came is theirs to record (oldest first)."""
    return db.session.scalars(
        select(Appointment).join(Slot, Slot.id == Appointment.slot_id)
        .where(Slot.psychologist_id == psychologist_id, Appointment.state == "booked",
               Slot.starts_at <= now, Slot.starts_at > now - timedelta(days=days))
        .options(joinedload(Appointment.slot))
        .order_by(Slot.starts_at).limit(50)).all()


# --------------------------------------------------------------------------- reminders


def due_reminders(now, limit=200):
    return list(db.session.scalars(
        select(Appointment.id).join(Slot, Slot.id == Appointment.slot_id)
        .where(Appointment.state == "booked", Appointment.reminder_sent_at.is_(None),
               Appointment.reminder_due_at <= now, Slot.starts_at > now)
        .order_by(Appointment.reminder_due_at, Appointment.id).limit(limit)))


def send_reminders(now=None):
    """Mail every reminder due, once each; return how many (each committed here)."""
    now = now or utcnow()
    sent = 0
    for appointment_id in due_reminders(now):
        appointment = db.session.scalar(
            select(Appointment).where(Appointment.id == appointment_id,
                                      Appointment.reminder_sent_at.is_(None),
                                      Appointment.state == "booked").with_for_update())
        if appointment is not None:
            appointment.reminder_sent_at = now
            mail = _mail(appointment, "reminder", texts.reminder(appointment))
            audit.record("send", "appointment", appointment.id,
                         {"reminder": True, "mail": mail.id if mail else None})
            sent += 1
        db.session.commit()
    return sent

