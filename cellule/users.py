"""User administration for administrators: list, create, change role, (de)activate, reset.

Every change needs a recent re-authentication and ends the user's sessions, so that a new
role or a deactivation takes effect at once.
"""

import logging
import secrets

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from . import audit, mfa, nav, sessions
from .account_forms import ActionForm, RoleForm, UserCreateForm
from .extensions import db
from .models import ApiToken, User
from .passwords import hash_password
from .permissions import ADMIN, roles_required
from .security import recent_auth_required
from .types import utcnow

log = logging.getLogger(__name__)

bp = Blueprint("users", __name__, url_prefix="/admin/users")

nav.register("users.index", _l("Users"), (ADMIN,), order=90)


def temporary_password():
    """A random first password (about 100 bits) that the user must replace at sign-in."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


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
    return render_template(
        "cellule/users.html",
        users=users,
        role_form=RoleForm(),
        form=ActionForm(),
        mfa_required_roles=mfa.REQUIRED_ROLES,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
@roles_required(ADMIN)
@recent_auth_required
def create():
    """Create an account with a temporary password shown once."""
    from .cli import create_user

    form = UserCreateForm()
    if form.validate_on_submit():
        password = temporary_password()
        try:
            user = create_user(
                form.email.data, form.name.data, form.role.data, password, form.language.data
            )
        except ValueError as error:
            form.email.errors.append(str(error))
            db.session.rollback()
            return render_template("cellule/user_new.html", form=form), 422
        user.must_change_password = True
        db.session.commit()
        log.info("admin %s created user %s", current_user.id, user.id)
        return render_template("cellule/user_password.html", user=user, password=password), 201
    status = 422 if form.errors else 200
    return render_template("cellule/user_new.html", form=form), status


@bp.post("/<int:user_id>/role")
@login_required
@roles_required(ADMIN)
@recent_auth_required
def change_role(user_id):
    """Give a user another role; their sessions end."""
    user = get_user_or_404(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Choose a role from the list."), "error")
        return redirect(url_for("users.index"))
    if _not_self(user) and form.role.data != user.role:
        old = user.role
        user.role = form.role.data
        _end_everything(user)
        audit.record("role_changed", "user", user.id, {"from": old, "to": user.role})
        db.session.commit()
        log.info("admin %s changed the role of user %s", current_user.id, user.id)
        flash(_("The role was changed; the user must sign in again."), "info")
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
        db.session.execute(
            db.update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
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
    """Open a deactivated account again."""
    user = get_user_or_404(user_id)
    if ActionForm().validate_on_submit() and not user.active:
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
    """Give a user a temporary password (shown once); their sessions end."""
    user = get_user_or_404(user_id)
    if not ActionForm().validate_on_submit() or not _not_self(user):
        return redirect(url_for("users.index"))
    password = temporary_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    _end_everything(user)
    audit.record("password_reset", "user", user.id)
    db.session.commit()
    return render_template("cellule/user_password.html", user=user, password=password)


@bp.post("/<int:user_id>/reset-totp")
@login_required
@roles_required(ADMIN)
@recent_auth_required
def reset_totp(user_id):
    """Remove a user's second factor (lost phone); they enrol again at the next sign-in."""
    user = get_user_or_404(user_id)
    if ActionForm().validate_on_submit() and _not_self(user):
        mfa.disable(user)
        _end_everything(user)
        audit.record("mfa_reset", "user", user.id)
        db.session.commit()
        flash(_("The second factor was removed."), "info")
    return redirect(url_for("users.index"))
