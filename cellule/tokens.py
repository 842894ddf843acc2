"""API tokens: issue, list, revoke (the owner on their account page, an admin on the
users page; an admin's password reset and a deactivation revoke them all).

A token is a named, expiring credential of its own, like a personal access token
elsewhere: it has a name (what it is for), a term (API_TOKEN_DAYS by default, 180; the
owner may choose 1 to API_TOKEN_MAX_DAYS, 365), its last use (written at most once a
minute, cellule.api), and it is listed with those dates to its owner (account page) and to
administrators (a page per user, never with the clear token: only its first 12 characters,
which identify it but do not authenticate). The clear token is shown once, when it is made,
and only its SHA-256 digest is stored. An expired token answers 401 "token expired", so
that whoever runs an integration that stopped learns why.

Decisions (issue 14):
- Any role may make tokens for itself. A token acts as its owner: the API applies the
  owner's role exactly as the interface does (an ambassador's token sees only the
  ambassador's own contacts and cases, an admin's token no case content). Telephony
  integrations and scripts run under the account of whoever set them up, so refusing a
  role would only push people to share accounts.
- Making a token, revoking one, and an administrator's revocation need a recent
  re-authentication (password and code), like the other sensitive account actions.
- What revokes them all: the owner's own password change, an administrator's password reset
  of the owner, and the owner's deactivation (a reactivation does not bring them back).
  Signing out does NOT: sessions and tokens are separate credentials, and a telephony
  integration must not stop because its owner signed out of the browser. The owner sees and
  revokes each token on the account page.
- At most MAX_ACTIVE live tokens per user: a forgotten token is a standing credential;
  the limit asks to revoke old ones rather than pile them up.
"""

import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from . import audit
from .account_forms import ActionForm
from .extensions import db
from .models import ApiToken, User
from .permissions import ADMIN, roles_required
from .security import recent_auth_required
from .types import utcnow

log = logging.getLogger(__name__)

bp = Blueprint("tokens", __name__, url_prefix="/admin/users")

NAME_MAX = 100  # the column's length
MAX_ACTIVE = 20
SHOWN = 100  # rows listed on a page, newest first

# Why a token was revoked (ApiToken.revoked_reason).
OWNER = "owner"
ADMIN_REVOKED = "admin"
PASSWORD_CHANGED = "password_changed"
PASSWORD_RESET = "password_reset"
DEACTIVATED = "deactivated"
REASONS = {
    OWNER: _l("by its owner"),
    ADMIN_REVOKED: _l("by an administrator"),
    PASSWORD_CHANGED: _l("password changed"),
    PASSWORD_RESET: _l("password reset by an administrator"),
    DEACTIVATED: _l("account deactivated"),
}


def max_days():
    """The longest term an owner may choose (API_TOKEN_MAX_DAYS)."""
    return max(1, current_app.config["API_TOKEN_MAX_DAYS"])


def default_days():
    """The term of a new token (API_TOKEN_DAYS), within 1 to max_days()."""
    days = current_app.config["API_TOKEN_DAYS"]
    return max(1, min(days, max_days()))


class TokenForm(FlaskForm):
    """A new token: its name and how many days it lives."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=NAME_MAX)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        render_kw={"maxlength": NAME_MAX, "autocomplete": "off"},
    )
    days = IntegerField(_l("Valid for (days)"), validators=[InputRequired()])

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("days", default_days())
        super().__init__(*args, **kwargs)
        top = max_days()
        self.days.validators = [
            InputRequired(_l("Choose between 1 and %(max)s days.", max=top)),
            NumberRange(1, top, _l("Choose between 1 and %(max)s days.", max=top)),
        ]
        self.days.render_kw = {"min": 1, "max": top, "inputmode": "numeric"}


# --- operations ------------------------------------------------------------------


def active_count(user):
    """How many of `user`'s tokens still work."""
    return db.session.scalar(
        db.select(db.func.count(ApiToken.id)).where(
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > utcnow(),
        )
    )


def create(user, name, days=None, via="account"):
    """Issue a token named `name` for `user`, valid `days` days (default: the configured
    term), in the caller's transaction; return (row, clear token to show once)."""
    row, token = ApiToken.issue(user, name, days=days or default_days())
    db.session.add(row)
    db.session.flush()
    audit.record(
        "api_token_created",
        "api_token",
        row.id,
        {"user_id": user.id, "expires_at": row.expires_at.isoformat(), "via": via},
    )
    log.info("API token %s issued for user %s (%s)", row.id, user.id, via)
    return row, token


def revoke(row, reason):
    """Revoke one token in the caller's transaction (a revoked one stays as it was)."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    row.revoked_reason = reason
    audit.record("api_token_revoked", "api_token", row.id, {"user_id": row.user_id,
                                                            "reason": reason})
    log.info("API token %s of user %s revoked (%s)", row.id, row.user_id, reason)
    return True


def revoke_all(user, reason=ADMIN_REVOKED):
    """Revoke every live API token of `user` in the caller's transaction; return how many.

    `reason`: PASSWORD_CHANGED, PASSWORD_RESET, DEACTIVATED… (shown beside each token)."""
    result = db.session.execute(
        db.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    if result.rowcount:
        audit.record("api_tokens_revoked", "user", user.id,
                     {"count": result.rowcount, "reason": reason})
        log.info("%s API token(s) of user %s revoked (%s)", result.rowcount, user.id, reason)
    return result.rowcount


def tokens_of(user, limit=SHOWN):
    """`user`'s tokens, newest first."""
    return db.session.scalars(
        db.select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        .limit(limit)
    ).all()


def get_token_of_or_404(user, token_id):
    """One of `user`'s tokens; another user's (or none) is a 404."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        abort(404)
    return row


# --- administrators: a user's tokens --------------------------------------------------


def _user_or_404(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/<int:user_id>/tokens")
@login_required
@roles_required(ADMIN)
def admin_index(user_id):
    """List a user's API tokens (never the tokens themselves)."""
    user = _user_or_404(user_id)
    return render_template(
        "cellule/user_tokens.html",
        user=user,
        tokens=tokens_of(user),
        form=ActionForm(),
        now=utcnow(),
        reasons=REASONS,
    )


@bp.post("/<int:user_id>/tokens/<int:token_id>/revoke")
@login_required
@roles_required(ADMIN)
@recent_auth_required
def admin_revoke(user_id, token_id):
    """Revoke one of a user's API tokens."""
    user = _user_or_404(user_id)
    row = get_token_of_or_404(user, token_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if revoke(row, ADMIN_REVOKED):
        db.session.commit()
        flash(_("The token “%(name)s” was revoked.", name=row.label), "info")
    return redirect(url_for("tokens.admin_index", user_id=user.id))
