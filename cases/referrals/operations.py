"""Every change of a referral's life, each audited and logged (DESIGN §10).

- `record_first_steps`: a new referral's first dated steps (`proposed`; a paid one whose
  price the person accepted is `accepted` at once) — subscribed to
  `cases.signals.referral_added`, so the core's `add_referral` callers (the triage's
  proposal, the case page) keep working unchanged.
- `step(referral, state, ...)`: the next step, when `models.NEXT` allows it (else
  `WrongStep`: a 409 naming the allowed steps) and when the consent it needs is there
  (`sent` needs `share_partner`, else `ConsentMissing`: a 409 naming it). `sent` hands the
  pack over: by email through the outbox (once: the mail's key is the referral's), or
  printed (`handover_pack` gives the print page's content).
- `remind_late`: the sweep's work — a reminder task for the case's assignee when a step
  waits longer than its business days (`models.WAITING`); once per step.
"""

import logging

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from cellule import audit, limits
from cellule.extensions import db
from cellule.forms import LANGUAGE_NAMES
from cellule.mailer import send_mail
from cellule.types import utcnow
from contacts.consent.operations import has_consent
from contacts.models import Person
from triage.calendar import get_calendar

from .. import operations as ops
from ..models import Case, Referral, Task
from .models import (
    CHANNELS,
    CONSENT_FOR,
    NEXT,
    REMINDER_CODES,
    REMINDER_TITLES,
    STATES,
    WAITING,
    ReferralEvent,
)

log = logging.getLogger(__name__)
BATCH = 200


class StepRefused(ops.OperationError):
    """A step that cannot be recorded as asked (a 422: the fields say why)."""


class WrongStep(ops.OperationError):
    """The step may not follow the referral's state (a 409 naming the allowed steps)."""

    def __init__(self, referral):
        self.allowed = list(NEXT[referral.state])
        super().__init__("this step may not follow " + referral.state, {
            "state": "allowed next: " + (", ".join(self.allowed) or "none (closed)")})


class ConsentMissing(ops.OperationError):
    """The step needs a consent the person has not given (a 409 naming it)."""

    def __init__(self, purpose):
        self.purpose = purpose
        super().__init__(f"the person's {purpose} consent is missing", {"consent": purpose})


def record_first_steps(sender=None, *, referral, actor, **extra):
    """The new referral's first dated steps (its state was set by `add_referral`)."""
    db.session.add(ReferralEvent(referral_id=referral.id, state="proposed",
                                 at=referral.created_at, actor_id=actor.id))
    if referral.state == "accepted":
        db.session.add(ReferralEvent(referral_id=referral.id, state="accepted",
                                     at=referral.consent_at or referral.created_at,
                                     actor_id=actor.id, note="price accepted"))
    referral.state_at = referral.consent_at or referral.created_at


def events_of(referral_ids):
    """{referral id: [its steps, oldest first]} in one query."""
    found = {rid: [] for rid in referral_ids}
    if found:
        for event in db.session.scalars(select(ReferralEvent).where(
                ReferralEvent.referral_id.in_(list(found)))
                .options(joinedload(ReferralEvent.actor))
                .order_by(ReferralEvent.referral_id, ReferralEvent.id)):
            found[event.referral_id].append(event)
    return found


def allowed_next(referral):
    return NEXT[referral.state]


def person_of(referral):
    """The person the referral is about (the case's, else the triage run's), or None."""
    if referral.person_id is None:
        return None
    return db.session.get(Person, referral.person_id)


def consent_refusal(referral, state):
    """The consent purpose that stands in the way of `state`, or None."""
    purpose = CONSENT_FOR.get(state)
    if purpose is None:
        return None
    if referral.person_id is None or not has_consent(referral.person_id, purpose):
        return purpose
    return None


def _check(referral, state, at, note, channel, now):
    fields = {}
    if state not in STATES:
        fields["state"] = "one of " + ", ".join(STATES)
    if limits.too_long(note, limits.REASON):
        fields["note"] = limits.at_most(limits.REASON)
    if at > now:
        fields["at"] = "not in the future"
    elif referral.state_at is not None and at < referral.state_at:
        fields["at"] = "not before the previous step"
    if channel is not None and (channel not in CHANNELS or state != "sent"):
        fields["channel"] = "email or print, for the step sent only"
    if fields:
        raise StepRefused("invalid step", fields)
    if state not in NEXT[referral.state]:
        raise WrongStep(referral)
    purpose = consent_refusal(referral, state)
    if purpose:
        raise ConsentMissing(purpose)


def step(referral, state, actor, *, at=None, note=None, channel=None):
    """Record the referral's next step; return its event. `sent` hands the pack over by
    `channel` (default: email when the partner has an address, else print)."""
    now = utcnow()
    at = at or now
    note = (note or "").strip() or None
    _check(referral, state, at, note, channel, now)
    if state == "sent":
        channel = channel or ("email" if referral.resource.email else "print")
        if channel == "email" and not referral.resource.email:
            raise StepRefused("no address", {"channel": "the partner has no email address"})
    before = referral.state
    won = db.session.execute(
        update(Referral).where(Referral.id == referral.id, Referral.state == before)
        .values(state=state, state_at=at, reminder_due_at=_reminder_due(state, at))
        .execution_options(synchronize_session="evaluate")).rowcount
    if not won:  # someone recorded another step a moment ago
        db.session.refresh(referral)
        raise WrongStep(referral)
    event = ReferralEvent(referral_id=referral.id, state=state, at=at, actor_id=actor.id,
                          note=note, channel=channel)
    db.session.add(event)
    if state == "sent":
        _hand_over(referral, channel, actor)
    case = db.session.get(Case, referral.case_id) if referral.case_id else None
    if case is not None:
        ops.add_event(case, "referral_step", actor, referral_id=referral.id,
                      resource=referral.resource.name, state=state, previous=before)
        _end_reminders(case, referral, before, actor)
    audit.record("update", "referral", referral.id, {"state": state, "before": before},
                 user=actor)
    log.info("referral %s: %s -> %s", referral.id, before, state)
    return event


def _reminder_due(state, at):
    setting = WAITING.get(state)
    if setting is None:
        return None
    return get_calendar().end_of_business_day(at, current_app.config[setting])


# --------------------------------------------------------------------------- handover


def handover_pack(referral):
    """What the partner receives — only what `share_partner` allows: the person's name,
    contact details, language, a few words of reason, and the cell's reference.
    ConsentMissing without the consent."""
    purpose = consent_refusal(referral, "sent")
    if purpose:
        raise ConsentMissing(purpose)
    person = person_of(referral)
    case = db.session.get(Case, referral.case_id) if referral.case_id else None
    return {"name": person.name, "phone": person.phone, "email": person.email,
            "language": person.language, "reason": referral.note,
            "reference": case.reference if case else None,
            "partner": referral.resource.name}


def _partner_language(resource):
    languages = [lang for lang in (resource.languages or []) if lang in ("fr", "nl", "de", "en")]
    return languages[0] if languages else "fr"


def pack_text(pack, language):
    """The pack as the email's subject and body, in the partner's language."""
    with force_locale(language):
        subject = _("A person referred by the Cellule: %(name)s", name=pack["name"])
        language_name = LANGUAGE_NAMES.get(pack["language"], pack["language"])
        lines = [_("Hello,"), "",
                 _("With their consent, the Cellule refers this person to %(partner)s.",
                   partner=pack["partner"]), "",
                 _("Name: %(value)s", value=pack["name"]),
                 _("Phone: %(value)s", value=pack["phone"] or "—"),
                 _("Email: %(value)s", value=pack["email"] or "—"),
                 _("Language: %(value)s", value=language_name),
                 _("Reason: %(value)s", value=pack["reason"] or "—")]
        if pack["reference"]:
            lines.append(_("Our reference: %(value)s", value=pack["reference"]))
        lines += ["", _("Please confirm to us by answering this email once you have "
                        "contacted the person.")]
        return str(subject), "\n".join(str(line) for line in lines)


def _hand_over(referral, channel, actor):
    """The pack given to the partner: emailed once through the outbox, or printed."""
    pack = handover_pack(referral)
    if channel == "email":
        subject, body = pack_text(pack, _partner_language(referral.resource))
        send_mail(referral.resource.email, subject, body, key=f"referral-pack:{referral.id}",
                  case_id=referral.case_id, created_by_id=actor.id)
    audit.record("handover", "referral", referral.id,
                 {"channel": channel, "resource_id": referral.resource_id}, user=actor)


def printed(referral, actor):
    """The print page was shown: audited (the step `sent` is recorded by its button)."""
    pack = handover_pack(referral)
    audit.record("handover", "referral", referral.id,
                 {"channel": "print", "printed": True, "resource_id": referral.resource_id},
                 user=actor)
    return pack


# --------------------------------------------------------------------------- lists


def partner_rows(resource_id=None, state=None, limit=50):
    """The referrals of cases to the directory's resources, newest first, narrowed to one
    partner and one state (a value that is not one is ignored); resources and cases come
    in the same query."""
    query = (select(Referral).where(Referral.case_id.is_not(None))
             .options(joinedload(Referral.resource), joinedload(Referral.case))
             .order_by(Referral.id.desc()).limit(limit))
    if resource_id and str(resource_id).isdigit():
        query = query.where(Referral.resource_id == int(resource_id))
    if state in STATES:
        query = query.where(Referral.state == state)
    return db.session.scalars(query).all()


# --------------------------------------------------------------------------- reminders


def remind_late(now=None):
    """A reminder task for the case's assignee on each referral waiting past its step's
    business days; once per step (the due time is cleared by a conditional UPDATE in the
    task's transaction). Return how many tasks were made."""
    now = now or utcnow()
    made = 0
    late = db.session.scalars(
        select(Referral).where(Referral.reminder_due_at.is_not(None),
                               Referral.reminder_due_at <= now)
        .order_by(Referral.reminder_due_at, Referral.id).limit(BATCH)).all()
    for referral in late:
        due, state = referral.reminder_due_at, referral.state
        won = db.session.execute(
            update(Referral).where(Referral.id == referral.id, Referral.reminder_due_at == due,
                                   Referral.state == state)
            .values(reminder_due_at=None).execution_options(synchronize_session=False)
        ).rowcount
        if won and state in REMINDER_CODES:
            made += _reminder_task(referral, state)
        db.session.commit()
    return made


def _reminder_task(referral, state):
    case = db.session.get(Case, referral.case_id) if referral.case_id else None
    if case is None or case.assignee is None:
        return 0  # nobody to remind (a triage run's referral, an unclaimed case)
    task = ops.create_task(title=REMINDER_TITLES[state], kind="custom", code=REMINDER_CODES[state],
                           actor=None, assignee=case.assignee, case=case, due_at=utcnow())
    log.info("referral %s late at %s: task %s", referral.id, state, task.id)
    return 1


def _end_reminders(case, referral, left, actor):
    """The step `left` is over: its reminder tasks on the case are done, unless another
    referral of the case still waits at that step (a reminder names the step, not the
    referral)."""
    code = REMINDER_CODES.get(left)
    if code is None:
        return
    waiting = db.session.scalar(select(Referral.id).where(
        Referral.case_id == case.id, Referral.id != referral.id, Referral.state == left)
        .limit(1))
    if waiting is not None:
        return
    for task in db.session.scalars(select(Task).where(
            Task.case_id == case.id, Task.status == "open", Task.code == code)):
        ops.finish_task(task, actor)


def open_reminders(case_id):
    """The case's open reminder tasks (a step recorded ends its own: `_end_reminders`)."""
    return db.session.scalars(select(Task).where(
        Task.case_id == case_id, Task.status == "open",
        Task.code.in_(list(REMINDER_CODES.values())))).all()
