"""jobs: one incoming email contact per Message-ID and sender

The mailbox ingestion's second key (the first, mailbox + UIDVALIDITY + UID, is
the contacts table's own unique constraint): the same message delivered twice,
or imported from a file and then polled, is one contact.

Revision ID: 0006
Revises: 0005

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

WHERE = "direction = 'in' AND email_message_id IS NOT NULL"


def upgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(
            'uq_contacts_inbound_message', ['email_message_id', 'email_sender'], unique=True,
            postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE),
        )


def downgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('uq_contacts_inbound_message')
