"""mail quarantine: messages that could not be ingested

A message whose ingestion fails (too deep, too large, any unexpected error of its
own) is kept here raw, flagged seen on the server and passed by the cursor, so the
mailbox goes on; admins retry or discard it (issue 12).

Revision ID: 0013
Revises: 0012

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mail_quarantine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sa.String(length=200), nullable=True),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=True),
    sa.Column('uid', sa.BigInteger(), nullable=True),
    sa.Column('message_id', sa.String(length=998), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('error', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('failed_retries', sa.Integer(), nullable=False),
    sa.Column('retried_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retried_by_id', sa.Integer(), nullable=True),
    sa.Column('discarded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('discarded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['retried_by_id'], ['users.id'],
                            name=op.f('fk_mail_quarantine_retried_by_id_users')),
    sa.ForeignKeyConstraint(['discarded_by_id'], ['users.id'],
                            name=op.f('fk_mail_quarantine_discarded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_quarantine')),
    sa.UniqueConstraint('mailbox', 'uidvalidity', 'uid',
                        name=op.f('uq_mail_quarantine_mailbox'))
    )
    with op.batch_alter_table('mail_quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_quarantine_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_quarantine_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('mail_quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_quarantine_status'))
        batch_op.drop_index(batch_op.f('ix_mail_quarantine_sha256'))
    op.drop_table('mail_quarantine')
