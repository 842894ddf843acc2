"""Set-up links: how an account's owner chooses a password that nobody else learns.

A new account and an administrator's password reset send the owner, by email, a link that
works once, for 24 hours (`/account/setup?token=…`); the administrator sees "link sent",
never a password or the link (issue 14). The design:

- the token carries 256 random bits; only its SHA-256 digest is stored (at that strength a
  plain digest suffices, as for API tokens);
- it travels in the query string, never in the path: the shipped `gunicorn.conf.py` logs
  paths without their query strings; the page is sent with `Referrer-Policy: no-referrer`
  and its form posts the token in its body, to an address without it;
- only the newest link of a user works: issuing one voids the older ones;
- using it is one conditional UPDATE (unused, not voided, not expired), so two tabs cannot
  both use it; it ends every session of the user, who then signs in (and enrols a second
  factor, for the roles that need one, as at any sign-in);
- once the mail left, the mail log's copy loses the token (`strike_link`, a `mailer.on_sent`
  hook); using or voiding a link strikes it from a copy not sent yet, too;
- an unknown link answers 404, a used, replaced or expired one 410, in the same words (which
  one it was is nobody's business); failed look-ups are counted per client address in Redis
  and refused past `CELLULE_SETUP_LINK_LIMIT` (429).

The command line (`flask users invite`, `flask users reset-password`) prints the link to the
operator running it as well: whoever runs commands on the server is trusted with the
database already.
"""

import hashlib
import logging
import re
import secrets
from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from limits import parse
from sqlalchemy import CheckConstraint, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import audit, sessions, tokens
from .account_forms import SetupPasswordForm
from .extensions import db
from .mailer import OutgoingMail, on_sent, send_mail
from .models import User
from .passwords import hash_password
from .redis_conn import get_redis
from .throttle import get_limiter
from .types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

PURPOSES = ("invite", "reset")
LIFETIME = timedelta(hours=24)
MAIL_KEY = "setup:"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
_LINK = re.compile(r"(token=)[A-Za-z0-9_-]{20,}")


class SetupLink(db.Model):
    """One set-up link of one user; only the SHA-256 of its token is kept."""

    __tablename__ = "setup_links"
    __table_args__ = (
        CheckConstraint(
            "purpose IN (" + ", ".join(f"'{p}'" for p in PURPOSES) + ")", name="purpose_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[object] = mapped_column(UTCDateTime)
    used_at: Mapped[object | None] = mapped_column(UTCDateTime)
    # Set when a newer link of the same user replaced this one.
    voided_at: Mapped[object | None] = mapped_column(UTCDateTime)
    # The administrator who asked for it (None: the command line).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def usable(self, at=None):
        at = at or utcnow()
        return self.used_at is None and self.voided_at is None and self.expires_at > at


def digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def base_url():
    """The public address of the mailed links: `CELLULE_BASE_URL`, else the first trusted
    host over HTTPS, else the development server — never the request's Host header (a
    forged one would send the owner's link elsewhere)."""
    configured = current_app.config.get("CELLULE_BASE_URL") or ""
    if configured:
        return configured.rstrip("/")
    hosts = current_app.config.get("TRUSTED_HOSTS")
    if hosts:
        return "https://" + hosts[0]
    return "http://127.0.0.1:5000"


def link_url(token):
    """The absolute link of `token` (built without a request: the command line sends it)."""
    path = current_app.url_map.bind("localhost").build("setup.page", {"token": token})
    return base_url() + path


# --- Operations -------------------------------------------------------------------


def issue(user, purpose, by=None):
    """Create a link for `user` (voiding the older ones); return (row, clear token).

    The caller commits.
    """
    assert purpose in PURPOSES
    now = utcnow()
    older = db.session.scalars(
        select(SetupLink.id).where(
            SetupLink.user_id == user.id, SetupLink.used_at.is_(None),
            SetupLink.voided_at.is_(None),
        )
    ).all()
    if older:
        db.session.execute(
            update(SetupLink).where(SetupLink.id.in_(older)).values(voided_at=now)
            .execution_options(synchronize_session=False)
        )
        _strike_unsent(older)
    token = secrets.token_urlsafe(32)  # 256 bits
    row = SetupLink(
        user_id=user.id, purpose=purpose, digest=digest(token), created_at=now,
        expires_at=now + LIFETIME, created_by_id=by.id if by is not None else None,
    )
    db.session.add(row)
    db.session.flush()
    audit.record("setup_link_sent", "user", user.id, {"purpose": purpose, "link": row.id})
    return row, token


def send(user, purpose, by=None):
    """Issue a link and mail it to the owner, in their language; return the clear token
    (for the command line only). The caller commits."""
    row, token = issue(user, purpose, by)
    subject, body = _message(user, purpose, by, link_url(token))
    send_mail(user.email, subject, body, key=f"{MAIL_KEY}{row.id}", user_id=user.id,
              created_by_id=by.id if by is not None else None)
    log.info("set-up link %s (%s) mailed to user %s", row.id, purpose, user.id)
    return token


def reset_password(user, by=None):
    """An administrator's (or the operator's) password reset: the old password stops
    working, every session ends, every API token is revoked, and the owner gets a set-up
    link by email — which is also their notice of the reset. Return the clear token.

    The caller commits.
    """
    user.password_hash = unusable_password_hash()
    user.password_changed_at = utcnow()
    sessions.revoke_all(user)
    revoked = tokens.revoke_all(user, tokens.PASSWORD_RESET)
    audit.record("password_reset", "user", user.id, {"api_tokens_revoked": revoked})
    return send(user, "reset", by)


def unusable_password_hash():
    """The hash of a random password nobody knows: the account cannot be signed into (and
    costs a sign-in attempt as much time as any other)."""
    return hash_password(secrets.token_urlsafe(32))


def _requester_name(by):
    return by.name if by is not None else _("the application's administrator")


def _message(user, purpose, by, link):
    with force_locale(user.language or "fr"):
        hello = _("Hello %(name)s,", name=user.name)
        if purpose == "invite":
            subject = _("Your Cellule account: choose your password")
            what = _("%(who)s created an account for you in Cellule. Choose your password "
                     "with this link:", who=_requester_name(by))
        else:
            subject = _("Your Cellule password was reset")
            what = _("%(who)s reset the password of your Cellule account: your old password "
                     "no longer works, you were signed out everywhere and your API tokens "
                     "were revoked. Choose a new password with this link:",
                     who=_requester_name(by))
        rules = _("The link works once, for 24 hours. Nobody else knows it: never pass it "
                  "on. If it has expired, ask the administrator for a new one.")
        warning = _("If you did not expect this message, tell a supervisor of the cell at "
                    "once.")
        body = "\n\n".join((hello, what, link, rules, warning))
    return str(subject), str(body)


def find(token):
    """The link of a token, or None (also for a malformed token)."""
    token = token if isinstance(token, str) else ""
    if not _TOKEN.match(token):
        return None
    return db.session.scalar(select(SetupLink).where(SetupLink.digest == digest(token)))


def claim(link):
    """Use `link` once: one conditional UPDATE, so of two tabs only one gets it."""
    now = utcnow()
    claimed = db.session.execute(
        update(SetupLink)
        .where(SetupLink.id == link.id, SetupLink.used_at.is_(None),
               SetupLink.voided_at.is_(None), SetupLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed == 1:
        link.used_at = now
        _strike_unsent([link.id])
    return claimed == 1


def use(link, password):
    """Use `link` (once: see `claim`) to set its owner's password; every session of theirs
    ends. Return False when the link was used meanwhile. The caller commits."""
    if not claim(link):
        return False
    user = link.user
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    sessions.revoke_all(user)
    audit.record("password_set", "user", user.id, {"purpose": link.purpose, "link": link.id},
                 user=user)
    return True


def strike(body):
    """`body` without the tokens of set-up links."""
    return _LINK.sub(r"\1…", body or "")


@on_sent
def strike_link(mail):
    """Once the mail left, keep no usable link in the mail log."""
    if (mail.key or "").startswith(MAIL_KEY):
        mail.body = strike(mail.body)


def _strike_unsent(link_ids):
    """A link used or voided before its mail left: strike it from the mail log too."""
    keys = [f"{MAIL_KEY}{i}" for i in link_ids]
    for mail in db.session.scalars(select(OutgoingMail).where(OutgoingMail.key.in_(keys))):
        mail.body = strike(mail.body)


# --- The page ----------------------------------------------------------------------

bp = Blueprint("setup", __name__)


def _limit():
    """The rate-limit item and the identifiers of this client's failed look-ups."""
    get_redis()  # the embedded Redis starts on first use
    item = parse(current_app.config["CELLULE_SETUP_LINK_LIMIT"])
    return get_limiter().limiter, item, ("cellule", "setup-link", request.remote_addr or "-")


def _gone(code):
    """The page for a link that does not work (any reason): 404 unknown, 410 spent, 429."""
    if code != 429:
        strategy, item, ids = _limit()
        strategy.hit(item, *ids)
    response = current_app.make_response(
        (render_template("cellule/setup_invalid.html", code=code), code)
    )
    if code == 429:
        response.headers["Retry-After"] = "3600"
    return response


def _no_referrer(response):
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.after_request
def _after(response):
    return _no_referrer(response)


def _usable_link(token):
    """The usable link of `token` and None, or None and the status refusing it: 429 past
    the limit of failed look-ups, 404 unknown, 410 used, replaced or expired."""
    strategy, item, ids = _limit()
    if not strategy.test(item, *ids):
        return None, 429
    link = find(token)
    if link is None:
        return None, 404
    if not link.usable():
        return None, 410
    return link, None


def _setup_page(form, link, status):
    return render_template("cellule/setup.html", form=form, user=link.user, link=link), status


def _to_sign_in():
    """Whoever was signed in here, the owner signs in next."""
    if current_user.is_authenticated:
        sessions.end_here()
    flash(_("Your password is set. Sign in with it now."), "info")
    return redirect(url_for("auth.login"), 303)


@bp.route("/account/setup", methods=["GET", "POST"])
def page():
    """Let the owner of a set-up link choose their password; then they sign in."""
    token = request.form.get("token") if request.method == "POST" else request.args.get("token")
    link, refusal = _usable_link(token)
    if refusal:
        return _gone(refusal)
    form = SetupPasswordForm(user=link.user, token=token)
    if not form.validate_on_submit():
        return _setup_page(form, link, 422 if form.errors else 200)
    if not use(link, form.new_password.data):
        db.session.rollback()
        return _gone(410)
    db.session.commit()
    log.info("user %s chose a password with set-up link %s", link.user.id, link.id)
    return _to_sign_in()
