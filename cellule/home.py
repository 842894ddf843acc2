"""What the core puts on the home pages (issue 18): the health of the background work and
the mailbox (supervisors, administrators), the administrators' accounts to look after.

The domains add their own panels (`nav.register_panel`); the core never imports them.
"""

from flask import current_app, g
from sqlalchemy import func, select

from . import mailbox, nav
from .approvals import AccountApproval
from .extensions import db
from .models import User
from .outbox import OutboxMessage
from .roles import ADMIN, OVERSIGHT


class CoreHome:
    """The core's rows of the home panels, read only when a panel asks."""

    def failed_jobs(self):
        return db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.status == "failed"))

    def mailbox_configured(self):
        return mailbox.configured(current_app)

    def quarantine(self):
        return mailbox.quarantine_pending()

    def accounts(self):
        """(active users, pending approvals) in one statement."""
        row = db.session.execute(select(
            select(func.count()).select_from(User).where(User.active.is_(True))
            .scalar_subquery(),
            select(func.count()).select_from(AccountApproval)
            .where(AccountApproval.outcome.is_(None)).scalar_subquery())).one()
        return {"active": row[0], "waiting": row[1]}


def core_home():
    if "core_home" not in g:
        g.core_home = CoreHome()
    return g.core_home


def register(app):
    app.context_processor(lambda: {"core_home": core_home,
                                   "quarantine_waiting": mailbox.quarantine_pending})
    nav.register_panel("cellule/_admin_panel.html", (ADMIN,), order=5)
    nav.register_panel("cellule/_health_panel.html", OVERSIGHT, order=40)
