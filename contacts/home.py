"""What contacts puts on the home pages (issue 18), and the ambassadors' referrals.

Advisors (and supervisors) see the head of the inbox — danger signs first, then the
oldest, the inbox's own order. An ambassador sees the people they referred and where each
referral stands, on their home and on a page of its own ("My referrals"): received, or
taken up by the cell — never what the cell found (no clinical detail).
"""

from datetime import datetime

from flask import Blueprint, abort, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import selectinload

from cellule import audit, nav
from cellule.extensions import db
from cellule.paging import BadCursor, keyset_page
from cellule.permissions import ADMIN, AMBASSADOR, roles_required

from .access import INBOX_ROLES
from .models import Contact
from .views import INBOX_ORDER, _unhandled

bp = Blueprint("referrals", __name__)

HOME_ROWS = 5
COUNT_CAP = 1000  # as the board's
REFERRALS_PAGE = 50
REFERRAL_ORDER = ((Contact.occurred_at, datetime, True), (Contact.id, int, True))

nav.register("referrals.mine", _l("My referrals"), (AMBASSADOR,), order=11, group=nav.WORK)


def _capped_count(stmt):
    sub = stmt.with_only_columns(Contact.id).order_by(None).limit(COUNT_CAP + 1).subquery()
    n = db.session.scalar(select(func.count()).select_from(sub))
    return min(n, COUNT_CAP), n > COUNT_CAP


def _head(stmt, kind, order):
    """A panel's rows and count: (rows, n, capped); no count when the rows are all."""
    rows, more = keyset_page(stmt, kind, order, None, HOME_ROWS)
    audit.listed("contact", [c.id for c in rows])
    n, capped = _capped_count(stmt) if more else (len(rows), False)
    return {"rows": rows, "n": n, "capped": capped}


def my_referrals(user):
    """The internal referrals `user` made (newest first: `ix_contacts_created_by_occurred`)."""
    return select(Contact).where(
        Contact.created_by_id == user.id,
        Contact.channel == literal_column("'internal_referral'")
    ).options(selectinload(Contact.person))


def _memo(name, build):
    if name not in g:
        setattr(g, name, build())
    return getattr(g, name)


def inbox_head():
    return _memo("contacts_inbox_head", lambda: _head(_unhandled(), "inbox", INBOX_ORDER))


def referrals_head():
    return _memo("contacts_referrals_head", lambda: _head(
        my_referrals(current_user), "referrals", REFERRAL_ORDER))


@bp.get("/referrals")
@login_required
@roles_required(AMBASSADOR)
def mine():
    """List the people I referred to the cell, newest first, and where each stands."""
    try:
        rows, next_cursor = keyset_page(my_referrals(current_user), "referrals",
                                        REFERRAL_ORDER, request.args.get("after"),
                                        REFERRALS_PAGE)
    except BadCursor:
        abort(400)
    audit.listed("contact", [c.id for c in rows])
    return render_template("contacts/referrals.html", rows=rows, next_cursor=next_cursor)


def register(app):
    app.register_blueprint(bp)
    app.context_processor(lambda: {"inbox_head": inbox_head, "referrals_head": referrals_head})
    nav.register_panel("contacts/_admin_home.html", (ADMIN,), order=40)
    nav.register_panel("contacts/_inbox_home.html", INBOX_ROLES, order=10)
    nav.register_panel("contacts/_referrals_home.html", (AMBASSADOR,), order=10)
