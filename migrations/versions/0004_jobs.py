"""jobs: outbox, mail log, notices sent, mailbox state

The transactional outbox (one row per requested job), the log of outgoing mail,
the notices decided once per key (reminders, escalations), and the IMAP
ingestion cursor. Core tables only: no foreign key to a domain's table.

Revision ID: 0004
Revises: 0003

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_name', sa.String(length=80), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('queue', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('run_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('relayed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('relay_count', sa.Integer(), nullable=False),
    sa.Column('check_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'relayed', 'done', 'failed')", name=op.f('ck_outbox_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_job_status', ['job_name', 'status', 'id'], unique=False)
        batch_op.create_index('ix_outbox_pending', ['run_after', 'id'], unique=False, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_outbox_relayed', ['check_after', 'id'], unique=False, postgresql_where=sa.text("status = 'relayed'"), sqlite_where=sa.text("status = 'relayed'"))

    op.create_table('mail_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=998), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('in_reply_to', sa.String(length=998), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'sent', 'skipped')", name=op.f('ck_mail_log_status_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_mail_log_created_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mail_log_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_log')),
    sa.UniqueConstraint('key', name=op.f('uq_mail_log_key')),
    sa.UniqueConstraint('message_id', name=op.f('uq_mail_log_message_id'))
    )
    with op.batch_alter_table('mail_log', schema=None) as batch_op:
        batch_op.create_index('ix_mail_log_person', ['person_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_log_user_id'), ['user_id'], unique=False)

    op.create_table('notices_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('object_type', sa.String(length=30), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices_sent')),
    sa.UniqueConstraint('key', name=op.f('uq_notices_sent_key'))
    )
    op.create_table('mailbox_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sa.String(length=200), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=True),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('polled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailbox_state')),
    sa.UniqueConstraint('mailbox', name=op.f('uq_mailbox_state_mailbox'))
    )


def downgrade():
    op.drop_table('mailbox_state')
    op.drop_table('notices_sent')
    with op.batch_alter_table('mail_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_log_user_id'))
        batch_op.drop_index('ix_mail_log_person')
    op.drop_table('mail_log')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_relayed')
        batch_op.drop_index('ix_outbox_pending')
        batch_op.drop_index('ix_outbox_job_status')
    op.drop_table('outbox')
