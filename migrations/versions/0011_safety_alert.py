"""safety chain: the imminent alert when the safety section is saved

Revision ID: 0011
Revises: 0010

`triage_runs.alerted_at`: when the run's answers first said imminent and the on-duty
supervisors were alerted (once per run: the decision and the hang-up never alert again).
`triage_runs.updated_at`: when a section was last saved, so that the deadline sweep can find
a draft left after an imminent or high answer. The index serves that sweep (drafts by age).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('triage_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alerted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_triage_runs_state_updated', ['state', 'updated_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('triage_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_triage_runs_state_updated')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('alerted_at')
