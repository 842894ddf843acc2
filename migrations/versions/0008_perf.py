"""perf: indexes that keep lists fast at national scale (issue 9)

- cases (due_at, id): every list of cases sorted by deadline that is not limited to
  open cases (the API without a status, closed cases, deep keyset pages) reads a range
  of this index instead of sorting the whole table.

Revision ID: 0008
Revises: 0007

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_due', ['due_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_due')
