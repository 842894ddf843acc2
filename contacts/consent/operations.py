"""Every change of a person's consents, and the questions other parts ask of them.

- `record_consent` writes a person's answer (yes or no) for one purpose, with the text
  version they were given, the channel and who recorded it. A **no while a yes stands is
  a withdrawal** of that yes (one rule: the UI's "Withdraw" button and the API's
  `granted: false` end the same way).
- `withdraw_consent` withdraws the standing yes of a purpose.
- `has_consent(person_id, purpose)`: the purpose's newest row is a yes not withdrawn. A
  person with **no row** for a purpose has not consented (nothing new is sent or shared
  on their behalf; what was done before consents existed is not undone).
- `consents_of(person_id)`: {purpose: newest row or None} in `PURPOSES` order.

Each change writes its audit row (object "person", the person's data) in the caller's
transaction and a log line without personal data.
"""

import logging

from babel.numbers import format_currency
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from cellule import audit
from cellule.extensions import db
from cellule.types import utcnow

from . import texts
from .models import CHANNELS, PURPOSES, Consent

__all__ = ["CHANNELS", "PURPOSES", "ConsentError", "record_consent", "withdraw_consent",
           "has_consent", "consents_of", "history_of", "latest", "current_text_version",
           "record_paid_coaching"]

log = logging.getLogger(__name__)


class ConsentError(ValueError):
    """A refused consent change, with field names mapped to English messages."""

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


def current_text_version(purpose):
    """The text version new consents for `purpose` are given on."""
    return texts.CURRENT[purpose]


def _check(purpose, channel, text_version=None):
    errors = {}
    if purpose not in PURPOSES:
        errors["purpose"] = "one of " + ", ".join(PURPOSES)
    if channel not in CHANNELS:
        errors["channel"] = "one of " + ", ".join(CHANNELS)
    if text_version is not None and purpose in PURPOSES \
            and texts.purpose_of(text_version) != purpose:
        errors["text_version"] = f"not a text of {purpose}"
    if errors:
        raise ConsentError("invalid consent", errors)


def latest(person_id, purpose):
    """The newest row of a person's purpose, or None."""
    return db.session.scalar(
        select(Consent).where(Consent.person_id == person_id, Consent.purpose == purpose)
        .order_by(Consent.recorded_at.desc(), Consent.id.desc()).limit(1))


def has_consent(person_id, purpose):
    """True when the person's newest answer for `purpose` is a yes not withdrawn."""
    row = latest(person_id, purpose)
    return row is not None and row.active


def record_consent(person, purpose, *, granted, channel, text_version, actor, at=None,
                   detail=None):
    """Record the person's answer for `purpose`; return the row. A no while a yes
    stands withdraws that yes (and returns it, withdrawn)."""
    _check(purpose, channel, text_version)
    granted = bool(granted)
    current = latest(person.id, purpose)
    if not granted and current is not None and current.active:
        return withdraw_consent(person, purpose, actor=actor, channel=channel, at=at)
    row = Consent(person_id=person.id, purpose=purpose, granted=granted, channel=channel,
                  text_version=text_version, detail=detail or None, recorded_by_id=actor.id,
                  recorded_at=at or utcnow())
    db.session.add(row)
    db.session.flush()
    audit.record("update", "person", person.id,
                 {"consent": row.id, "purpose": purpose, "granted": granted,
                  "channel": channel, "text_version": text_version}, user=actor)
    log.info("person %s: consent %s for %s recorded (%s)", person.id, row.id, purpose,
             "yes" if granted else "no")
    return row


def withdraw_consent(person, purpose, *, actor, channel, at=None):
    """Withdraw the person's standing yes for `purpose`; return the withdrawn row. A
    ConsentError names the purpose when no yes stands."""
    _check(purpose, channel)
    row = latest(person.id, purpose)
    if row is None or not row.active:
        raise ConsentError("nothing to withdraw", {"purpose": "no consent to withdraw"})
    row.withdrawn_at = at or utcnow()
    row.withdrawn_by_id = actor.id
    row.withdrawal_channel = channel
    db.session.flush()
    audit.record("update", "person", person.id,
                 {"consent": row.id, "purpose": purpose, "withdrawn": True,
                  "channel": channel}, user=actor)
    log.info("person %s: consent %s for %s withdrawn", person.id, row.id, purpose)
    return row


def price_shown(resource_name, price_cents, language):
    """What a paid coaching consent names: the resource and its price per session, as
    the person heard it ("Coach X: 45,00 € a session" in their language)."""
    amount = format_currency(price_cents / 100, "EUR", locale=language or "fr")
    return f"{resource_name}: {amount}"[:200]


def record_paid_coaching(person, *, resource_name, price_cents, actor, at=None):
    """A paid referral's price accepted (cases.operations.add_referral asks it): also the
    person's `paid_coaching` consent, with the price shown; the advisor read it out."""
    return record_consent(person, "paid_coaching", granted=True, channel="oral",
                          text_version=current_text_version("paid_coaching"), actor=actor,
                          at=at, detail=price_shown(resource_name, price_cents,
                                                    person.language))


def history_of(person_id):
    """Every consent row of the person, newest first, with who recorded and withdrew."""
    return list(db.session.scalars(
        select(Consent).where(Consent.person_id == person_id)
        .options(joinedload(Consent.recorded_by), joinedload(Consent.withdrawn_by))
        .order_by(Consent.recorded_at.desc(), Consent.id.desc())))


def consents_of(person_id, history=None):
    """{purpose: newest row or None} for every purpose, in `PURPOSES` order (one query;
    pass `history_of`'s rows to reuse them)."""
    rows = history_of(person_id) if history is None else history
    state = dict.fromkeys(PURPOSES)
    for row in rows:  # newest first: the first row of a purpose is its state
        if state.get(row.purpose) is None:
            state[row.purpose] = row
    return state


def move_consents(loser_id, winner_id):
    """A merge: the loser's consent rows become the winner's (their dates keep the
    newest answer the state)."""
    db.session.execute(db.update(Consent).where(Consent.person_id == loser_id)
                       .values(person_id=winner_id))
