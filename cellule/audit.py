"""The audit log: who read or wrote which object, when, and from where.

Writes join the caller's transaction (the audit row commits with the change
it describes, or not at all). Reads and lists are kept aside for the request and written
in its transaction: with its own commit if it makes one, else at its end
(`commit_pending`, called after the view by cellule.errors) — one transaction and one
commit per request, and a read is recorded even when a write of the same request is
rolled back. Outside a request they commit at once. Refusals commit at once, after
rolling back whatever the refused request had begun.
"""

import json
import logging

from flask import g, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from .extensions import db
from .models import AuditEvent
from .types import utcnow

log = logging.getLogger(__name__)


def _actor_id(user):
    if user is not None:
        return user.id
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return None


def record(action, object_type=None, object_id=None, detail=None, user=None):
    """Add an audit row to the current transaction and return it."""
    event = AuditEvent(
        user_id=_actor_id(user),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        ip=request.remote_addr if has_request_context() else None,
        detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
    )
    db.session.add(event)
    return event


def record_each(action, object_type, details, user=None):
    """Add one audit row per object ({object id: detail}) to the current transaction, all
    in one INSERT (a change that touches many rows at once, e.g. a case's tasks)."""
    actor_id = _actor_id(user)
    rows = [{**_row(action, object_type, object_id, detail), "user_id": actor_id}
            for object_id, detail in details.items()]
    if rows:
        db.session.execute(insert(AuditEvent), rows)


def commit_keeping_loaded():
    """Commit without expiring the objects the request has loaded.

    A read's audit row is committed in the middle of a request that goes on showing
    what it loaded; with the session's default expire-on-commit, every listed row (and
    every user of a select list) would then be reloaded one SELECT at a time (N+1).
    """
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def read(object_type, object_id, detail=None):
    """Record that the current user read an object (in the request's transaction)."""
    _defer([_row("read", object_type, object_id, detail)])


def listed(object_type, ids):
    """Record that the current user saw these objects in a list: one row per object
    (action "list"), all in one statement, so that a page of a hundred people costs one
    INSERT, not a hundred."""
    _defer([_row("list", object_type, object_id) for object_id in ids])


def _row(action, object_type, object_id, detail=None):
    return {"at": utcnow(), "user_id": _actor_id(None), "action": action,
            "object_type": object_type, "object_id": str(object_id),
            "ip": request.remote_addr if has_request_context() else None,
            "detail": json.dumps(detail, sort_keys=True, default=str) if detail else None}


_PENDING = "cellule_audit_pending"


def _defer(rows):
    if not rows:
        return
    if has_request_context():
        g.setdefault(_PENDING, []).extend(rows)
        return
    db.session.execute(insert(AuditEvent), rows)
    commit_keeping_loaded()


@event.listens_for(Session, "before_commit")
def _write_pending(session):
    """The request's reads and lists go into the transaction that commits first."""
    if has_request_context():
        rows = g.pop(_PENDING, None)
        if rows:
            session.execute(insert(AuditEvent), rows)


def pending():
    """Whether reads or lists of this request wait to be written."""
    return bool(has_request_context() and g.get(_PENDING))


def commit_pending():
    """Write the request's waiting reads and lists and commit (the end of a request).

    Only they are committed here: whatever else the request began and did not commit
    itself (a refused change, a failed transaction) is rolled back first, as the end of
    the request would have done."""
    _roll_back_what_was_begun()
    db.session.commit()


def _roll_back_what_was_begun():
    """Roll back what the request began and did not commit, only when it began something:
    a ROLLBACK expires every loaded object (the signed-in user is read again, one more
    SELECT) and makes psycopg forget the connection's prepared statements."""
    session = db.session()
    if (not session.is_active or session.new or session.dirty or session.deleted
            or not has_request_context() or g.get(_WROTE)):
        session.rollback()


_WROTE = "cellule_audit_flushed"


@event.listens_for(Session, "after_flush")
def _flushed(session, context):
    if has_request_context():
        g.setdefault(_WROTE, True)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _ended(session):
    if has_request_context():
        g.pop(_WROTE, None)


def denied(object_type, object_id, detail=None):
    """Record a refused access, committing at once (what the request wrote before is
    rolled back)."""
    _roll_back_what_was_begun()
    record("denied", object_type, object_id, detail)
    commit_keeping_loaded()
    log.info("access denied to %s %s", object_type, object_id)


def events_for(object_type, object_id, limit=500):
    """Return the audit rows of one object, newest first."""
    return db.session.scalars(
        db.select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    ).all()


# --------------------------------------------------------------------------- labels

# Every action code written by `record`, `read`, `listed` and `denied`, as the audit log
# shows it (tests/core/test_audit_labels.py checks that every code of the source has one).
ACTION_LABELS = {
    "read": _l("Viewed"),
    "list": _l("Seen in a list"),
    "denied": _l("Access refused"),
    "create": _l("Record created"),
    "update": _l("Record changed"),
    "activate": _l("Switched on"),
    "deactivate": _l("Switched off"),
    "open": _l("Incoming-call link opened"),
    "handle": _l("Marked handled"),
    "merge": _l("Merged with a duplicate"),
    "keep_apart": _l("Kept apart from a possible duplicate"),
    "flag_duplicate": _l("Flagged as a possible duplicate"),
    "flag": _l("Red flag found"),
    "alert": _l("Alert sent to the supervisors"),
    "auto_reply": _l("Automatic answer sent"),
    "send": _l("Email sent"),
    "handover": _l("Handover pack given to a partner"),
    "quarantine": _l("Email put in quarantine"),
    "retry": _l("Quarantined email filed again"),
    "discard": _l("Quarantined email discarded"),
    "answer": _l("Survey answered"),
    "export": _l("Data exported for the person"),
    "erase_refused": _l("Erasure refused"),
    "anonymise": _l("Anonymised"),
    "retention_purge": _l("Removed by the retention policy"),
    "download": _l("Report downloaded"),
    "replay": _l("Repeated request answered again"),
    "login": _l("Signed in"),
    "login_failed": _l("Sign-in failed"),
    "logout": _l("Signed out"),
    "reauthenticated": _l("Password confirmed"),
    "reauth_failed": _l("Password confirmation failed"),
    "password_changed": _l("Password changed"),
    "password_change_failed": _l("Password change failed"),
    "password_set": _l("Password set"),
    "password_reset": _l("Password reset requested"),
    "setup_link_sent": _l("Set-up link sent"),
    "mfa_enrolled": _l("Two-step sign-in turned on"),
    "mfa_enrol_failed": _l("Two-step sign-in set-up failed"),
    "mfa_disabled": _l("Two-step sign-in turned off"),
    "mfa_reset": _l("Two-step sign-in reset"),
    "recovery_codes_replaced": _l("Recovery codes replaced"),
    "session_ended": _l("Session ended"),
    "sessions_ended": _l("Other sessions ended"),
    "api_token_created": _l("API token created"),
    "api_token_revoked": _l("API token revoked"),
    "api_tokens_revoked": _l("All API tokens revoked"),
    "role_changed": _l("Role changed"),
    "user_activated": _l("Account activated"),
    "user_deactivated": _l("Account deactivated"),
    "approval_requested": _l("Approval requested"),
    "approval_decided": _l("Approval decided"),
    "data_key_rotated": _l("Data key rotated"),
}


def action_label(code):
    """The audit log's words for an action code; the code itself for an unknown one."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code
