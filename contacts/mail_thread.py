"""Email threads: what an incoming message answers, and the email from Cellule it continues.

An incoming message names the messages it answers in its In-Reply-To and References
headers. They are kept on the contact (`Contact.email_references`, space separated, in
the References order, oldest first, then In-Reply-To's id when References lacks it), so
that a reply from Cellule continues the thread (`contacts.replies`). When one of them is
the Message-ID of an outbound email contact (a mail sent from Cellule), the message is
that correspondent's answer: it takes the outbound contact's person when the mailbox
could not name one, and the cases it belongs to follow (`signals.email_threaded`).
"""

import logging
import re

from flask import current_app
from sqlalchemy import select

from cellule.extensions import db
from cellule.mailer import OutgoingMail

from .models import Contact
from .normalise import normalise_email
from .signals import email_threaded

log = logging.getLogger(__name__)

MAX_REFERENCES = 2000  # characters kept of a message's thread ids
_MSG_ID = re.compile(r"<[^<>\s]{3,900}>")


def _raw_headers(message, name):
    name = name.lower()
    return [str(value) for key, value in message.obj.raw_items() if key.lower() == name]


def references(message):
    """The Message-IDs `message` answers: its References (oldest first), then its
    In-Reply-To when References lacks it; capped (the first id and the newest kept)."""
    ids = []
    for header in ("References", "In-Reply-To"):
        for value in _raw_headers(message, header):
            ids += [i for i in _MSG_ID.findall(value) if i not in ids]
    while len(" ".join(ids)) > MAX_REFERENCES and len(ids) > 1:
        del ids[1 if len(ids) > 2 else 0]  # the thread's root stays, then the newest
    return ids


def joined(ids):
    return " ".join(ids)[:MAX_REFERENCES] or None


def outbound_parent(ids):
    """The newest outbound email contact whose Message-ID is among `ids`, or None."""
    if not ids:
        return None
    return db.session.scalars(
        select(Contact)
        .where(Contact.email_message_id.in_(ids), Contact.direction == "out",
               Contact.channel == "email")
        .order_by(Contact.occurred_at.desc(), Contact.id.desc())
        .limit(1)
    ).first()


def recipient_of(contact):
    """The address an outbound email contact was sent to (its mail's), normalised."""
    if not contact.email_message_id:
        return None
    # By Message-ID: unique, hence indexed, in the mail log.
    address = db.session.scalar(select(OutgoingMail.recipient).where(
        OutgoingMail.message_id == contact.email_message_id))
    try:
        return normalise_email(address) if address else None
    except ValueError:
        return None


def thread_person(parent, sender):
    """The person of the outbound contact `parent` when `sender` is that person's
    address or the one the email went to; else None."""
    if parent is None or parent.person is None or not sender:
        return None
    person = parent.person  # a merge re-points the contacts to the record kept
    if sender in (person.email, recipient_of(parent)):
        return person
    return None


def thread_back(contact, parent, sender):
    """Tell the other domains that `contact` answers `parent` when both are about the
    same correspondent (the same person, or, for an anonymous email, its address)."""
    if parent is None or contact.person_id != parent.person_id:
        return False
    if contact.person_id is None and (not sender or sender != recipient_of(parent)):
        return False
    email_threaded.send(current_app._get_current_object(), contact=contact, parent=parent)
    log.info("email contact %s answers outbound contact %s", contact.id, parent.id)
    return True
