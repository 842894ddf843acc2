"""The caring messages' changes, each audited: starting a series, stopping it, sending
its messages when they fall due.

- Start (`start_series`): an advisor, psychologist or supervisor of the case's team, with
  the person's `caring_messages` consent (contacts.consent) and an email address; one
  series per case. Its messages are planned `CELLULE_CARING_MONTHS` months after the start
  (default `models.MONTHS`), each due by the follow-up protocol's rule for long delays
  (`followup.operations.due_for`: the first opening of its planned day, or of the next
  business day).
- Stop (`stop_series`): any time; the messages still planned are cancelled.
- Send (`send_due`, the `send_caring_messages` job): while the cell is open, each message
  due is sent through the mailer's outbox (`send_mail`, one mail per message by its key)
  and filed at once as an outbound email contact of the person linked to the case, with
  the mail's Message-ID, so that the person's answer threads back to the case
  (`contacts.mail_thread`, `cases.email_threads`). A message due while the cell is closed
  goes at the next opening. The consent is read again at sending: withdrawn, the series
  stops (`consent_withdrawn`) and nothing more is sent. Re-runs send nothing twice: a
  message is sent only from `scheduled`, under a row lock, in the transaction that
  requests its mail.
"""

import calendar as month_calendar
import logging
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import case as sa_case
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from cellule import audit, limits
from cellule.extensions import db
from cellule.mailer import send_mail
from cellule.types import utcnow
from contacts import operations as contact_ops
from contacts.consent.operations import has_consent
from contacts.reply_templates import crisis_numbers_text
from triage.calendar import get_calendar

from .. import operations as ops
from ..followup.models import FollowUpProtocol
from ..followup.operations import due_for
from ..models import Case
from . import texts
from .models import LANGUAGES, MONTHS, STOP_REASONS, CaringMessage, CaringSeries

log = logging.getLogger(__name__)

PURPOSE = "caring_messages"
NEED = "caring_messages"  # the case action (cases.access)
BATCH = 200
HAND_STOP_REASONS = tuple(r for r in STOP_REASONS if r != "consent_withdrawn")


class SeriesRefused(ops.OperationError):
    """A series that cannot start or stop (fields name why: consent, email, state)."""


def months_for():
    """The months after the start at which a message goes: the configuration, else MONTHS."""
    return tuple(current_app.config.get("CELLULE_CARING_MONTHS") or MONTHS)


def add_months(moment, months, tz):
    """The same local time `months` calendar months later (the 31st → the month's last day)."""
    local = moment.astimezone(tz)
    year, month = divmod(local.month - 1 + months, 12)
    year, month = local.year + year, month + 1
    day = min(local.day, month_calendar.monthrange(year, month)[1])
    return datetime.combine(local.date().replace(year=year, month=month, day=day),
                            local.timetz().replace(tzinfo=None), tz)


def plan(start, months=None, calendar=None):
    """[(months, due_at)] of a series started at `start`."""
    calendar = calendar or get_calendar()
    rows = []
    for n in months or months_for():
        planned = add_months(start, n, calendar.tz)
        due, _gap = due_for(planned, (planned - start).total_seconds() / 3600, calendar)
        rows.append((n, due))
    return rows


def series_of(case_id):
    return db.session.scalar(select(CaringSeries).where(CaringSeries.case_id == case_id))


def start_refusals(case, person=None):
    """{field: English reason} that keeps a series from starting on `case` (empty: none)."""
    person = person if person is not None else case.person
    fields = {}
    if person is None:
        fields["person"] = "the case names nobody"
    else:
        if not person.email:
            fields["email"] = "the person has no email address"
        if not has_consent(person.id, PURPOSE):
            fields["consent"] = "the person's consent to caring messages is not recorded"
    if series_of(case.id) is not None:
        fields["series"] = "the case has caring messages already"
    return fields


def start_series(case, actor, language=None, at=None):
    """Plan the case's caring messages; return the series. SeriesRefused names why not."""
    fields = start_refusals(case)
    language = language or (case.person.language if case.person else None)
    if language not in LANGUAGES:
        fields["language"] = "one of " + ", ".join(LANGUAGES)
    if fields:
        raise SeriesRefused("cannot start", fields)
    at = at or utcnow()
    series = CaringSeries(case_id=case.id, language=language, started_at=at,
                          started_by_id=actor.id)
    db.session.add(series)
    db.session.flush()
    planned = plan(at)
    db.session.add_all([CaringMessage(series_id=series.id, number=i, months=n, due_at=due)
                        for i, (n, due) in enumerate(planned, start=1)])
    ops.add_event(case, "caring_started", actor, messages=len(planned))
    audit.record("create", "caring_series", series.id,
                 {"case_id": case.id, "messages": len(planned), "language": language},
                 user=actor)
    log.info("case %s: caring series %s, %d messages", case.id, series.id, len(planned))
    return series


def stop_series(series, reason, note, actor, at=None):
    """Stop the series (its planned messages are cancelled); `actor` None: the system."""
    note = (note or "").strip() or None
    fields = {}
    allowed = STOP_REASONS if actor is None else HAND_STOP_REASONS
    if reason not in allowed:
        fields["reason"] = "choose one of " + ", ".join(allowed)
    elif reason == "other" and not note:
        fields["note"] = "say why"
    if limits.too_long(note, limits.REASON):
        fields["note"] = limits.at_most(limits.REASON)
    if series.state != "active":
        fields["series"] = "the caring messages are " + series.state + " already"
    if fields:
        raise SeriesRefused("cannot stop", fields)
    at = at or utcnow()
    series.state, series.stop_reason, series.stop_note = "stopped", reason, note
    series.stopped_at, series.stopped_by_id = at, actor.id if actor else None
    cancelled = db.session.execute(
        update(CaringMessage).where(CaringMessage.series_id == series.id,
                                    CaringMessage.state == "scheduled")
        .values(state="cancelled").execution_options(synchronize_session="fetch")).rowcount
    ops.add_event(series.case, "caring_stopped", actor, reason=reason, cancelled=cancelled)
    audit.record("update", "caring_series", series.id,
                 {"state": "stopped", "reason": reason, "cancelled": cancelled}, user=actor)
    log.info("caring series %s stopped (%s), %d cancelled", series.id, reason, cancelled)


# --------------------------------------------------------------------------- the words


def compose(series, number, last=None):
    """(subject, body) of the `number`th message (`last`: of the series; None: look it
    up), in the series' language; its crisis
    lines by `triage.crisis`'s one rule (the crisis panel's: the directory's for the
    language, else the script's, 112 last), as the reply templates give them."""
    if last is None:
        last = number == db.session.scalar(select(func.max(CaringMessage.number)).where(
            CaringMessage.series_id == series.id))
    with force_locale(series.language):
        body = "\n\n".join((
            str(texts.GREETING), str(texts.text_for(number, last)), str(texts.NO_ANSWER_NEEDED),
            str(texts.CRISIS_LINES) + "\n" + crisis_numbers_text(series.language),
            str(texts.SIGNATURE), str(texts.HOW_TO_STOP)))
        return str(texts.SUBJECT), body


# --------------------------------------------------------------------------- sending


def due_ids(now, limit=BATCH):
    """The scheduled messages of active series due at `now`, oldest first."""
    return list(db.session.scalars(
        select(CaringMessage.id).join(CaringSeries, CaringSeries.id == CaringMessage.series_id)
        .where(CaringMessage.state == "scheduled", CaringMessage.due_at <= now,
               CaringSeries.state == "active")
        .order_by(CaringMessage.due_at, CaringMessage.id).limit(limit)))


def send_due(now=None):
    """Send every message due, while the cell is open; return how many were sent. Each
    message is its own transaction (committed here)."""
    now = now or utcnow()
    if not get_calendar().is_open(now):
        return 0  # due while the cell is closed: at the next opening
    sent = 0
    for message_id in due_ids(now):
        sent += send_message(message_id, now) == "sent"
        db.session.commit()
    return sent


def send_message(message_id, now=None):
    """Send one due message, once; return its state after (None: no such message)."""
    message = db.session.scalar(
        select(CaringMessage).where(CaringMessage.id == message_id).with_for_update())
    if message is None or message.state != "scheduled":
        return None if message is None else message.state
    series = message.series
    if series.state != "active":
        message.state = "cancelled"
        return message.state
    case = series.case
    person = case.person
    if person is None or not has_consent(person.id, PURPOSE):
        stop_series(series, "consent_withdrawn", None, None, at=now)
        return "cancelled"
    if not person.email:
        message.state, message.skip_reason = "skipped", "no_email"
        audit.record("update", "caring_message", message.id, {"state": "skipped"})
        _complete_if_last(series, now)
        return message.state
    subject, body = compose(series, message.number)
    mail = send_mail(person.email, subject, body, key=f"caring:{message.id}",
                     person_id=person.id, case_id=case.id)
    contact = contact_ops.create_contact(
        None, channel="email", person=person, direction="out", handled=True,
        email_sender=current_app.config["MAIL_DEFAULT_SENDER"][:320],
        email_subject=mail.subject, email_body=mail.body, email_message_id=mail.message_id)
    mail.contact_id = contact.id  # filed now: the sent-mail hook leaves it
    ops.link_contact(case, contact, None, response=False)  # not a first response
    message.state, message.sent_at = "sent", now
    message.mail_id, message.contact_id = mail.id, contact.id
    audit.record("send", "caring_message", message.id,
                 {"series_id": series.id, "mail": mail.id, "contact": contact.id})
    log.info("caring message %s sent (mail %s)", message.id, mail.id)
    _complete_if_last(series, now)
    return message.state


def _complete_if_last(series, now):
    db.session.flush()
    left = db.session.scalar(select(func.count(CaringMessage.id)).where(
        CaringMessage.series_id == series.id, CaringMessage.state == "scheduled"))
    if not left:
        series.state = "completed"
        audit.record("update", "caring_series", series.id, {"state": "completed"})


def card(case):
    """What the case page's card shows, in three statements at most: the series (with its
    starter) and the case's follow-up state; its messages' counts and next due time; the
    consent, while it runs. `offered`: no series yet, and the case had a safety yes (its
    follow-up protocol) that ended, or the case closed — the card offers it first."""
    series, protocol_state = db.session.execute(
        select(CaringSeries, FollowUpProtocol.state).select_from(Case)
        .outerjoin(CaringSeries, CaringSeries.case_id == Case.id)
        .outerjoin(FollowUpProtocol, FollowUpProtocol.case_id == Case.id)
        .where(Case.id == case.id)
        .options(joinedload(CaringSeries.started_by))).one()
    if series is None:
        return {"series": None, "offered": protocol_state is not None and (
            protocol_state != "active" or not case.is_open)}
    scheduled = CaringMessage.state == "scheduled"
    sent, planned, next_due = db.session.execute(
        select(func.count(CaringMessage.id).filter(CaringMessage.state == "sent"),
               func.count(CaringMessage.id),
               func.min(sa_case((scheduled, CaringMessage.due_at))))
        .where(CaringMessage.series_id == series.id)).one()
    consent = series.state == "active" and case.person_id is not None and has_consent(
        case.person_id, PURPOSE)
    return {"series": series, "offered": False, "sent": sent, "planned": planned,
            "next_due": next_due, "consent": consent}
