"""Server-side sessions: every signed-in browser is a row that the server can end.

The session cookie (signed by Flask) carries Flask-Login's `"<user id>:<session_version>"`
and a random token `sid`; the database keeps only the token's SHA-256. A session is valid
while its row is not revoked, the user is active with the same `session_version`, it has
been used within the idle timeout and is younger than the absolute lifetime — all checked
on the server at each request. Bumping `session_version` ends every session of a user.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_htmx import make_response as htmx_response
from flask_login import current_user, login_url, login_user, logout_user
from sqlalchemy.orm import contains_eager

from . import mfa
from .api import PREFIX
from .extensions import db, htmx, login_manager
from .models import UserSession
from .types import utcnow

log = logging.getLogger(__name__)

TOKEN_KEY = "sid"
# last_seen_at is written at most this often (one UPDATE a minute per active user).
TOUCH_EVERY = timedelta(seconds=60)


def passive(view):
    """Mark a view a page calls by itself (polling): it is not activity of the user.

    The idle timeout counts from the last request the user made; a page polling every few
    seconds would otherwise keep an unattended session alive for good.
    """
    view.cellule_passive = True
    return view


def _is_passive(app):
    view = app.view_functions.get(request.endpoint)
    return bool(getattr(view, "cellule_passive", False))


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _limits():
    config = current_app.config
    return (
        timedelta(minutes=config["CELLULE_SESSION_MINUTES"]),
        timedelta(minutes=config["CELLULE_IDLE_MINUTES"]),
    )


def sign_in(user, used_mfa):
    """Start a new session for `user` in this browser; the caller commits.

    Nothing of the previous session survives but the interface language (fixation).
    """
    language = session.get("language")
    session.clear()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession(
        user_id=user.id,
        digest=_digest(token),
        created_at=now,
        last_seen_at=now,
        auth_at=now,
        mfa=used_mfa,
        ip=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:200],
    )
    db.session.add(row)
    user.last_login_at = now
    login_user(user)
    session[TOKEN_KEY] = token
    session["language"] = language or user.language
    g.cellule_session = row
    return row


def load(user_id, version):
    """Return the user of this browser's session when it is still valid on the server."""
    token = session.get(TOKEN_KEY)
    if not token or not isinstance(token, str):
        return None
    row = db.session.scalar(
        db.select(UserSession)
        .join(UserSession.user)
        .options(contains_eager(UserSession.user))
        .where(UserSession.digest == _digest(token), UserSession.user_id == user_id)
    )
    if row is None or row.revoked_at is not None:
        return None
    user = row.user
    if not user.active or user.session_version != version:
        return None
    if mfa.required_for(user) and not row.mfa:
        return None  # a role that needs the second factor never has a session without it
    absolute, idle = _limits()
    now = utcnow()
    if now - row.created_at > absolute or now - row.last_seen_at > idle:
        g.cellule_session_expired = True
        return None
    g.cellule_session = row
    return user


def current():
    """The UserSession row of this request, or None."""
    if current_user.is_authenticated:
        return g.get("cellule_session")
    return None


def auth_is_recent(minutes=None):
    """True when the user proved who they are within the last `minutes` (re-authentication)."""
    row = current()
    if row is None:
        return False
    minutes = minutes if minutes is not None else current_app.config["CELLULE_REAUTH_MINUTES"]
    return utcnow() - row.auth_at <= timedelta(minutes=minutes)


def mark_reauthenticated():
    row = current()
    if row is not None:
        row.auth_at = utcnow()


def active_sessions(user):
    """The user's sessions that the server would still accept, newest first."""
    absolute, idle = _limits()
    now = utcnow()
    rows = db.session.scalars(
        db.select(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
            UserSession.created_at > now - absolute,
            UserSession.last_seen_at > now - idle,
        )
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    return rows


def revoke(row):
    """End one session. The caller commits."""
    if row.revoked_at is None:
        row.revoked_at = utcnow()


def revoke_all(user, keep=None):
    """End every session of `user` (but `keep`, if given). The caller commits."""
    db.session.execute(
        db.update(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
            UserSession.id != (keep.id if keep is not None else -1),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if keep is None:
        # Also ends sessions that might predate the table (and any stale cookie).
        user.session_version = (user.session_version or 0) + 1


def end_here():
    """Sign this browser out (the caller has revoked what it should), keeping the language."""
    language = session.get("language")
    logout_user()
    session.clear()
    if language:
        session["language"] = language


def register(app):
    """Check the session before each page: validity on the server, expiry, forced steps."""
    @app.before_request
    def check_session():
        if request.endpoint == "static" or request.path.startswith(PREFIX + "/"):
            return None
        if "_user_id" not in session:
            return None
        user = current_user._get_current_object()  # runs the user loader (one query)
        if not user.is_authenticated:
            expired = g.get("cellule_session_expired")
            end_here()
            if expired:
                flash(_("Your session has expired. Please sign in again."), "info")
            return None
        row = g.cellule_session
        if utcnow() - row.last_seen_at >= TOUCH_EVERY and not _is_passive(app):
            row.last_seen_at = utcnow()
            db.session.commit()
        if user.must_change_password and request.endpoint not in FREE_ENDPOINTS:
            return redirect(url_for("account.password"))
        return None


# What a user who must first change their password may still do.
FREE_ENDPOINTS = {"account.password", "auth.logout", "auth.set_language", "static"}


@login_manager.unauthorized_handler
def unauthorized():
    """Send an anonymous (or expired) user to the sign-in page, and back afterwards.

    For htmx requests an `HX-Redirect` loads the whole sign-in page instead of swapping it
    into a fragment.
    """
    target = login_url("auth.login", request.url if request.method == "GET" else None)
    if htmx:
        response = htmx_response(redirect=target)
        response.status_code = 401
        return response
    if not g.get("cellule_session_expired"):
        flash(_("Please sign in to see this page."), "info")
    return redirect(target)
