"""issue 19 — caring messages (caring19): a series per case, its messages

- `caring_series`: one per case — its state (active, stopped, completed), language, who
  started it and when, and why it stopped;
- `caring_messages`: each message of a series — due time, when it was sent, its mail log row
  and outbound email contact, its state (scheduled, sent, skipped, cancelled).

Revision ID: 0027
Revises: 0026

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies (a migration does not import the app).
SERIES_STATES = ('active', 'stopped', 'completed')
LANGUAGES = ('fr', 'nl', 'de', 'en')
MESSAGE_STATES = ('scheduled', 'sent', 'skipped', 'cancelled')


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    op.create_table(
        'caring_series',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('language', sa.String(length=2), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_by_id', sa.Integer(), nullable=True),
        sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('stopped_by_id', sa.Integer(), nullable=True),
        sa.Column('stop_reason', sa.String(length=30), nullable=True),
        sa.Column('stop_note', sa.Text(), nullable=True),
        sa.CheckConstraint(_in('state', SERIES_STATES), name=op.f('ck_caring_series_state_known')),
        sa.CheckConstraint(_in('language', LANGUAGES),
                           name=op.f('ck_caring_series_language_known')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_caring_series_case_id_cases')),
        sa.ForeignKeyConstraint(['started_by_id'], ['users.id'],
                                name=op.f('fk_caring_series_started_by_id_users')),
        sa.ForeignKeyConstraint(['stopped_by_id'], ['users.id'],
                                name=op.f('fk_caring_series_stopped_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_caring_series')),
        sa.UniqueConstraint('case_id', name=op.f('uq_caring_series_case_id')),
    )
    op.create_table(
        'caring_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('series_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('months', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('mail_id', sa.Integer(), nullable=True),
        sa.Column('contact_id', sa.Integer(), nullable=True),
        sa.Column('skip_reason', sa.String(length=30), nullable=True),
        sa.CheckConstraint(_in('state', MESSAGE_STATES),
                           name=op.f('ck_caring_messages_state_known')),
        sa.ForeignKeyConstraint(['series_id'], ['caring_series.id'],
                                name=op.f('fk_caring_messages_series_id_caring_series')),
        sa.ForeignKeyConstraint(['mail_id'], ['mail_log.id'],
                                name=op.f('fk_caring_messages_mail_id_mail_log')),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'],
                                name=op.f('fk_caring_messages_contact_id_contacts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_caring_messages')),
    )
    op.create_index('ix_caring_messages_series', 'caring_messages', ['series_id', 'number'])
    op.create_index(op.f('ix_caring_messages_contact_id'), 'caring_messages', ['contact_id'])
    op.create_index('ix_caring_messages_due', 'caring_messages', ['due_at'],
                    postgresql_where=sa.text("state = 'scheduled'"),
                    sqlite_where=sa.text("state = 'scheduled'"))


def downgrade():
    op.drop_index('ix_caring_messages_due', table_name='caring_messages')
    op.drop_index(op.f('ix_caring_messages_contact_id'), table_name='caring_messages')
    op.drop_index('ix_caring_messages_series', table_name='caring_messages')
    op.drop_table('caring_messages')
    op.drop_table('caring_series')
