"""Every change to people and contacts, each with its audit row and log line.

Operations add to the current transaction and flush; the caller commits (a view,
an API handler, a job), so that a change, its audit row and anything else the
caller writes (an outbox row, a case) commit together or not at all.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, update

from cellule import audit
from cellule.extensions import db
from cellule.types import utcnow
from triage.lexicon import find_red_flags

from . import claims
from .access import survivor, visible_persons
from .models import INBOX_CHANNELS, Contact, Person, ScreenPop
from .normalise import (
    name_key,
    normalise_affiliate_number,
    normalise_email,
    normalise_phone,
    search_text,
)
from .signals import person_merged

log = logging.getLogger(__name__)

PERSON_FIELDS = ("name", "phone", "email", "affiliate_number", "language", "starter", "sector")
# Person.duplicate_status (issue 14, contacts.claims): awaiting the advisors' review, then
# their decision.
DUPLICATE_PENDING, DUPLICATE_KEPT_APART, DUPLICATE_MERGED = "pending", "kept_apart", "merged"
SCREEN_POP_LIFETIME = timedelta(minutes=30)


class MergeError(ValueError):
    """Two records cannot be merged (same record, already merged)."""


class NotPendingDuplicate(ValueError):
    """The record is not (or no longer) awaiting the review of possible duplicates."""


class AmbiguousPerson(ValueError):
    """Several people match the details given; the caller must pick one."""

    def __init__(self, candidates):
        super().__init__("several people match")
        self.candidates = candidates


# --- People ----------------------------------------------------------------


def _apply_person_fields(person, values, user=None):
    """Set the person's fields from cleaned `values`, then refresh the folded copies.

    The affiliate number is compared with the one `user` is shown (contacts.claims): a
    number kept aside for the one who typed it stays aside unless they change it.
    """
    changed = []
    for name in PERSON_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if name == "phone":
            phone = normalise_phone(value)
            if (phone.value if phone else None) != person.phone:
                changed.append(name)
            person.phone = phone.value if phone else None
            person.phone_valid = bool(phone and phone.valid)
            continue
        if name == "email":
            value = normalise_email(value)
        elif name == "affiliate_number":
            value = normalise_affiliate_number(value)
            if value != claims.shown_affiliate_number(person, user):
                changed.append(name)
                person.affiliate_number = value
                if not claims.sees_everyone(user):
                    person.claimed_affiliate_number = None
            continue
        elif name == "name":
            value = " ".join((value or "").split())
        if getattr(person, name) != value:
            changed.append(name)
        setattr(person, name, value)
    person.name_key = name_key(person.name)
    _refresh_search_text(person)
    return changed


def _refresh_search_text(person):
    # A number kept aside is searchable: its typist finds the record by it, as any other.
    person.search_text = search_text(
        person.name, person.phone, person.email,
        person.affiliate_number or person.claimed_affiliate_number,
    )


def _flag_hidden_twins(person, user, changed):
    """For a user who does not see every person: keep aside an affiliate number another
    record holds, and mark the record a possible duplicate of the record it shares a
    number, phone or email with (contacts.claims). Return the audit details, or None.

    Nothing of it changes what the user is answered or shown.
    """
    if claims.sees_everyone(user) or not {"affiliate_number", "phone", "email"} & set(changed):
        return None
    # The number typed is on the record, not yet flushed: the look-ups must not write it.
    with db.session.no_autoflush:
        return _flag(person, user)


def _flag(person, user):
    holder = claims.number_holder(person.affiliate_number, person.id)
    if claims.hides(holder, user):
        person.claimed_affiliate_number, person.affiliate_number = person.affiliate_number, None
    phone = person.phone if person.phone and person.phone.startswith("+") else None
    twin, reasons = claims.hidden_twins(user, person.id, holder, phone, person.email)
    if twin is None:
        return None
    if (person.duplicate_status == DUPLICATE_PENDING
            or person.duplicate_status == DUPLICATE_KEPT_APART
            and person.possible_duplicate_of_id == twin.id):
        return None  # already in the review list, or already told apart from this one
    person.possible_duplicate_of_id = twin.id
    person.duplicate_reasons = reasons
    person.duplicate_status = DUPLICATE_PENDING
    person.duplicate_flagged_at = utcnow()
    person.duplicate_reviewed_at = person.duplicate_reviewed_by_id = None
    return {"possible_duplicate_of": twin.id, "reasons": reasons}


def create_person(user, **values):
    """Add a person; `values` are cleaned fields (see PERSON_FIELDS)."""
    person = Person(created_by_id=user.id if user else None, language="fr", starter=False)
    changed = _apply_person_fields(person, values, user)
    flagged = _flag_hidden_twins(person, user, changed)
    db.session.add(person)
    db.session.flush()
    audit.record("create", "person", person.id, user=user)
    if flagged:
        audit.record("flag_duplicate", "person", person.id, flagged, user=user)
        log.info("person %s flagged as a possible duplicate of %s", person.id,
                 flagged["possible_duplicate_of"])
    log.info("person %s created by user %s", person.id, user.id if user else None)
    return person


def update_person(person, user, **values):
    """Change a person's details; return the names of the fields that changed."""
    changed = _apply_person_fields(person, values, user)
    if changed:
        flagged = _flag_hidden_twins(person, user, changed)
        person.updated_at = utcnow()
        db.session.flush()
        audit.record("update", "person", person.id, {"fields": changed}, user=user)
        if flagged:
            audit.record("flag_duplicate", "person", person.id, flagged, user=user)
            log.info("person %s flagged as a possible duplicate of %s", person.id,
                     flagged["possible_duplicate_of"])
        log.info("person %s updated by user %s", person.id, user.id if user else None)
    return changed


def find_duplicates(user, name=None, phone=None, email=None, affiliate_number=None,
                    exclude_id=None, limit=10):
    """Return [(person, reasons)] of active people `user` sees that look like the same one.

    Reasons are "phone", "email", "affiliate_number" (as `user` knows it: contacts.claims)
    and "name" (same folded name).
    """
    phone = normalise_phone(phone)
    try:
        email = normalise_email(email)
    except ValueError:
        email = None
    affiliate_number = normalise_affiliate_number(affiliate_number)
    key = name_key(name) if name else ""
    tests = []
    if phone:
        tests.append(("phone", Person.phone == phone.value))
    if email:
        tests.append(("email", Person.email == email))
    if affiliate_number:
        tests.append(("affiliate_number", claims.affiliate_number_is(user, affiliate_number)))
    if key:
        tests.append(("name", Person.name_key == key))
    if not tests:
        return []
    stmt = visible_persons(user).where(or_(*(test for _, test in tests)))
    if exclude_id is not None:
        stmt = stmt.where(Person.id != exclude_id)
    people = db.session.scalars(stmt.order_by(Person.id).limit(limit)).all()
    values = {
        "phone": phone.value if phone else None,
        "email": email,
        "affiliate_number": affiliate_number,
        "name": key,
    }
    def value_of(person, reason):
        if reason == "affiliate_number":
            return claims.shown_affiliate_number(person, user)
        return getattr(person, "name_key" if reason == "name" else reason)

    return [(p, [r for r, _ in tests if value_of(p, r) == values[r]]) for p in people]


def find_or_create_person(user, **values):
    """Return (person, created): the one active person `user` sees with the same
    affiliate number, else phone, else email; a new person when none matches.

    Raises AmbiguousPerson when several match the first identifier that matches.
    """
    identifiers = (
        ("affiliate_number", normalise_affiliate_number(values.get("affiliate_number"))),
        ("phone", (normalise_phone(values.get("phone")) or None)),
        ("email", normalise_email(values.get("email"))),
    )
    for field, value in identifiers:
        if not value or (field == "phone" and not value.parsed):
            continue
        if field == "affiliate_number":
            test = claims.affiliate_number_is(user, value)
        else:
            test = getattr(Person, field) == (value.value if field == "phone" else value)
        matches = db.session.scalars(
            visible_persons(user).where(test).order_by(Person.id).limit(5)
        ).all()
        if len(matches) == 1:
            return matches[0], False
        if len(matches) > 1:
            raise AmbiguousPerson(matches)
    return create_person(user, **values), True


def merge_persons(loser, winner, user):
    """Merge `loser` into `winner`: contacts (and, via the signal, cases) move to the
    winner, the winner's empty details are filled from the loser, and the loser stays
    as a pointer. Return the number of contacts moved.
    """
    if loser.id == winner.id:
        raise MergeError("a record cannot be merged with itself")
    if loser.merged_into_id is not None or winner.merged_into_id is not None:
        raise MergeError("one of the records was already merged")
    filled = []
    # The affiliate number is unique: free it on the loser before giving it to the winner.
    if winner.affiliate_number is None and loser.affiliate_number is not None:
        number, loser.affiliate_number = loser.affiliate_number, None
        db.session.flush()
        winner.affiliate_number = number
        filled.append("affiliate_number")
    # A number kept aside (a possible duplicate's: contacts.claims) goes to the winner only
    # if it has none and no other record holds it: else it is someone else's.
    claimed = loser.claimed_affiliate_number
    if winner.affiliate_number is None and claimed and not claims.number_holder(claimed, winner.id):
        winner.affiliate_number = claimed
        filled.append("affiliate_number")
    if winner.claimed_affiliate_number and winner.affiliate_number:
        winner.claimed_affiliate_number = None  # it now has a number of its own
    if not winner.phone and loser.phone:
        winner.phone, winner.phone_valid = loser.phone, loser.phone_valid
        filled.append("phone")
    for name in ("email", "sector"):
        if not getattr(winner, name) and getattr(loser, name):
            setattr(winner, name, getattr(loser, name))
            filled.append(name)
    winner.starter = winner.starter or loser.starter
    _refresh_search_text(winner)
    moved = db.session.execute(
        update(Contact).where(Contact.person_id == loser.id).values(person_id=winner.id)
    ).rowcount
    # A possible duplicate merged with its twin (or merged at all) leaves the review list.
    reviewed = [
        record for record, other in ((loser, winner), (winner, loser))
        if record.duplicate_status == DUPLICATE_PENDING
        and (record is loser or _twin(record).id == other.id)
    ]
    now = utcnow()
    loser.merged_into_id = winner.id
    loser.merged_at = now
    loser.merged_by_id = user.id if user else None
    winner.updated_at = now
    for record in reviewed:
        _decide(record, DUPLICATE_MERGED, user, now)
    db.session.flush()
    details = {"into": winner.id, "contacts": moved}
    if reviewed:
        details["possible_duplicates_resolved"] = [r.id for r in reviewed]
    audit.record("merge", "person", loser.id, details, user=user)
    audit.record(
        "update", "person", winner.id, {"merged_from": loser.id, "filled": filled}, user=user
    )
    # Other domains (cases) re-point their rows in this same transaction.
    person_merged.send(current_app._get_current_object(), loser_id=loser.id, winner_id=winner.id)
    log.info("person %s merged into %s by user %s (%s contacts)", loser.id, winner.id,
             user.id if user else None, moved)
    return moved


def _twin(person):
    """The record a possible duplicate was flagged against, or its survivor."""
    twin = db.session.get(Person, person.possible_duplicate_of_id)
    return survivor(twin) if twin is not None else person


def _decide(person, status, user, at):
    person.duplicate_status = status
    person.duplicate_reviewed_at = at
    person.duplicate_reviewed_by_id = user.id if user else None


def keep_apart(person, user):
    """Decide that a possible duplicate is another person than its twin: it leaves the
    review list, and the affiliate number kept aside is dropped (it is the twin's).
    """
    if person.duplicate_status != DUPLICATE_PENDING or person.merged_into_id is not None:
        raise NotPendingDuplicate(person.id)
    twin = _twin(person)
    dropped = person.claimed_affiliate_number is not None
    person.claimed_affiliate_number = None
    _refresh_search_text(person)
    now = utcnow()
    _decide(person, DUPLICATE_KEPT_APART, user, now)
    person.updated_at = now
    db.session.flush()
    audit.record("keep_apart", "person", person.id,
                 {"twin": twin.id, "reasons": list(person.duplicate_reasons or []),
                  "claimed_affiliate_number_dropped": dropped}, user=user)
    log.info("possible duplicate %s kept apart from %s by user %s", person.id, twin.id,
             user.id if user else None)


# --- Contacts --------------------------------------------------------------


def scan_red_flags(*texts, language=None):
    """Return the red flags of several texts, each phrase once, as JSON objects."""
    flags, seen = [], set()
    for text_ in texts:
        for flag in find_red_flags(text_, prefer_language=language):
            if flag.phrase not in seen:
                seen.add(flag.phrase)
                flags.append(flag.to_dict())
    return flags


def create_contact(user, *, channel, person=None, direction="in", occurred_at=None,
                   duration_minutes=None, reasons=(), summary="", handled=None, **extra):
    """Log a contact; return it. `extra` takes the channel's own columns (email_*,
    mailbox*, referral_reach, consent_to_contact, call_id).

    Inbox channels (email, internal referral) stay unhandled unless `handled` is True;
    other contacts are handled by the user who logs them.
    """
    now = utcnow()
    if handled is None:
        handled = channel not in INBOX_CHANNELS
    # The text of an email the cell sends is the cell's own words (crisis numbers, "thoughts
    # of suicide" in a template): only what the person said or wrote is a danger sign.
    sent_by_cell = channel == "email" and direction == "out"
    flags = scan_red_flags(
        summary,
        None if sent_by_cell else extra.get("email_subject"),
        None if sent_by_cell else extra.get("email_body"),
        language=person.language if person else None,
    )
    contact = Contact(
        person_id=person.id if person else None,
        channel=channel,
        direction=direction,
        occurred_at=occurred_at or now,
        duration_minutes=duration_minutes,
        reasons=list(dict.fromkeys(reasons or ())),
        summary=summary or "",
        red_flagged=bool(flags),
        red_flags=flags,
        handled_by_id=user.id if handled and user else None,
        handled_at=now if handled else None,
        created_by_id=user.id if user else None,
        created_at=now,
        **extra,
    )
    db.session.add(contact)
    db.session.flush()
    audit.record(
        "create",
        "contact",
        contact.id,
        {"channel": channel, "person_id": contact.person_id, "red_flagged": bool(flags)},
        user=user,
    )
    log.info("contact %s (%s) logged by user %s%s", contact.id, channel,
             user.id if user else None, ", red-flagged" if flags else "")
    return contact


def create_referral(user, *, name, reach="", noticed="", consent=False, language="fr"):
    """Log an internal referral from a fund colleague; return the contact.

    `reach` is how to reach the person (a phone number or an email address): the
    person is found by it among the people the user sees, else created.
    """
    reach = " ".join((reach or "").split())
    values = {"name": name, "language": language}
    if "@" in reach:
        try:
            values["email"] = normalise_email(reach)
        except ValueError:
            pass
    elif reach:
        values["phone"] = reach
    try:
        person, _ = find_or_create_person(user, **values)
    except AmbiguousPerson:
        person = create_person(user, **values)
    return create_contact(
        user,
        channel="internal_referral",
        person=person,
        direction="in",
        summary=noticed,
        referral_reach=reach or None,
        consent_to_contact=bool(consent),
    )


def mark_handled(contact, user):
    """Take an inbox item off the inbox; return False when it was already handled."""
    if contact.handled_at is not None:
        return False
    contact.handled_at = utcnow()
    contact.handled_by_id = user.id
    db.session.flush()
    audit.record("handle", "contact", contact.id, user=user)
    log.info("contact %s marked handled by user %s", contact.id, user.id)
    return True


# --- Screen-pops -----------------------------------------------------------


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def create_screen_pop(user, *, call_id, phone, dialled=None, event="ringing"):
    """Store the caller's number behind a random token; return the token.

    The URL given to the telephony carries only the token, never the number.
    """
    now = utcnow()
    db.session.execute(db.delete(ScreenPop).where(ScreenPop.expires_at < now))
    token = secrets.token_urlsafe(24)
    pop = ScreenPop(
        digest=_digest(token),
        call_id=call_id,
        phone=phone or "",
        dialled=dialled,
        event=event,
        created_by_id=user.id if user else None,
        created_at=now,
        expires_at=now + SCREEN_POP_LIFETIME,
    )
    db.session.add(pop)
    db.session.flush()
    audit.record("create", "screen_pop", pop.id, {"call_id": call_id, "event": event}, user=user)
    log.info("screen-pop %s for call %s (%s)", pop.id, call_id, event)
    return token


def resolve_screen_pop(token):
    """Return the live ScreenPop of a token, or None when unknown or expired."""
    if not token or len(token) > 100:
        return None
    pop = db.session.scalar(db.select(ScreenPop).where(ScreenPop.digest == _digest(token)))
    if pop is None or pop.expires_at < utcnow():
        return None
    return pop


class ScreenPopUsed(Exception):
    """The screen-pop link was already opened by someone else, or in another session."""


def open_screen_pop(user, token, opened_here):
    """Return the live ScreenPop of a token for `user`, claiming it on its first opening.

    A link opens once within its 30 minutes: the first opening claims it (atomically, so
    two simultaneous ones cannot both win) and is audited; from then on it works only in
    the session that opened it (`opened_here`: the ids of the pops claimed in this
    session), where the form goes on carrying it through its own pages. Anywhere else it
    raises ScreenPopUsed. Who may open one at all is the view's check, made first.
    Returns None for an unknown or expired token.
    """
    pop = resolve_screen_pop(token)
    if pop is None:
        return None
    if pop.opened_at is None:
        now = utcnow()
        claimed = db.session.execute(
            update(ScreenPop)
            .where(ScreenPop.id == pop.id, ScreenPop.opened_at.is_(None))
            .values(opened_at=now, opened_by_id=user.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed:
            pop.opened_at, pop.opened_by_id = now, user.id
            audit.record("open", "screen_pop", pop.id, {"call_id": pop.call_id}, user=user)
            db.session.commit()
            log.info("screen-pop %s opened by user %s", pop.id, user.id)
            return pop
        db.session.refresh(pop)
    if pop.opened_by_id == user.id and pop.id in opened_here:
        return pop
    raise ScreenPopUsed(pop)


def count_contacts(person_id):
    return db.session.scalar(
        db.select(func.count(Contact.id)).where(Contact.person_id == person_id)
    )
