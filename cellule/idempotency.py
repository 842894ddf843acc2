"""`Idempotency-Key` on the API POSTs that create something: a retry gets the first answer.

The header is the IETF httpapi draft's ("The Idempotency-Key HTTP Header Field"): a client
that sends `Idempotency-Key: "<key>"` (an sf-string; a bare key is accepted too) may repeat
the request after a dropped connection without filing the contact, the triage, the note or
the screen-pop twice. For one API token and one key, within `KEEP` (24 h):

- the same request again (method, path, query and body bytes: the *fingerprint*) gets the
  first status, body and `Location` again, with `Idempotent-Replayed: true`, and changes
  nothing;
- another request with that key is refused (422 naming the header): a key names one
  operation, and a body that differs is a client bug, never a retry;
- while the first is still running, a second is 409 with `Retry-After` (PostgreSQL; on
  SQLite, which runs one writer at a time, the second waits for the first and gets its
  answer replayed);
- a key that is not 1 to 255 printable ASCII characters is 400 naming the header.

Keys are per token (the token's id is part of the row's unique key), so two systems never
collide, and a key is never looked up across tokens. Without the header a call works as it
always did. Only answers of a committed change are stored: a refusal (4xx) changes nothing,
so its retry is simply run again (and succeeds if the reason went away).

Why the answer cannot be lost or doubled. The answer row is written in the *same*
transaction as the change it answers: an idempotent view does not call
`db.session.commit()` but ends with `commit_answer(body, status)`, which flushes the
change, adds the row carrying the status and body it is about to return, and commits both
at once. A crash before that commit leaves neither (the retry runs afresh); after it, both
(the retry is replayed) — there is no moment where the change is committed and its answer
is not. Two requests with one key cannot both commit: `(token, key)` is unique, and the
loser's flush of its answer row fails, so its whole transaction (its change included) is
rolled back and the winner's answer is replayed instead. On PostgreSQL a transaction-level
advisory lock on the key, tried before the view runs, turns "wait for the other" into the
draft's immediate 409; it is released with the transaction (commit, rollback, or a killed
worker's connection), so a crashed request never leaves a key stuck.

Covered: `POST /contacts`, `/telephony/calls`, `/contacts/<id>/triage`, `/cases/<id>/notes`
(DESIGN §7 has no task or referral creation in the API yet; a new creating POST takes
`@idempotent` and `commit_answer`). Not covered, the header is ignored there: claim, close
and `tasks/<id>/done` create nothing and are guarded transitions (unassigned, `version`,
open) that a repeat can never apply twice: a retry after a lost answer gets 409 carrying
the current state, which shows the client its own change. `/triage/evaluate` stores
nothing.

Rows older than `KEEP` are ignored (and deleted when met); the workers' relay purges them
(`purge`, hourly, beside the outbox's). An answer may carry personal data (a note's body):
it is stored encrypted (`cellule.crypto`) and lives no longer than that.
"""

import hashlib
import logging
import re
from datetime import timedelta
from functools import wraps

from flask import current_app, g, request
from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from . import audit
from .api import ApiError, error_response
from .crypto import EncryptedText
from .extensions import db
from .types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
MAX_KEY_LENGTH = 255
RETRY_AFTER_SECONDS = 1
KEY_RULE = (f'1 to {MAX_KEY_LENGTH} printable ASCII characters (a UUID, say), given once: '
            'an sf-string ("…", where \\" and \\\\ are escapes) or bare (no ", \\ or comma)')


class IdempotencyKey(db.Model):
    """The answer given to the first request that carried one token's key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    # SHA-256 of the method, path, query and body of the request that used the key.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    # Encrypted at rest: an answer may quote a person's name, a note (cellule.crypto).
    body: Mapped[str] = mapped_column(EncryptedText)
    location: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, index=True)


class _AnsweredMeanwhile(Exception):
    """Another request with the same key committed its answer first (see `commit_answer`)."""


# --- Reading the header ------------------------------------------------------


# RFC 8941 sf-string: printable ASCII in quotes, `\"` and `\\` the only escapes. The bare
# form has no quote, backslash or comma (a header sent twice arrives joined: `a, b`).
QUOTED = re.compile(r'"((?:[ !#-\[\]-~]|\\["\\])*)"')
BARE = re.compile(r"[ !#-+\--\[\]-~]*")


def parse_key(values):
    """The key given by the request's `Idempotency-Key` header values, or ApiError(400).

    The draft's syntax is an sf-string (`"…"`); a bare key without quotes is accepted
    too, as many clients send one; both give the same key.
    """
    raw = values[0].strip(" \t") if len(values) == 1 else ""
    quoted = QUOTED.fullmatch(raw)
    key = re.sub(r"\\(.)", r"\1", quoted.group(1)) if quoted else raw
    if not (quoted or BARE.fullmatch(raw)) or not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ApiError(400, f"invalid {HEADER} header", {HEADER: KEY_RULE})
    return key


def fingerprint():
    """SHA-256 of what makes the request this request: method, path, query and body."""
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.query_string,
                 request.get_data(cache=True)):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


# --- The layer ---------------------------------------------------------------


def idempotent(view):
    """Honour `Idempotency-Key` on an API view that ends with `commit_answer`.

    Put it under `@api_roles` (a refused role is answered before any key is looked at).
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        if HEADER not in request.headers:
            return view(*args, **kwargs)
        key = parse_key(request.headers.getlist(HEADER))
        token_id, print_ = g.api_token_id, fingerprint()
        if not _lock(token_id, key):
            return _in_progress()
        stored = _stored(token_id, key)
        if stored is not None:
            return _replay(stored, print_)
        g.idempotency = (token_id, key, print_)
        try:
            return view(*args, **kwargs)
        except _AnsweredMeanwhile:
            stored = _stored(token_id, key)
            return _replay(stored, print_) if stored is not None else _in_progress()
        finally:
            g.pop("idempotency", None)

    return wrapped


def commit_answer(body, status=200, location=None):
    """Commit the request's change and return its JSON answer.

    Under an `Idempotency-Key`, the answer is stored in that same transaction (the point
    of the module: see its docstring). A conflict of the change itself (an IntegrityError
    of its flush) reaches the caller as before.
    """
    response = current_app.json.response(body)
    response.status_code = status
    if location:
        response.headers["Location"] = location
    pending = g.pop("idempotency", None)
    db.session.flush()
    if pending is not None:
        token_id, key, print_ = pending
        db.session.add(IdempotencyKey(
            token_id=token_id, key=key, fingerprint=print_, status=status,
            body=response.get_data(as_text=True), location=location,
        ))
        try:
            db.session.flush()
        except IntegrityError:
            # The same key was answered meanwhile (SQLite: it held the write lock while
            # this request waited): drop this request's change, replay that answer.
            db.session.rollback()
            raise _AnsweredMeanwhile from None
    db.session.commit()
    return response


def _lock(token_id, key):
    """On PostgreSQL, hold the key for this transaction; False if another request does."""
    if db.session.get_bind().dialect.name != "postgresql":
        return True  # SQLite serialises writers: the unique key settles it (see above)
    seed = hashlib.sha256(f"idempotency:{token_id}:{key}".encode()).digest()
    number = int.from_bytes(seed[:8], "big", signed=True)
    return bool(db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:n)"), {"n": number}))


def _stored(token_id, key):
    """The answer stored for this token's key within `KEEP`; an older one is deleted."""
    row = db.session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.token_id == token_id, IdempotencyKey.key == key))
    if row is not None and row.created_at < utcnow() - KEEP:
        db.session.delete(row)
        db.session.flush()
        return None
    return row


def _replay(stored, print_):
    if stored.fingerprint != print_:
        raise ApiError(422, f"this {HEADER} was used for another request",
                       {HEADER: "already used with another method, path or body; "
                                "use a new key for a new request"})
    response = current_app.response_class(stored.body, status=stored.status,
                                          mimetype="application/json")
    if stored.location:
        response.headers["Location"] = stored.location
    response.headers["Idempotent-Replayed"] = "true"
    audit.record("replay", "idempotency_key", stored.id, {"path": request.path})
    audit.commit_keeping_loaded()
    return response


def _in_progress():
    response, status = error_response(
        409, f"a request with this {HEADER} is still in progress; retry it later",
        {HEADER: "in progress"})
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status


def purge(now=None):
    """Delete the answers older than `KEEP`; return how many."""
    cutoff = (now or utcnow()) - KEEP
    count = db.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)).rowcount
    db.session.commit()
    if count:
        log.info("idempotency: %s expired answer(s) purged", count)
    return count


# --- OpenAPI -------------------------------------------------------------------

PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "The IETF httpapi draft's header: a key naming this one operation, "
    f'{KEY_RULE}; e.g. `"8e03978e-40d5-43e8-bc93-6894a57f9324"`. The same request again '
    "with the key within 24 hours (same token, method, path and body bytes) gets the "
    "first answer again, with `Idempotent-Replayed: true`, and changes nothing. Only a "
    "success is stored: a refused request (4xx) changed nothing and may be sent again.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}

# The answers to the header, added to each operation that takes it (cellule.api's document).
ANSWERS = {
    "400": f"malformed {HEADER}",
    "409": f"a request with this {HEADER} is still in progress (retry after Retry-After)",
    "422": f"this {HEADER} was already used with another request",
}
