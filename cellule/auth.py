"""Signing in (password, then the second factor), signing out, and the user's language.

Sign-in is two steps when the account has a second factor, or must have one: the password
step leaves only a short-lived "pending" mark in the session; the user is signed in (a
server-side session is created) once the code is right — or, for a role that requires a
second factor and has none yet, once they have enrolled one. Until then nothing else is
open to them.
"""

import logging
import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from . import audit, mfa, sessions
from .account_forms import CodeForm
from .extensions import db, login_manager
from .forms import LanguageForm, LoginForm
from .models import User
from .passwords import hash_password, needs_rehash, verify_password
from .throttle import account_digest

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

PENDING_KEY = "auth_pending"
# How long the second step may wait after the password step.
PENDING_SECONDS = {"code": 5 * 60, "enrol": 15 * 60}


@login_manager.user_loader
def load_user(session_id):
    """Return the user of a session `"<id>:<session_version>"` still valid on the server."""
    user_id, _, version = (session_id or "").partition(":")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
        return None
    return sessions.load(int(user_id), int(version))


def safe_next(target):
    """Return `target` when it is a path on this site, else None (no open redirect)."""
    if not target or not isinstance(target, str) or "\\" in target:
        return None
    if any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def find_user(email):
    return db.session.scalar(db.select(User).where(User.email == email.strip().lower()))


def _start_pending(user, step, next_url):
    language = session.get("language")
    session.clear()  # nothing from before survives the password step either
    if language:
        session["language"] = language
    session[PENDING_KEY] = {
        "uid": user.id,
        "ver": user.session_version,
        "at": int(time.time()),
        "step": step,
        "next": safe_next(next_url) or "",
        "acct": account_digest(user.email),
    }


def _pending_user(step):
    """The user half-way through signing in at `step`, or None when there is none (or stale)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("step") != step:
        return None
    if time.time() - int(pending.get("at", 0)) > PENDING_SECONDS[step]:
        session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(User, int(pending.get("uid", 0)))
    if user is None or not user.active or user.session_version != pending.get("ver"):
        session.pop(PENDING_KEY, None)
        return None
    return user


def _finish_sign_in(user, used_mfa, detail=None):
    """Create the session; return where to go next."""
    pending = session.get(PENDING_KEY) or {}
    target = safe_next(pending.get("next")) or url_for("main.home")
    sessions.sign_in(user, used_mfa)
    audit.record("login", "user", user.id, detail, user=user)
    db.session.commit()
    log.info("user %s logged in", user.id)
    return target


def _restart(message=None):
    flash(message or _("Please sign in again."), "info")
    return redirect(url_for("auth.login"))


def _password_ok(user, password):
    """Whether `password` is right for an active `user` (None: an unknown email, checked
    as long as a known one)."""
    ok = verify_password(user.password_hash if user else None, password)
    return ok and user.active


def _login_failed(user):
    """Audit a wrong email or password (or a closed account) and tell the user."""
    audit.record("login_failed", "user", user.id if user else None)
    db.session.commit()
    log.info("failed login for %s", "a known account" if user else "an unknown account")
    flash(_("Wrong email or password."), "error")


def _after_password(user, password, next_url):
    """The password was right: go on to the second factor, or sign in when the account
    has none and needs none; return where to go next."""
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if not (user.totp_enabled or mfa.required_for(user)):
        _start_pending(user, "none", next_url)
        return _finish_sign_in(user, used_mfa=False)
    step = "code" if user.totp_enabled else "enrol"
    _start_pending(user, step, next_url)
    db.session.commit()
    return url_for("auth.login_code" if step == "code" else "auth.login_enrol")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and check the password (the first step)."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return render_template("cellule/login.html", form=form), 422 if form.errors else 200
    user = find_user(form.email.data)
    if not _password_ok(user, form.password.data):
        _login_failed(user)
        return render_template("cellule/login.html", form=form), 401
    return redirect(_after_password(user, form.password.data, form.next.data))


def _wrong_code(user):
    """Undo a wrong second-factor code, audit it and tell the user."""
    db.session.rollback()
    audit.record("login_failed", "user", user.id, {"step": "second_factor"})
    db.session.commit()
    log.info("wrong second-factor code for user %s", user.id)
    flash(_("Wrong or already used code."), "error")


def _warn_recovery_code_used(user):
    flash(
        ngettext(
            "You used a recovery code; %(num)s remains. "
            "Create new ones in your account if you lost your phone.",
            "You used a recovery code; %(num)s remain. "
            "Create new ones in your account if you lost your phone.",
            mfa.recovery_codes_left(user),
        ),
        "warning",
    )


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """Ask for the code of the authenticator app (or a recovery code): the second step."""
    user = _pending_user("code")
    if user is None:
        return _restart()
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("cellule/login_code.html", form=form), 422 if form.errors else 200
    kind = mfa.verify_second_factor(user, form.code.data)
    if not kind:
        _wrong_code(user)
        return render_template("cellule/login_code.html", form=form), 401
    target = _finish_sign_in(user, used_mfa=True, detail={"second_factor": kind})
    if kind == "recovery":
        _warn_recovery_code_used(user)
    return redirect(target)


def _enrolled(user, codes):
    """Sign in a user who just enrolled a second factor; show their recovery codes once."""
    audit.record("mfa_enrolled", "user", user.id, user=user)
    target = _finish_sign_in(user, used_mfa=True, detail={"second_factor": "enrolment"})
    return render_template("cellule/recovery_codes.html", codes=codes, next_url=target)


def _to_code_step():
    """A user who enrolled meanwhile (in another tab) goes on to the code step."""
    session[PENDING_KEY] = {**session[PENDING_KEY], "step": "code"}
    return redirect(url_for("auth.login_code"))


def _forced_enrolment_page(form, user, secret, status):
    return enrolment_page(form, user, secret, url_for("auth.login_enrol"), True), status


@bp.route("/login/enrol", methods=["GET", "POST"])
def login_enrol():
    """Make a user whose role requires a second factor set one up before anything else."""
    user = _pending_user("enrol")
    if user is None:
        return _restart()
    if user.totp_enabled:
        return _to_code_step()
    secret = mfa.start_enrolment(user)
    db.session.commit()
    form = CodeForm()
    if not form.validate_on_submit():
        return _forced_enrolment_page(form, user, secret, 422 if form.errors else 200)
    codes = mfa.confirm_enrolment(user, form.code.data)
    if codes is None:
        status = wrong_enrolment_code(user, "login_failed", {"step": "enrolment"})
        return _forced_enrolment_page(form, user, secret, status)
    return _enrolled(user, codes)


def wrong_enrolment_code(user, action, detail=None):
    """Undo the attempt, audit it, tell the user; return the status (401)."""
    db.session.rollback()
    audit.record(action, "user", user.id, detail)
    db.session.commit()
    flash(_("Wrong code. Check the time of your phone and try the new code."), "error")
    return 401


def enrolment_page(form, user, secret, action, forced):
    """The page that shows the QR code and asks for a first code (sign-in or account)."""
    return render_template(
        "cellule/enrol.html",
        form=form,
        action=action,
        qr=mfa.qr_svg(mfa.provisioning_uri(user, secret)),
        secret=mfa.format_secret(secret),
        forced=forced,
    )


@bp.post("/logout")
@login_required
def logout():
    """Sign the user out: every session of theirs ends on the server."""
    user = current_user._get_current_object()
    audit.record("logout", "user", user.id)
    sessions.revoke_all(user)
    db.session.commit()
    sessions.end_here()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def set_language():
    """Switch the interface language (and remember it for a logged-in user)."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["language"] = form.language.data
        if current_user.is_authenticated:
            current_user.language = form.language.data
            db.session.commit()
    return redirect(safe_next(form.next.data) or url_for("main.home"))
