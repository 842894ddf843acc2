"""The user's own account: second factor, recovery codes, password, sessions, API tokens,
re-authentication."""

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required

from . import audit, mfa, sessions, tokens, user_agents
from .account_forms import ActionForm, CodeForm, ConfirmForm, PasswordChangeForm
from .auth import enrolment_page, safe_next, wrong_enrolment_code
from .extensions import db
from .models import UserSession
from .passwords import hash_password, verify_password
from .security import recent_auth_required
from .types import utcnow

log = logging.getLogger(__name__)

bp = Blueprint("account", __name__, url_prefix="/account")


def _account_page(token_form=None):
    user = current_user._get_current_object()
    return render_template(
        "cellule/account.html",
        user=user,
        mfa_required=mfa.required_for(user),
        codes_left=mfa.recovery_codes_left(user) if user.totp_enabled else 0,
        active=sessions.active_sessions(user),
        this_session=sessions.current(),
        describe_browser=user_agents.describe,
        form=ActionForm(),
        api_tokens=tokens.tokens_of(user),
        token_form=token_form or tokens.TokenForm(formdata=None),
        token_reasons=tokens.REASONS,
        now=utcnow(),
    )


@bp.get("/")
@login_required
def index():
    """Show the user's security settings, open sessions and API tokens."""
    return _account_page()


def _credentials_ok(user, form):
    """Whether the password, and the code when the user has a second factor, are right."""
    if not verify_password(user.password_hash, form.password.data):
        return False
    if not user.totp_enabled:
        return True
    return mfa.verify_second_factor(user, form.code.data or "") is not None


@bp.route("/confirm", methods=["GET", "POST"])
@login_required
def confirm():
    """Ask again for the password (and the code) before a sensitive action."""
    user = current_user._get_current_object()
    form = ConfirmForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return _confirm_page(form, user, 422 if form.errors else 200)
    if not _credentials_ok(user, form):
        db.session.rollback()
        audit.record("reauth_failed", "user", user.id)
        db.session.commit()
        flash(_("Wrong password or code."), "error")
        return _confirm_page(form, user, 401)
    sessions.mark_reauthenticated()
    audit.record("reauthenticated", "user", user.id)
    db.session.commit()
    return redirect(safe_next(form.next.data) or url_for("account.index"))


def _confirm_page(form, user, status):
    return render_template("cellule/confirm.html", form=form, user=user), status


def _refused_password_change(user, form):
    """The status refusing a password change, its field saying why, or None: 401 for a
    wrong current password (audited), 422 for a new password equal to it."""
    if not verify_password(user.password_hash, form.current_password.data):
        audit.record("password_change_failed", "user", user.id)
        db.session.commit()
        form.current_password.errors.append(_l("This is not your current password."))
        return 401
    if form.new_password.data == form.current_password.data:
        form.new_password.errors.append(_l("Choose a password different from the current one."))
        return 422
    return None


def _change_password(user, new_password, here):
    """Set the new password, end every session of the user and revoke their API tokens,
    then give this browser (session `here`) a fresh session; return how many tokens were
    revoked. The caller commits."""
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    sessions.revoke_all(user)  # ends every session, this one included…
    # A leaked password may have served to make tokens: they go with it.
    revoked = tokens.revoke_all(user, tokens.PASSWORD_CHANGED)
    audit.record("password_changed", "user", user.id)
    sessions.sign_in(user, used_mfa=bool(here is not None and here.mfa))  # …and a fresh one
    return revoked


def _password_changed_message(revoked):
    if revoked:
        return ngettext(
            "Your password was changed. Your other sessions were signed out and "
            "your API token was revoked.",
            "Your password was changed. Your other sessions were signed out and "
            "your %(num)d API tokens were revoked.",
            revoked,
        )
    return _("Your password was changed. Your other sessions were signed out.")


def _password_page(form, status):
    return render_template("cellule/password.html", form=form), status


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Change the password; every other session ends."""
    user = current_user._get_current_object()
    here = sessions.current()
    form = PasswordChangeForm(user=user)
    if not form.validate_on_submit():
        return _password_page(form, 422 if form.errors else 200)
    status = _refused_password_change(user, form)
    if status:
        return _password_page(form, status)
    revoked = _change_password(user, form.new_password.data, here)
    db.session.commit()
    log.info("user %s changed their password", user.id)
    flash(_password_changed_message(revoked), "info")
    return redirect(url_for("account.index"))


def _recovery_codes_page(codes):
    return render_template(
        "cellule/recovery_codes.html", codes=codes, next_url=url_for("account.index")
    )


def _enrolment_page(form, user, secret, status):
    return enrolment_page(form, user, secret, url_for("account.totp"), False), status


@bp.route("/totp", methods=["GET", "POST"])
@login_required
@recent_auth_required
def totp():
    """Set up (or replace) the authenticator app of a signed-in user."""
    user = current_user._get_current_object()
    secret = mfa.start_enrolment(user)
    db.session.commit()
    form = CodeForm()
    if not form.validate_on_submit():
        return _enrolment_page(form, user, secret, 422 if form.errors else 200)
    codes = mfa.confirm_enrolment(user, form.code.data)
    if codes is None:
        return _enrolment_page(form, user, secret, wrong_enrolment_code(user, "mfa_enrol_failed"))
    row = sessions.current()
    if row is not None:
        row.mfa = True
    audit.record("mfa_enrolled", "user", user.id)
    db.session.commit()
    return _recovery_codes_page(codes)


@bp.post("/totp/disable")
@login_required
@recent_auth_required
def totp_disable():
    """Turn the second factor off (only for roles that do not require it)."""
    user = current_user._get_current_object()
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if mfa.required_for(user):
        abort(403)
    mfa.disable(user)
    audit.record("mfa_disabled", "user", user.id)
    db.session.commit()
    flash(_("Two-step sign-in is off."), "info")
    return redirect(url_for("account.index"))


@bp.post("/recovery-codes")
@login_required
@recent_auth_required
def recovery_codes():
    """Replace the recovery codes and show the new ones once."""
    user = current_user._get_current_object()
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if not user.totp_enabled:
        return redirect(url_for("account.index"))
    codes = mfa.new_recovery_codes(user)
    audit.record("recovery_codes_replaced", "user", user.id)
    db.session.commit()
    return _recovery_codes_page(codes)


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id):
    """End one of the user's sessions (another browser, or this one)."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    here = sessions.current()
    sessions.revoke(row)
    audit.record("session_ended", "user", current_user.id, {"session": row.id})
    db.session.commit()
    if here is not None and here.id == row.id:
        sessions.end_here()
        return redirect(url_for("auth.login"))
    flash(_("The session was ended."), "info")
    return redirect(url_for("account.index"))


@bp.post("/sessions/end-others")
@login_required
def end_other_sessions():
    """End every session of the user but this one."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    sessions.revoke_all(current_user._get_current_object(), keep=sessions.current())
    audit.record("sessions_ended", "user", current_user.id)
    db.session.commit()
    flash(_("Your other sessions were signed out."), "info")
    return redirect(url_for("account.index"))


@bp.post("/tokens")
@login_required
@recent_auth_required
def create_token():
    """Make an API token and show it once."""
    user = current_user._get_current_object()
    form = tokens.TokenForm()
    if not form.validate_on_submit():
        return _account_page(form), 422
    if tokens.active_count(user) >= tokens.MAX_ACTIVE:
        form.name.errors.append(
            _l("You have %(count)s active tokens: revoke one you no longer use first.",
               count=tokens.MAX_ACTIVE)
        )
        return _account_page(form), 422
    row, token = tokens.create(user, form.name.data, form.days.data)
    db.session.commit()
    return render_template("cellule/token_created.html", row=row, token=token)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
@recent_auth_required
def revoke_token(token_id):
    """Revoke one of the user's API tokens."""
    row = tokens.get_token_of_or_404(current_user, token_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if tokens.revoke(row, tokens.OWNER):
        db.session.commit()
        flash(_("The token “%(name)s” was revoked.", name=row.label), "info")
    return redirect(url_for("account.index"))
