"""issue 18 — old imminent cases' due time: an open imminent case stored before the grace
(due the instant it opened) is due 15 minutes after it opened, as the cases opened since

Imminent cases opened before `triage.engine.deadline_for` gave them a grace
(`CELLULE_IMMINENT_GRACE_MINUTES`, 15 by default) were due at their opening time: late at
once, "due now" on the case page, 0 % on time on the dashboard. The open ones among them
(`due_at` at or before `opened_at`) are moved to `opened_at` + 15 minutes. The grace is frozen
here (a migration never imports the app); closed cases keep the deadline they had. The
comparison is made in Python, as SQLite compares the instants as text.

The downgrade leaves the deadlines as they are: the old "due now" was the defect.

Revision ID: 0023
Revises: 0022

"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

GRACE = timedelta(minutes=15)  # frozen: CELLULE_IMMINENT_GRACE_MINUTES's default
OPEN_STATUSES = ("open", "in_progress", "waiting")

cases = sa.table(
    "cases",
    sa.column("id", sa.Integer),
    sa.column("level", sa.String),
    sa.column("status", sa.String),
    sa.column("opened_at", sa.DateTime(timezone=True)),
    sa.column("due_at", sa.DateTime(timezone=True)),
)


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(cases.c.id, cases.c.opened_at, cases.c.due_at).where(
            cases.c.level == "imminent", cases.c.status.in_(OPEN_STATUSES),
            cases.c.due_at.is_not(None), cases.c.opened_at.is_not(None))).all()
    moved = [{"case_id": row.id, "new_due": row.opened_at + GRACE}
             for row in rows if row.due_at <= row.opened_at]
    if moved:
        conn.execute(cases.update().where(cases.c.id == sa.bindparam("case_id"))
                     .values(due_at=sa.bindparam("new_due")), moved)


def downgrade():
    pass
