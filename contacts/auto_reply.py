"""The out-of-hours automatic answer to an email (RFC 3834), and the supervisors' alert.

`mail_ingest.ingest_message` calls `after_ingest(contact, message)` once the contact of
a NEW message is committed. When the cell is closed (`BusinessCalendar.is_open`):

- the sender gets one automatic answer (`CELLULE_OUT_OF_HOURS_REPLY`, on by default) in
  their language, with the opening hours, the next opening and the crisis numbers, unless
  the message says or shows it must not be answered (`why_not`: Auto-Submitted, List-*,
  Precedence, X-Auto-Response-Suppress, an empty Return-Path, a no-reply or list-robot
  sender, the cell's own address, no usable sender, a Date older than 24 hours). At most
  one per sender per local day: the mail's key is an HMAC of the address and the date
  (no address in the key). The answer is "Auto: <subject>", threaded to the message,
  `Auto-Submitted: auto-replied`; it is not filed as a contact of the person (no
  person_id) — the incoming contact's page says it was sent (audit row `auto_reply`);
- a red-flagged email also alerts the on-duty supervisors by mail (`notify_once`, one per
  contact) with a link to the contact page and nothing else. Not in-app: a `Task` points
  at a case or a triage run, never at a contact, and an email has neither yet.

This runs after the contact's commit, in its own transaction, and never raises: the
contact is filed whatever becomes of its answer (DESIGN §9: one message never stops the
mailbox).
"""

import hashlib
import hmac
import json
import logging
import re
from datetime import UTC, timedelta
from email.utils import parseaddr, parsedate_to_datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from cellule import audit, setup_links
from cellule.extensions import db
from cellule.mailer import OutgoingMail, notify_once, send_mail
from cellule.models import AuditEvent
from cellule.types import utcnow
from cellule.users import on_duty_supervisors
from triage.calendar import get_calendar

from . import mail_decode, person_page
from .normalise import normalise_email
from .reply_templates import LANGUAGES, apply, out_of_hours_template

log = logging.getLogger(__name__)

MAX_AGE = timedelta(hours=24)
FALLBACK_LANGUAGES = ("fr", "nl", "de")  # together, when the sender's language is unknown
NO_REPLY = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster|bounces?([-+_.].*)?"
    r"|owner-.*|.*-request|.*-owner|listserv|majordomo)$"
)
SUPPRESS = {"all", "oof", "autoreply"}

# A few of the commonest words of each language: enough to tell a short email's language.
STOP_WORDS = {
    "fr": set("je j me moi vous tu il elle nous le la les un une des du de et est suis pas ne "
              "que qui pour dans avec mais plus très ça ce cette mon ma mes bonjour merci "
              "aide besoin".split()),
    "nl": set("ik je jij u hij zij wij het een en van is ben niet dat die op te met voor maar "
              "ook mijn heb wat er nog geen meer dag hallo beste bedankt hulp".split()),
    "de": set("ich du sie er wir der die das und ist bin nicht ein eine zu mit auf für den dem "
              "sich auch mein meine habe was noch kein mehr hallo danke hilfe".split()),
    "en": set("i you he she we the a an and is am not to of in it that for with but my have "
              "this what no more hello thanks thank help".split()),
}


# --- Reading the message --------------------------------------------------------


def _headers(message):
    """{lower-case name: [decoded values]} of the message's top-level headers."""
    found = {}
    for key, value in message.obj.raw_items():
        found.setdefault(key.lower(), []).append(mail_decode.decode_header(value).strip())
    return found


def _date(headers):
    try:
        sent = parsedate_to_datetime((headers.get("date") or [""])[0])
    except (TypeError, ValueError, IndexError):
        return None
    if sent is not None and sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)  # "-0000": UTC, the zone unknown (RFC 5322 §3.3)
    return sent


def _own_addresses():
    config = current_app.config
    found = set()
    for value in (config.get("MAIL_DEFAULT_SENDER"), config.get("MAIL_REPLY_TO"),
                  config.get("IMAP_USERNAME")):
        address = parseaddr(value or "")[1]
        if "@" in address:
            try:
                found.add(normalise_email(address))
            except ValueError:
                continue
    return found


def _robot(sender):
    return bool(NO_REPLY.match(sender.split("@", 1)[0]))


def why_not(headers, sender, now):
    """Why this message gets no automatic answer (a short code for the log), or None."""
    first = {name: (values[0] if values else "").lower() for name, values in headers.items()}
    if first.get("auto-submitted", "no").split(";")[0].strip() not in ("no", ""):
        return "auto-submitted"
    if any(name.startswith("list-") for name in headers):
        return "mailing list"
    if first.get("precedence", "").strip() in ("bulk", "junk", "list"):
        return "precedence"
    suppress = {v.strip() for v in first.get("x-auto-response-suppress", "").split(",")}
    if suppress & SUPPRESS:
        return "suppressed"
    if "return-path" in headers and first["return-path"].strip(" <>") == "":
        return "empty return-path"
    if not sender:
        return "no sender"
    if _robot(sender):
        return "robot sender"
    if sender in _own_addresses():
        return "own address"
    sent = _date(headers)
    if sent is None or sent < now - MAX_AGE:
        return "old or undated"
    return None


def detect_language(text):
    """The language of `text` by counts of common words, or None when unclear."""
    words = re.findall(r"[^\W\d_]+", (text or "").lower())[:2000]
    counts = {lang: sum(word in stop for word in words) for lang, stop in STOP_WORDS.items()}
    ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_second, runner_up) = ranked[0], ranked[1]
    return best if top >= 2 and top > runner_up * 1.5 else None


def sender_language(contact, headers):
    """The person's language, else Content-Language, else a guess from the text; None."""
    if contact.person is not None and contact.person.language in LANGUAGES:
        return contact.person.language
    for value in headers.get("content-language", []):
        tag = value.split(",")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return detect_language(f"{contact.email_subject or ''}\n{contact.email_body or ''}")


# --- The answer -----------------------------------------------------------------


def daily_key(sender, now, calendar):
    """The mail key of the day's answer to `sender`: an HMAC of the address, no address."""
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), sender.encode(),
                      hashlib.sha256).hexdigest()[:32]
    return f"auto-reply:{digest}:{now.astimezone(calendar.tz).date().isoformat()}"


def compose(contact, language):
    """(subject, body) of the answer in `language`, or in French, Dutch and German."""
    languages = (language,) if language else FALLBACK_LANGUAGES
    bodies = [apply(out_of_hours_template(lang), person=contact.person)[1]
              for lang in languages]
    subject = f"Auto: {contact.email_subject or ''}".strip()
    return subject, "\n\n— — —\n\n".join(bodies)


def _threading(contact, headers):
    message_id = contact.email_message_id or ""
    if not mail_decode.is_real_message_id(message_id):
        return None, None
    earlier = " ".join((headers.get("references") or [""])[0].split())
    return message_id, f"{earlier} {message_id}".strip()


def send_answer(contact, headers, now, calendar):
    """Request the answer unless one went to this sender today; return the mail or None."""
    sender = contact.email_sender
    key = daily_key(sender, now, calendar)
    if _answered(key):
        log.info("contact %s: already answered automatically today", contact.id)
        return None
    language = sender_language(contact, headers)
    subject, body = compose(contact, language)
    in_reply_to, references = _threading(contact, headers)
    mail = send_mail(sender, subject, body, key=key, in_reply_to=in_reply_to,
                     references=references, auto_submitted="auto-replied")
    audit.record("auto_reply", "contact", contact.id,
                 {"mail_id": mail.id, "language": language or "+".join(FALLBACK_LANGUAGES)})
    log.info("contact %s: out-of-hours answer requested (mail %s)", contact.id, mail.id)
    return mail


def _answered(key):
    return db.session.scalar(select(OutgoingMail.id).where(OutgoingMail.key == key)) is not None


def alert_supervisors(contact):
    """Mail the on-duty supervisors about a red-flagged email: a link, no content."""
    path = current_app.url_map.bind("localhost").build("contacts.contact",
                                                       {"contact_id": contact.id})
    link = setup_links.base_url() + path
    messages = []
    for user in on_duty_supervisors():
        with force_locale(user.language or "fr"):
            subject = _("Danger signs in an email received out of hours")
            body = _("An email with danger signs arrived while the cell is closed. "
                     "Open it in Cellule: %(link)s", link=link)
        messages.append((user, str(subject), str(body)))
    notice = notify_once(f"alert:email:contact:{contact.id}", kind="alert",
                         object_type="contact", object_id=contact.id, messages=messages)
    if notice is not None:
        audit.record("alert", "contact", contact.id, {"supervisors": len(messages),
                                                       "why": "red flag out of hours"})
        log.warning("red-flagged email contact %s out of hours: %s supervisor(s) alerted",
                    contact.id, len(messages))


def _handle(contact, message, now):
    calendar = get_calendar()
    if calendar.is_open(now):
        return
    headers = _headers(message)
    sent = _date(headers)
    if contact.red_flagged and (sent is None or sent >= now - MAX_AGE):
        alert_supervisors(contact)
    if not current_app.config["CELLULE_OUT_OF_HOURS_REPLY"]:
        return
    reason = why_not(headers, contact.email_sender or "", now)
    if reason:
        log.info("contact %s: no automatic answer (%s)", contact.id, reason)
        return
    send_answer(contact, headers, now, calendar)


def after_ingest(contact, message, now=None):
    """Answer a new email contact out of hours and alert on a red-flagged one; commit.

    Never raises: the contact is already filed, and its answer is not worth a poll."""
    try:
        _handle(contact, message, (now or utcnow()).astimezone(UTC))
        db.session.commit()
    except Exception as error:  # noqa: BLE001 — see the docstring
        db.session.rollback()
        log.warning("contact %s: out-of-hours handling failed (%s)", contact.id,
                    type(error).__name__)


# --- On the contact page -------------------------------------------------------------


@person_page.register_contact_section
def answered_section(contact, user):
    """"An automatic out-of-hours answer was sent", on the incoming email's page."""
    if contact.channel != "email" or contact.direction != "in":
        return None
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "contact",
                                 AuditEvent.object_id == str(contact.id),
                                 AuditEvent.action == "auto_reply")
        .order_by(AuditEvent.id).limit(1)
    ).first()
    if event is None:
        return None
    language = json.loads(event.detail or "{}").get("language", "")
    text = _("An automatic out-of-hours answer was sent (%(language)s).",
             language=language.upper().replace("+", ", "))
    return person_page.Section(title=_("Automatic answer"),
                               body=Markup('<p class="auto-reply">{}</p>').format(text),
                               order=90)
