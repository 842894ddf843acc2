"""issue 17 — the queues' unclaimed cases by deadline: one partial index

The psychology and advisors' queues list the open cases of one queue that nobody has
claimed, by deadline (`cases.queries.psychology_queue`, `advisors_queue`). With only
`ix_cases_open_assignee` (assignee_id, due_at, id) PostgreSQL reads every unclaimed open
case, joins each to its person and sorts them (`assignee_id IS NULL` is no equality, so
that index's order is not the deadline's): 1 959 rows for a 51-row page at national scale,
11 ms. With `(queue, due_at, id) WHERE status <> 'closed' AND assignee_id IS NULL` it reads
the page in order and stops: 0.6 ms.

Revision ID: 0031
Revises: 0030

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

UNCLAIMED = "status <> 'closed' AND assignee_id IS NULL"


def upgrade():
    op.create_index('ix_cases_unclaimed_queue', 'cases', ['queue', 'due_at', 'id'],
                    postgresql_where=sa.text(UNCLAIMED), sqlite_where=sa.text(UNCLAIMED))


def downgrade():
    op.drop_index('ix_cases_unclaimed_queue', table_name='cases')
