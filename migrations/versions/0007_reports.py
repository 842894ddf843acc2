"""reports: satisfaction surveys, report exports, anonymisations, period indexes

- surveys: one per closed case; only the SHA-256 of the link's token is stored.
- report_exports: the anonymised CSV exports built by the `export_report` job.
- anonymisations: one row per anonymised person, case or anonymous contact
  (retention or erasure), with the erasure's reason.
- indexes for the reports' periods: cases by opening and closing time, tasks by
  deadline (declared in cases/reports.py).

Revision ID: 0007
Revises: 0006

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('mail_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'sent', 'not_sent', 'answered')", name=op.f('ck_surveys_status_known')),
    sa.CheckConstraint('score IS NULL OR (score >= 1 AND score <= 5)', name=op.f('ck_surveys_score_range')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_surveys_case_id_cases')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_surveys_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('case_id', name=op.f('uq_surveys_case_id')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_surveys_token_digest'))
    )
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.create_index('ix_surveys_sent_at', ['sent_at'], unique=False)

    op.create_table('report_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('date_from', sa.Date(), nullable=False),
    sa.Column('date_to', sa.Date(), nullable=False),
    sa.Column('granularity', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('row_count', sa.Integer(), nullable=True),
    sa.Column('content', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'done')", name=op.f('ck_report_exports_status_known')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_report_exports_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_exports'))
    )
    with op.batch_alter_table('report_exports', schema=None) as batch_op:
        batch_op.create_index('ix_report_exports_requested_by', ['requested_by_id', 'id'], unique=False)

    op.create_table('anonymisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('cause', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('forced', sa.Boolean(), nullable=False),
    sa.Column('force_reason', sa.Text(), nullable=True),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cleared', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_anonymisations_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anonymisations')),
    sa.UniqueConstraint('object_type', 'object_id', name='uq_anonymisations_object')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_opened_at', ['opened_at'], unique=False)
        batch_op.create_index('ix_cases_closed_at', ['closed_at'], unique=False,
                              postgresql_where=sa.text('closed_at IS NOT NULL'),
                              sqlite_where=sa.text('closed_at IS NOT NULL'))
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_due_at', ['due_at'], unique=False)


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_due_at')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_closed_at')
        batch_op.drop_index('ix_cases_opened_at')
    op.drop_table('anonymisations')
    with op.batch_alter_table('report_exports', schema=None) as batch_op:
        batch_op.drop_index('ix_report_exports_requested_by')
    op.drop_table('report_exports')
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_index('ix_surveys_sent_at')
    op.drop_table('surveys')
