"""Four eyes on the account changes that open health data (issue 14).

Granting the psychologist or supervisor role (a new account with it, or a role change to
it) and removing a second factor take effect only once a supervisor other than the
requester approves: an administrator alone can no longer give an account access to case
content, nor take over a psychologist's account by resetting its second factor.

- A request is a row of `account_approvals`; at most one is pending per account and kind
  (a partial unique index), a newer request withdrawing the older one.
- A supervisor never decides a request about themselves, nor one they requested; the
  decision is one conditional UPDATE (two supervisors clicking at once: one decides).
- A new account with such a role exists but is inactive — it cannot sign in and gets no
  set-up link — until approved; then it is activated and the link is mailed. A pending
  role change leaves the current role as it is.
- An approved second-factor reset removes it, ends the sessions and mails the owner who
  asked for it and who approved it.
- The request and the decision are audited on the account (`approval_requested`,
  `approval_decided`); the on-duty supervisors are mailed that a request waits.

The command line (`flask users create/invite/reset-totp`) asks nobody: the operator of the
server is trusted with the database already.
"""

import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from . import audit, mfa, nav, sessions, setup_links
from .account_forms import ActionForm
from .extensions import db
from .mailer import notify_once, send_mail
from .models import User
from .permissions import SUPERVISOR, roles_required
from .roles import SENSITIVE
from .security import recent_auth_required
from .templating import ROLE_LABELS
from .types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

# The roles that read case content beyond an advisor's: granting one needs a supervisor.
APPROVAL_ROLES = SENSITIVE
KINDS = ("role", "mfa_reset")
OUTCOMES = ("approved", "refused", "withdrawn")


class AccountApproval(db.Model):
    """A sensitive change of one account, requested by an administrator."""

    __tablename__ = "account_approvals"
    __table_args__ = (
        CheckConstraint("kind IN ('role', 'mfa_reset')", name="kind_known"),
        CheckConstraint("outcome IN ('approved', 'refused', 'withdrawn')", name="outcome_known"),
        CheckConstraint("kind != 'role' OR role IS NOT NULL", name="role_named"),
        Index("uq_account_approvals_pending", "user_id", "kind", unique=True,
              sqlite_where=text("outcome IS NULL"), postgresql_where=text("outcome IS NULL")),
        Index("ix_account_approvals_open", "id",
              sqlite_where=text("outcome IS NULL"), postgresql_where=text("outcome IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    # The role to grant (kind "role").
    role: Mapped[str | None] = mapped_column(String(20))
    # The account was created with this role: approving it activates the account.
    new_account: Mapped[bool] = mapped_column(default=False)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[object | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(10))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def pending(self):
        return self.outcome is None


def needs_approval(role):
    return role in APPROVAL_ROLES


# --- Reading ----------------------------------------------------------------------


def pending_requests():
    """Every pending request, oldest first, with its account and requester loaded."""
    return db.session.scalars(
        select(AccountApproval)
        .where(AccountApproval.outcome.is_(None))
        .options(joinedload(AccountApproval.user), joinedload(AccountApproval.requested_by))
        .order_by(AccountApproval.id)
    ).all()


def _decidable_by(user):
    return select(AccountApproval).where(
        AccountApproval.outcome.is_(None),
        AccountApproval.user_id != user.id,
        or_(AccountApproval.requested_by_id.is_(None), AccountApproval.requested_by_id != user.id),
    )


def decidable_by(user):
    """The pending requests `user` (a supervisor) may decide, oldest first."""
    return db.session.scalars(
        _decidable_by(user)
        .options(joinedload(AccountApproval.user), joinedload(AccountApproval.requested_by))
        .order_by(AccountApproval.id)
    ).all()


def count_decidable_by(user):
    if not (user.is_authenticated and user.role == SUPERVISOR):
        return 0
    return db.session.scalar(select(db.func.count()).select_from(_decidable_by(user).subquery()))


def may_decide(approval, user):
    """A supervisor other than the account's owner and the requester."""
    return (user.role == SUPERVISOR and user.active and approval.user_id != user.id
            and approval.requested_by_id != user.id)


def awaiting_first_approval(user):
    """True for an account created with a role that needs approval and not approved yet
    (pending, refused or withdrawn): it stays inactive and gets no set-up link."""
    outcome = db.session.execute(
        select(AccountApproval.outcome)
        .where(AccountApproval.user_id == user.id, AccountApproval.new_account.is_(True))
        .order_by(AccountApproval.id.desc())
        .limit(1)
    ).first()
    return outcome is not None and outcome[0] != "approved"


def unapproved_new_accounts():
    """The ids of the accounts for which `awaiting_first_approval` holds (one query)."""
    latest = {}
    for user_id, outcome in db.session.execute(
        select(AccountApproval.user_id, AccountApproval.outcome)
        .where(AccountApproval.new_account.is_(True))
        .order_by(AccountApproval.id)
    ):
        latest[user_id] = outcome
    return {user_id for user_id, outcome in latest.items() if outcome != "approved"}


# --- Requesting ------------------------------------------------------------------


def request_change(user, kind, requested_by, role=None, new_account=False):
    """Record a request (withdrawing a pending one of the same kind) and mail the on-duty
    supervisors; return it. The caller commits."""
    assert kind in KINDS
    for older in db.session.scalars(
        select(AccountApproval).where(AccountApproval.user_id == user.id,
                                      AccountApproval.kind == kind,
                                      AccountApproval.outcome.is_(None))
    ):
        withdraw(older, requested_by)
    db.session.flush()
    approval = AccountApproval(
        user_id=user.id, kind=kind, role=role, new_account=new_account,
        requested_by_id=requested_by.id if requested_by is not None else None,
        requested_at=utcnow(),
    )
    try:
        with db.session.begin_nested():  # two administrators at once: one request stands
            db.session.add(approval)
    except IntegrityError:
        log.info("approval (%s) for user %s: another request came first", kind, user.id)
        return db.session.scalar(
            select(AccountApproval).where(AccountApproval.user_id == user.id,
                                          AccountApproval.kind == kind,
                                          AccountApproval.outcome.is_(None))
        )
    audit.record("approval_requested", "user", user.id,
                 {"approval": approval.id, "kind": kind, "role": role,
                  "new_account": new_account})
    _mail_supervisors(approval, user, requested_by)
    log.info("approval %s (%s) requested for user %s", approval.id, kind, user.id)
    return approval


def withdraw_pending(user, kind, by):
    """Withdraw the pending request of `kind` about `user`, if any; return it."""
    approval = db.session.scalar(
        select(AccountApproval).where(AccountApproval.user_id == user.id,
                                      AccountApproval.kind == kind,
                                      AccountApproval.outcome.is_(None))
    )
    if approval is not None and withdraw(approval, by):
        return approval
    return None


def withdraw(approval, by):
    """Withdraw a pending request (an administrator changed their mind); True if it was."""
    return _close(approval, by, "withdrawn")


def _close(approval, by, outcome):
    now = utcnow()
    closed = db.session.execute(
        update(AccountApproval)
        .where(AccountApproval.id == approval.id, AccountApproval.outcome.is_(None))
        .values(outcome=outcome, decided_at=now, decided_by_id=by.id if by is not None else None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed != 1:
        return False
    approval.outcome, approval.decided_at = outcome, now
    approval.decided_by_id = by.id if by is not None else None
    audit.record("approval_decided", "user", approval.user_id,
                 {"approval": approval.id, "kind": approval.kind, "outcome": outcome})
    return True


def _supervisors(excluded):
    active = select(User).where(User.role == SUPERVISOR, User.active.is_(True),
                                User.id.not_in(excluded or [0]))
    on_duty = db.session.scalars(active.where(User.on_duty.is_(True)).order_by(User.id)).all()
    return on_duty or db.session.scalars(active.order_by(User.id)).all()


def _what(approval, user, requested_by):
    """What the request is about, in the current language."""
    who = requested_by.name if requested_by is not None else _("The administrator")
    if approval.kind == "mfa_reset":
        return _("%(who)s asks to remove the second factor of the account of %(name)s.",
                 who=who, name=user.name)

    role = ROLE_LABELS.get(approval.role, approval.role)
    if approval.new_account:
        return _("%(who)s created an account for %(name)s with the role %(role)s.",
                 who=who, name=user.name, role=role)
    return _("%(who)s asks to give the role %(role)s to the account of %(name)s.",
             who=who, name=user.name, role=role)


def _mail_supervisors(approval, user, requested_by):
    """Tell the on-duty supervisors who may decide (staff names only, no person's)."""
    excluded = [user.id] + ([requested_by.id] if requested_by is not None else [])
    messages = []
    for supervisor in _supervisors(excluded):
        with force_locale(supervisor.language or "fr"):
            subject = _("An account change awaits your approval")
            body = "\n\n".join((
                _what(approval, user, requested_by),
                _("It takes effect only once a supervisor approves it. Open Cellule: your "
                  "home page lists the account changes that await your approval."),
                _("If you did not expect this request, refuse it."),
            ))
        messages.append((supervisor, str(subject), str(body)))
    notify_once(f"approval:{approval.id}", kind="approval", object_type="account_approval",
                object_id=approval.id, messages=messages)


# --- Deciding --------------------------------------------------------------------


def decide(approval, decider, approve):
    """Approve or refuse a pending request; True if this call decided it. The caller
    commits (and has checked `may_decide`)."""
    if not _close(approval, decider, "approved" if approve else "refused"):
        return False
    if approve:
        _apply(approval, decider)
    log.info("approval %s %s by user %s", approval.id,
             "approved" if approve else "refused", decider.id)
    return True


def _apply(approval, decider):
    user = db.session.get(User, approval.user_id)
    requested_by = db.session.get(User, approval.requested_by_id) if approval.requested_by_id \
        else None
    if approval.kind == "role":
        old = user.role
        user.role = approval.role
        sessions.revoke_all(user)
        audit.record("role_changed", "user", user.id,
                     {"from": old, "to": user.role, "approval": approval.id})
        if approval.new_account:
            user.active = True
            audit.record("user_activated", "user", user.id, {"approval": approval.id})
            setup_links.send(user, "invite", by=requested_by)
    else:
        mfa.disable(user)
        sessions.revoke_all(user)
        audit.record("mfa_reset", "user", user.id, {"approval": approval.id})
        mail_second_factor_removed(user, requested_by, decider)


def mail_second_factor_removed(user, requested_by=None, approved_by=None):
    """Tell the owner that their second factor was removed, by whom. The caller commits."""
    contact = current_app.config.get("CELLULE_SECURITY_CONTACT") or ""
    with force_locale(user.language or "fr"):
        if requested_by is not None and approved_by is not None:
            what = _("The second factor (authenticator app) of your Cellule account was removed "
                     "at the request of %(admin)s, approved by %(supervisor)s.",
                     admin=requested_by.name, supervisor=approved_by.name)
        else:
            what = _("The second factor (authenticator app) of your Cellule account was removed "
                     "by the server's operator.")
        call = (_("If this was not you, call %(contact)s at once: someone may be trying to take "
                  "over your account.", contact=contact) if contact else
                _("If this was not you, call a supervisor of the cell at once: someone may be "
                  "trying to take over your account."))
        body = "\n\n".join((
            _("Hello %(name)s,", name=user.name),
            what,
            _("You were signed out everywhere. At your next sign-in you set up the "
              "authenticator app again."),
            call,
        ))
        subject = _("The second factor of your Cellule account was removed")
    send_mail(user.email, str(subject), str(body), user_id=user.id,
              created_by_id=approved_by.id if approved_by is not None else None)


# --- The supervisors' page ----------------------------------------------------------

bp = Blueprint("approvals", __name__, url_prefix="/approvals")

def register(app):
    """The blueprint, the home panel of the supervisors and its count."""
    app.register_blueprint(bp)
    nav.register_panel("cellule/_approvals_panel.html", (SUPERVISOR,), order=5)
    app.context_processor(lambda: {"approvals_waiting": lambda: count_decidable_by(current_user)})


def _load(approval_id):
    approval = db.session.get(AccountApproval, approval_id)
    if approval is None:
        abort(404)
    return approval


@bp.get("/")
@login_required
@roles_required(SUPERVISOR)
def index():
    """List the account changes that await this supervisor's approval."""
    return render_template(
        "cellule/approvals.html", approvals=decidable_by(current_user), form=ActionForm()
    )


def _decide_view(approval_id, approve):
    approval = _load(approval_id)
    if not may_decide(approval, current_user):
        audit.denied("account_approval", approval.id)
        abort(403)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not approval.pending or not decide(approval, current_user, approve):
        db.session.rollback()
        flash(_("This request was already decided or withdrawn."), "info")
        return redirect(url_for("approvals.index"), 303)
    db.session.commit()
    flash(_("Approved: the change took effect.") if approve else
          _("Refused: nothing was changed."), "info")
    return redirect(url_for("approvals.index"), 303)


@bp.post("/<int:approval_id>/approve")
@login_required
@roles_required(SUPERVISOR)
@recent_auth_required
def approve(approval_id):
    """Approve a pending account change: it takes effect now."""
    return _decide_view(approval_id, True)


@bp.post("/<int:approval_id>/refuse")
@login_required
@roles_required(SUPERVISOR)
@recent_auth_required
def refuse(approval_id):
    """Refuse a pending account change: nothing changes."""
    return _decide_view(approval_id, False)
