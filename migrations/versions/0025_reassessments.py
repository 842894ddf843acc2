"""issue 19 — re-assessments (reassess19): PHQ-2, GAD-2, CBI personal and the safety
screen asked again at a follow-up contact or at closing, compared to the first run

- `reassessments`: one row per re-assessment of a case (the answers, scores and change
  as encrypted JSON; the case's route then, whether it improved and whether a safety
  answer was yes in plain, for the reports; the first run compared to; the occasion and
  its follow-up task; who and when).

Revision ID: 0025
Revises: 0024

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reassessments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('first_run_id', sa.Integer(), nullable=True),
        sa.Column('script_id', sa.String(length=60), nullable=False),
        sa.Column('script_version', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=2), nullable=False),
        sa.Column('occasion', sa.String(length=12), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('route', sa.String(length=20), nullable=False),
        sa.Column('improved', sa.Boolean(), nullable=True),
        sa.Column('safety_yes', sa.Boolean(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("occasion IN ('follow_up', 'closing', 'other')",
                           name=op.f('ck_reassessments_occasion_known')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_reassessments_case_id_cases')),
        sa.ForeignKeyConstraint(['first_run_id'], ['triage_runs.id'],
                                name=op.f('fk_reassessments_first_run_id_triage_runs')),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'],
                                name=op.f('fk_reassessments_task_id_tasks')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_reassessments_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reassessments')),
    )
    op.create_index('ix_reassessments_case', 'reassessments', ['case_id', 'id'])


def downgrade():
    op.drop_index('ix_reassessments_case', table_name='reassessments')
    op.drop_table('reassessments')
