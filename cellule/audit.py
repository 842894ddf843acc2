"""The audit log: who read or wrote which object, when, and from where.

Writes join the caller's transaction (the audit row commits with the change
it describes, or not at all). Reads, lists and refusals commit on their own, since no
other change is pending in a read-only request.
"""

import json
import logging

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import insert

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
    """Record that the current user read an object, committing at once."""
    record("read", object_type, object_id, detail)
    commit_keeping_loaded()


def listed(object_type, ids):
    """Record that the current user saw these objects in a list, committing at once: one
    row per object (action "list"), all in one statement, so that a page of a hundred
    people costs one INSERT, not a hundred."""
    ids = list(ids)
    if not ids:
        return
    at = utcnow()
    user_id = _actor_id(None)
    ip = request.remote_addr if has_request_context() else None
    db.session.execute(
        insert(AuditEvent),
        [
            {"at": at, "user_id": user_id, "action": "list", "object_type": object_type,
             "object_id": str(object_id), "ip": ip}
            for object_id in ids
        ],
    )
    commit_keeping_loaded()


def denied(object_type, object_id, detail=None):
    """Record a refused access, committing at once."""
    db.session.rollback()
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
