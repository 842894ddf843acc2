"""cases: cases, triage runs, timeline, notes, resources, referrals, tasks

Partial indexes (one open case per person; open cases by queue/deadline/assignee;
open tasks) use the same WHERE clause on SQLite and PostgreSQL.

Revision ID: 0003
Revises: 0002

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_case_counters'))
    )
    op.create_table('resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('hours', sa.String(length=200), nullable=True),
    sa.Column('price_cents', sa.Integer(), nullable=True),
    sa.Column('cost', sa.String(length=200), nullable=True),
    sa.Column('descriptions', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('crisis_line', 'in_house_psychology', 'coaching_partner', 'external_specialist', 'workshop', 'self_help', 'rights_info')", name=op.f('ck_resources_kind_known')),
    sa.CheckConstraint('price_cents IS NULL OR price_cents >= 0', name=op.f('ck_resources_price_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resources'))
    )
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.create_index('ix_resources_kind', ['kind', 'active', 'name'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('route', sa.String(length=20), nullable=False),
    sa.Column('queue', sa.String(length=20), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("level IN ('low', 'at_risk', 'elevated', 'serious', 'high', 'imminent')", name=op.f('ck_cases_level_known')),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('resolved', 'referred_external', 'declined', 'no_contact', 'other')", name=op.f('ck_cases_outcome_known')),
    sa.CheckConstraint("queue IN ('psychology', 'advisors')", name=op.f('ck_cases_queue_known')),
    sa.CheckConstraint("route IN ('information', 'coaching', 'psychologist', 'crisis')", name=op.f('ck_cases_route_known')),
    sa.CheckConstraint("status IN ('open', 'in_progress', 'waiting', 'closed')", name=op.f('ck_cases_status_known')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_cases_assignee_id_users')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_cases_closed_by_id_users')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_cases_opened_by_id_users')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_cases_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('reference', name=op.f('uq_cases_reference'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_open_assignee', ['assignee_id', 'due_at', 'id'], unique=False, postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'"))
        batch_op.create_index('ix_cases_open_due', ['due_at', 'id'], unique=False, postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'"))
        batch_op.create_index('ix_cases_open_queue', ['queue', 'due_at', 'id'], unique=False, postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'"))
        batch_op.create_index('ix_cases_opened_by', ['opened_by_id', 'due_at', 'id'], unique=False)
        batch_op.create_index('ix_cases_person', ['person_id'], unique=False)
        batch_op.create_index('uq_cases_open_person', ['person_id'], unique=True, postgresql_where=sa.text("status <> 'closed' AND person_id IS NOT NULL"), sqlite_where=sa.text("status <> 'closed' AND person_id IS NOT NULL"))

    op.create_table('case_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('linked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_contacts_case_id_cases')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_case_contacts_contact_id_contacts')),
    sa.ForeignKeyConstraint(['linked_by_id'], ['users.id'], name=op.f('fk_case_contacts_linked_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_contacts')),
    sa.UniqueConstraint('case_id', 'contact_id', name='uq_case_contacts_pair')
    )
    with op.batch_alter_table('case_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_contacts_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_contacts_contact_id'), ['contact_id'], unique=False)

    op.create_table('case_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('case_version', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_case_events_actor_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_case', ['case_id', 'id'], unique=False)

    op.create_table('case_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("visibility IN ('team', 'clinical')", name=op.f('ck_case_notes_visibility_known')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_case_notes_author_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_notes_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes'))
    )
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.create_index('ix_case_notes_case', ['case_id', 'id'], unique=False)

    op.create_table('triage_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('script_id', sa.String(length=60), nullable=False),
    sa.Column('script_version', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('immediate_danger', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('evaluation', sa.JSON(), nullable=True),
    sa.Column('proposed_level', sa.String(length=20), nullable=True),
    sa.Column('proposed_route', sa.String(length=20), nullable=True),
    sa.Column('proposed_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('final_level', sa.String(length=20), nullable=True),
    sa.Column('final_route', sa.String(length=20), nullable=True),
    sa.Column('final_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision', sa.String(length=12), nullable=True),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('requested_level', sa.String(length=20), nullable=True),
    sa.Column('requested_route', sa.String(length=20), nullable=True),
    sa.Column('signoff_state', sa.String(length=12), nullable=True),
    sa.Column('signoff_by_id', sa.Integer(), nullable=True),
    sa.Column('signoff_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signoff_note', sa.Text(), nullable=True),
    sa.Column('crisis_shown', sa.Boolean(), nullable=False),
    sa.Column('resources_given', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("decision IS NULL OR decision IN ('confirm', 'raise', 'downgrade')", name=op.f('ck_triage_runs_decision_known')),
    sa.CheckConstraint("signoff_state IS NULL OR signoff_state IN ('pending', 'approved', 'rejected')", name=op.f('ck_triage_runs_signoff_known')),
    sa.CheckConstraint("state IN ('draft', 'decided', 'incomplete')", name=op.f('ck_triage_runs_state_known')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_triage_runs_case_id_cases')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_triage_runs_contact_id_contacts')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_triage_runs_created_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_triage_runs_decided_by_id_users')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_triage_runs_person_id_persons')),
    sa.ForeignKeyConstraint(['signoff_by_id'], ['users.id'], name=op.f('fk_triage_runs_signoff_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_triage_runs'))
    )
    with op.batch_alter_table('triage_runs', schema=None) as batch_op:
        batch_op.create_index('ix_triage_runs_case', ['case_id', 'id'], unique=False)
        batch_op.create_index('ix_triage_runs_contact', ['contact_id', 'id'], unique=False)
        batch_op.create_index('ix_triage_runs_created_by', ['created_by_id', 'id'], unique=False)
        batch_op.create_index('ix_triage_runs_person', ['person_id', 'id'], unique=False)

    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('triage_run_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('price_cents_shown', sa.Integer(), nullable=True),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consent_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_referrals_case_id_cases')),
    sa.ForeignKeyConstraint(['consent_by_id'], ['users.id'], name=op.f('fk_referrals_consent_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_referrals_created_by_id_users')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_referrals_person_id_persons')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_referrals_resource_id_resources')),
    sa.ForeignKeyConstraint(['triage_run_id'], ['triage_runs.id'], name=op.f('fk_referrals_triage_run_id_triage_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_case', ['case_id', 'id'], unique=False)
        batch_op.create_index('ix_referrals_triage_run', ['triage_run_id'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('triage_run_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('callback', 'check_in', 'survey', 'sign_off', 'complete_triage', 'custom')", name=op.f('ck_tasks_kind_known')),
    sa.CheckConstraint("status IN ('open', 'done', 'cancelled')", name=op.f('ck_tasks_status_known')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_tasks_assignee_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_tasks_case_id_cases')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_tasks_created_by_id_users')),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], name=op.f('fk_tasks_done_by_id_users')),
    sa.ForeignKeyConstraint(['triage_run_id'], ['triage_runs.id'], name=op.f('fk_tasks_triage_run_id_triage_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_case', ['case_id', 'id'], unique=False)
        batch_op.create_index('ix_tasks_open_assignee', ['assignee_id', 'due_at', 'id'], unique=False, postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
        batch_op.create_index('ix_tasks_open_due', ['due_at', 'id'], unique=False, postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
        batch_op.create_index('ix_tasks_triage_run', ['triage_run_id'], unique=False)



def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_triage_run')
        batch_op.drop_index('ix_tasks_open_due', postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_tasks_open_assignee', postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_tasks_case')

    op.drop_table('tasks')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_triage_run')
        batch_op.drop_index('ix_referrals_case')

    op.drop_table('referrals')
    with op.batch_alter_table('triage_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_triage_runs_person')
        batch_op.drop_index('ix_triage_runs_created_by')
        batch_op.drop_index('ix_triage_runs_contact')
        batch_op.drop_index('ix_triage_runs_case')

    op.drop_table('triage_runs')
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_case_notes_case')

    op.drop_table('case_notes')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_case')

    op.drop_table('case_events')
    with op.batch_alter_table('case_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_contacts_contact_id'))
        batch_op.drop_index(batch_op.f('ix_case_contacts_case_id'))

    op.drop_table('case_contacts')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('uq_cases_open_person', postgresql_where=sa.text("status <> 'closed' AND person_id IS NOT NULL"), sqlite_where=sa.text("status <> 'closed' AND person_id IS NOT NULL"))
        batch_op.drop_index('ix_cases_person')
        batch_op.drop_index('ix_cases_opened_by')
        batch_op.drop_index('ix_cases_open_queue', postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'"))
        batch_op.drop_index('ix_cases_open_due', postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'"))
        batch_op.drop_index('ix_cases_open_assignee', postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'"))

    op.drop_table('cases')
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_index('ix_resources_kind')

    op.drop_table('resources')
    op.drop_table('case_counters')
