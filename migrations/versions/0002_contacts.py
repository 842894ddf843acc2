"""contacts: persons, contacts, screen-pop tokens, person search indexes

Person search matches every query token as a substring of `persons.search_text`,
a column folded in Python (lower case, no accents) so both databases compare the
same text. The indexes below only make that match fast:
PostgreSQL: a pg_trgm GIN index (serves LIKE '%token%');
SQLite: an FTS5 trigram table kept in step with `persons` by triggers.

Revision ID: 0002
Revises: 0001

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('persons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('affiliate_number', sa.String(length=40), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('phone_valid', sa.Boolean(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('starter', sa.Boolean(), nullable=False),
    sa.Column('sector', sa.String(length=40), nullable=True),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('merged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('merged_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("language IN ('fr', 'nl', 'de', 'en')", name=op.f('ck_persons_language_known')),
    sa.CheckConstraint('merged_into_id IS NULL OR merged_into_id <> id', name=op.f('ck_persons_not_self_merged')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_persons_created_by_id_users')),
    sa.ForeignKeyConstraint(['merged_by_id'], ['users.id'], name=op.f('fk_persons_merged_by_id_users')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['persons.id'], name=op.f('fk_persons_merged_into_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_persons')),
    sa.UniqueConstraint('affiliate_number', name=op.f('uq_persons_affiliate_number'))
    )
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_persons_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_persons_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_persons_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_persons_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_persons_phone'), ['phone'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_persons_search_trgm ON persons "
            "USING gin (search_text gin_trgm_ops) WHERE merged_into_id IS NULL"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE persons_fts USING fts5("
            "search_text, content='persons', content_rowid='id', tokenize='trigram')"
        )
        op.execute(
            "CREATE TRIGGER persons_fts_insert AFTER INSERT ON persons BEGIN "
            "INSERT INTO persons_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER persons_fts_delete AFTER DELETE ON persons BEGIN "
            "INSERT INTO persons_fts(persons_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER persons_fts_update AFTER UPDATE OF search_text ON persons BEGIN "
            "INSERT INTO persons_fts(persons_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); "
            "INSERT INTO persons_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )

    op.create_table('screen_pops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('call_id', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('dialled', sa.String(length=40), nullable=True),
    sa.Column('event', sa.String(length=10), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_screen_pops_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screen_pops')),
    sa.UniqueConstraint('digest', name=op.f('uq_screen_pops_digest'))
    )
    with op.batch_alter_table('screen_pops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screen_pops_expires_at'), ['expires_at'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('red_flagged', sa.Boolean(), nullable=False),
    sa.Column('red_flags', sa.JSON(), nullable=False),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('call_id', sa.String(length=100), nullable=True),
    sa.Column('referral_reach', sa.String(length=254), nullable=True),
    sa.Column('consent_to_contact', sa.Boolean(), nullable=True),
    sa.Column('email_sender', sa.String(length=320), nullable=True),
    sa.Column('email_subject', sa.String(length=998), nullable=True),
    sa.Column('email_body', sa.Text(), nullable=True),
    sa.Column('email_message_id', sa.String(length=998), nullable=True),
    sa.Column('mailbox', sa.String(length=200), nullable=True),
    sa.Column('mailbox_uidvalidity', sa.BigInteger(), nullable=True),
    sa.Column('mailbox_uid', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("channel IN ('phone', 'email', 'internal_referral', 'web', 'walk_in')", name=op.f('ck_contacts_channel_known')),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_contacts_direction_known')),
    sa.CheckConstraint('duration_minutes IS NULL OR (duration_minutes >= 0 AND duration_minutes <= 1440)', name=op.f('ck_contacts_duration_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_contacts_created_by_id_users')),
    sa.ForeignKeyConstraint(['handled_by_id'], ['users.id'], name=op.f('fk_contacts_handled_by_id_users')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_contacts_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('mailbox', 'mailbox_uidvalidity', 'mailbox_uid', name='uq_contacts_mailbox_message')
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_contacts_channel_occurred', ['channel', 'occurred_at', 'id'], unique=False)
        batch_op.create_index('ix_contacts_created_by_occurred', ['created_by_id', 'occurred_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_email_message_id'), ['email_message_id'], unique=False)
        batch_op.create_index('ix_contacts_flagged', ['occurred_at', 'id'], unique=False, postgresql_where=sa.text('red_flagged'), sqlite_where=sa.text('red_flagged'))
        batch_op.create_index(batch_op.f('ix_contacts_handled_by_id'), ['handled_by_id'], unique=False)
        batch_op.create_index('ix_contacts_inbox', ['red_flagged', 'occurred_at', 'id'], unique=False, postgresql_where=sa.text("handled_at IS NULL AND channel IN ('email', 'internal_referral')"), sqlite_where=sa.text("handled_at IS NULL AND channel IN ('email', 'internal_referral')"))
        batch_op.create_index('ix_contacts_occurred', ['occurred_at', 'id'], unique=False)
        batch_op.create_index('ix_contacts_person_occurred', ['person_id', 'occurred_at', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_person_occurred')
        batch_op.drop_index('ix_contacts_occurred')
        batch_op.drop_index('ix_contacts_inbox', postgresql_where=sa.text("handled_at IS NULL AND channel IN ('email', 'internal_referral')"), sqlite_where=sa.text("handled_at IS NULL AND channel IN ('email', 'internal_referral')"))
        batch_op.drop_index(batch_op.f('ix_contacts_handled_by_id'))
        batch_op.drop_index('ix_contacts_flagged', postgresql_where=sa.text('red_flagged'), sqlite_where=sa.text('red_flagged'))
        batch_op.drop_index(batch_op.f('ix_contacts_email_message_id'))
        batch_op.drop_index('ix_contacts_created_by_occurred')
        batch_op.drop_index('ix_contacts_channel_occurred')
        batch_op.drop_index(batch_op.f('ix_contacts_call_id'))

    op.drop_table('contacts')
    with op.batch_alter_table('screen_pops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screen_pops_expires_at'))

    op.drop_table('screen_pops')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_persons_search_trgm")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS persons_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS persons_fts")
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_persons_phone'))
        batch_op.drop_index(batch_op.f('ix_persons_name_key'))
        batch_op.drop_index(batch_op.f('ix_persons_merged_into_id'))
        batch_op.drop_index(batch_op.f('ix_persons_email'))
        batch_op.drop_index(batch_op.f('ix_persons_created_by_id'))

    op.drop_table('persons')
