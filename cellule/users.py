"""User administration for administrators: list, create, change role, (de)activate, reset.

Every change needs a recent re-authentication and ends the user's sessions, so that a new
role or a deactivation takes effect at once. Nobody learns anyone else's credential
(issue 14): a new account and a password reset mail the owner a single-use set-up link
(cellule.setup_links) and the administrator sees "link sent"; granting the psychologist or
supervisor role and removing a second factor wait for a supervisor's approval
(cellule.approvals), which the administrator may withdraw meanwhile.
"""

import logging

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from . import approvals, audit, mfa, nav, sessions, setup_links, tokens
from .account_forms import ActionForm, RoleForm, UserCreateForm
from .cli import create_user
from .extensions import db
from .models import User
from .permissions import ADMIN, roles_required
from .security import recent_auth_required

log = logging.getLogger(__name__)

bp = Blueprint("users", __name__, url_prefix="/admin/users")

nav.register("users.index", _l("Users"), (ADMIN,), order=90, group=nav.ADMIN)


def on_duty_supervisors():
    """The active supervisors on duty, else every active supervisor (better everyone than
    no one), by id: who is alerted at once (imminent danger, deadlines, a distress email
    out of hours)."""
    active = db.select(User).where(User.role == "supervisor", User.active.is_(True))
    on_duty = db.session.scalars(active.where(User.on_duty.is_(True)).order_by(User.id)).all()
    if on_duty:
        return on_duty
    log.warning("no supervisor on duty: alerting every active supervisor")
    return db.session.scalars(active.order_by(User.id)).all()


def get_user_or_404(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _not_self(user):
    if user.id == current_user.id:
        flash(_("You cannot change your own account here."), "error")
        return False
    return True


def _end_everything(user):
    """End every session of `user` (the change takes effect at once)."""
    sessions.revoke_all(user)


@bp.get("/")
@login_required
@roles_required(ADMIN)
def index():
    """List the user accounts."""
    users = db.session.scalars(db.select(User).order_by(User.active.desc(), User.name)).all()
    pending = approvals.pending_requests()
    by_user = {}
    for approval in pending:
        by_user.setdefault(approval.user_id, []).append(approval)
    return render_template(
        "cellule/users.html",
        users=users,
        pending=pending,
        pending_by_user=by_user,
        unapproved=approvals.unapproved_new_accounts(),
        role_form=RoleForm(),
        form=ActionForm(),
        mfa_required_roles=mfa.REQUIRED_ROLES,
    )


def _new_user_fields(form):
    """The arguments of `create_user` from the form: no password, the owner chooses it."""
    return form.email.data, form.name.data, form.role.data, None, form.language.data


def _new_user_page(form, status):
    return render_template("cellule/user_new.html", form=form), status


def _open_new_account(user, admin):
    """Mail the owner of a new account their set-up link, or, for a role that needs it,
    ask a supervisor's approval first; return the message for the administrator. The
    caller commits."""
    if approvals.needs_approval(user.role):
        user.active = False  # until a supervisor approves: no sign-in, no link
        approvals.request_change(user, "role", admin, role=user.role, new_account=True)
        return _("The account of %(name)s was created. It awaits a supervisor's "
                 "approval; the set-up link will be sent to %(email)s then.",
                 name=user.name, email=user.email)
    setup_links.send(user, "invite", by=admin)
    return _("The account of %(name)s was created. A set-up link was sent to "
             "%(email)s.", name=user.name, email=user.email)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@roles_required(ADMIN)
@recent_auth_required
def create():
    """Create an account: its owner gets a set-up link by email (after a supervisor's
    approval for the roles that need one)."""
    form = UserCreateForm()
    if not form.validate_on_submit():
        return _new_user_page(form, 422 if form.errors else 200)
    try:
        user = create_user(*_new_user_fields(form))
    except ValueError as error:
        form.email.errors.append(str(error))
        db.session.rollback()
        return _new_user_page(form, 422)
    message = _open_new_account(user, current_user._get_current_object())
    db.session.commit()
    log.info("admin %s created user %s", current_user.id, user.id)
    flash(message, "info")
    return redirect(url_for("users.index"), 303)


def _change_role(user, new_role, admin):
    """Change the role of `user`, ask a supervisor's approval for it, or — asking again
    for the current role — withdraw a pending change to another one; return the message
    for the administrator, None when nothing changed. The caller commits."""
    first = approvals.awaiting_first_approval(user)
    if new_role == user.role and not first:
        if approvals.withdraw_pending(user, "role", admin):
            return _("The pending role change was withdrawn.")
        return None
    if approvals.needs_approval(new_role):
        approvals.request_change(user, "role", admin, role=new_role, new_account=first)
        return _("The role change awaits a supervisor's approval; the current role stays "
                 "until then.")
    return _set_role(user, new_role, admin, first)


def _set_role(user, new_role, admin, first):
    """Give `user` a role that needs no approval: their sessions end; an account `first`
    created with a role that was not approved opens, as any new account does."""
    approvals.withdraw_pending(user, "role", admin)
    old = user.role
    user.role = new_role
    _end_everything(user)
    audit.record("role_changed", "user", user.id, {"from": old, "to": user.role})
    log.info("admin %s changed the role of user %s", admin.id, user.id)
    if not first:
        return _("The role was changed; the user must sign in again.")
    user.active = True
    audit.record("user_activated", "user", user.id)
    setup_links.send(user, "invite", by=admin)
    return _("The role was changed and a set-up link was sent to %(email)s.", email=user.email)


@bp.post("/<int:user_id>/role")
@login_required
@roles_required(ADMIN)
@recent_auth_required
def change_role(user_id):
    """Give a user another role; their sessions end. The psychologist and supervisor roles
    wait for a supervisor's approval (the current role stays until then)."""
    user = get_user_or_404(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Choose a role from the list."), "error")
        return redirect(url_for("users.index"))
    if not _not_self(user):
        return redirect(url_for("users.index"))
    message = _change_role(user, form.role.data, current_user._get_current_object())
    if message:
        db.session.commit()
        flash(message, "info")
    return redirect(url_for("users.index"))


@bp.post("/<int:user_id>/deactivate")
@login_required
@roles_required(ADMIN)
@recent_auth_required
def deactivate(user_id):
    """Close an account: its sessions and API tokens stop working at once."""
    user = get_user_or_404(user_id)
    if ActionForm().validate_on_submit() and _not_self(user) and user.active:
        user.active = False
        _end_everything(user)
        tokens.revoke_all(user, tokens.DEACTIVATED)
        audit.record("user_deactivated", "user", user.id)
        db.session.commit()
        log.info("admin %s deactivated user %s", current_user.id, user.id)
        flash(_("The account was deactivated."), "info")
    return redirect(url_for("users.index"))


@bp.post("/<int:user_id>/activate")
@login_required
@roles_required(ADMIN)
@recent_auth_required
def activate(user_id):
    """Open a deactivated account again (not one that awaits a supervisor's approval)."""
    user = get_user_or_404(user_id)
    if ActionForm().validate_on_submit() and not user.active:
        if approvals.awaiting_first_approval(user):
            flash(_("This account awaits a supervisor's approval of its role: it cannot be "
                    "activated before."), "error")
            return redirect(url_for("users.index"))
        user.active = True
        audit.record("user_activated", "user", user.id)
        db.session.commit()
        flash(_("The account was activated."), "info")
    return redirect(url_for("users.index"))


@bp.post("/<int:user_id>/reset-password")
@login_required
@roles_required(ADMIN)
@recent_auth_required
def reset_password(user_id):
    """Reset a user's password: it stops working, their sessions and API tokens end, and
    they get a set-up link by email (the administrator never sees it)."""
    user = get_user_or_404(user_id)
    if not ActionForm().validate_on_submit() or not _not_self(user):
        return redirect(url_for("users.index"))
    if approvals.awaiting_first_approval(user):
        flash(_("This account awaits a supervisor's approval of its role: it gets its "
                "set-up link once approved."), "error")
        return redirect(url_for("users.index"))
    setup_links.reset_password(user, by=current_user._get_current_object())
    db.session.commit()
    log.info("admin %s reset the password of user %s", current_user.id, user.id)
    flash(_("The password of %(name)s was reset: it no longer works, their sessions and API "
            "tokens ended. A set-up link was sent to %(email)s.",
            name=user.name, email=user.email), "info")
    return redirect(url_for("users.index"), 303)


@bp.post("/<int:user_id>/reset-totp")
@login_required
@roles_required(ADMIN)
@recent_auth_required
def reset_totp(user_id):
    """Ask to remove a user's second factor (lost phone): a supervisor approves it, then
    the owner is told by email and enrols again at the next sign-in."""
    user = get_user_or_404(user_id)
    if ActionForm().validate_on_submit() and _not_self(user):
        approvals.request_change(user, "mfa_reset", current_user._get_current_object())
        db.session.commit()
        flash(_("The removal of the second factor awaits a supervisor's approval."), "info")
    return redirect(url_for("users.index"))


@bp.post("/approvals/<int:approval_id>/withdraw")
@login_required
@roles_required(ADMIN)
@recent_auth_required
def withdraw(approval_id):
    """Withdraw a pending request (role or second-factor reset) before a supervisor
    decides it."""
    approval = db.session.get(approvals.AccountApproval, approval_id)
    if approval is None:
        abort(404)
    if ActionForm().validate_on_submit():
        if approvals.withdraw(approval, current_user._get_current_object()):
            db.session.commit()
            flash(_("The request was withdrawn."), "info")
        else:
            flash(_("This request was already decided or withdrawn."), "info")
    return redirect(url_for("users.index"))
