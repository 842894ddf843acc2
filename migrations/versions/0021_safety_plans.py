"""safety plans (issue 19): versions of a case's plan, and the sends with their consent

- `safety_plans`: one row per saved version of a case's plan (the seven Stanley–Brown
  lists as encrypted JSON, the language, who wrote or reviewed it and when);
- `safety_plan_sends`: a plan emailed to the person, with the consent recorded (who,
  when, oral or written);
- `cases.no_safety_plan_reason`: why an imminent or high case was closed without a plan;
- `mail_log.attachment`: "kind:id" of a file the mailer builds when it sends (the PDF).

Revision ID: 0021
Revises: 0020

"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'safety_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=2), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('written_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("language IN ('fr', 'nl', 'de', 'en')",
                           name=op.f('ck_safety_plans_language_known')),
        sa.CheckConstraint('version >= 1', name=op.f('ck_safety_plans_version_positive')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_safety_plans_case_id_cases')),
        sa.ForeignKeyConstraint(['written_by_id'], ['users.id'],
                                name=op.f('fk_safety_plans_written_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_plans')),
        sa.UniqueConstraint('case_id', 'version', name=op.f('uq_safety_plans_case_id')),
    )
    op.create_table(
        'safety_plan_sends',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('consent_channel', sa.String(length=10), nullable=False),
        sa.Column('consent_by_id', sa.Integer(), nullable=False),
        sa.Column('consent_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('mail_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("consent_channel IN ('oral', 'written')",
                           name=op.f('ck_safety_plan_sends_consent_channel_known')),
        sa.ForeignKeyConstraint(['plan_id'], ['safety_plans.id'],
                                name=op.f('fk_safety_plan_sends_plan_id_safety_plans')),
        sa.ForeignKeyConstraint(['consent_by_id'], ['users.id'],
                                name=op.f('fk_safety_plan_sends_consent_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_plan_sends')),
    )
    op.create_index('ix_safety_plan_sends_plan_id', 'safety_plan_sends', ['plan_id'])
    op.add_column('cases', sa.Column('no_safety_plan_reason', sa.Text(), nullable=True))
    op.add_column('mail_log', sa.Column('attachment', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('mail_log', schema=None) as batch_op:
        batch_op.drop_column('attachment')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('no_safety_plan_reason')
    op.drop_index('ix_safety_plan_sends_plan_id', table_name='safety_plan_sends')
    op.drop_table('safety_plan_sends')
    op.drop_table('safety_plans')
