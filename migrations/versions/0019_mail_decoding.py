"""mail decoded like a mail client: losses marked, exactly once without a NULL hole (issue 15)

- `contacts.email_losses`: what the email body does not show as it arrived
  (`contacts.mail_decode`); any code means the original is kept;
- `email_originals`: the raw bytes of those messages, encrypted, one row per contact;
- the second key of incoming mail compares the sender with COALESCE(email_sender, ''),
  so that a message without a sender (stored NULL before, "" now) is one contact. Rows
  already filed twice that way keep their contacts (people may have worked on them): the
  later copies get their Message-ID suffixed with " duplicate <id>" and stay visible.

SQLite note: an index on an expression is not reflected by SQLAlchemy, so a later
migration that rebuilds `contacts` in batch mode must re-create this index itself.

Revision ID: 0019
Revises: 0018

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

WHERE = "direction = 'in' AND email_message_id IS NOT NULL"


def upgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_losses', sa.JSON(), nullable=True))
    op.create_table(
        'email_originals',
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('raw', sa.Text(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE',
                                name=op.f('fk_email_originals_contact_id_contacts')),
        sa.PrimaryKeyConstraint('contact_id', name=op.f('pk_email_originals')),
    )
    # The copies filed twice through the NULL hole: all but the first are renamed.
    op.execute(sa.text(
        "UPDATE contacts SET email_message_id = substr(email_message_id, 1, 960) "
        "|| ' duplicate ' || CAST(id AS VARCHAR(20)) "
        f"WHERE {WHERE} AND id > (SELECT min(c.id) FROM contacts c "
        "WHERE c.direction = 'in' AND c.email_message_id = contacts.email_message_id "
        "AND coalesce(c.email_sender, '') = coalesce(contacts.email_sender, ''))"
    ))
    op.drop_index('uq_contacts_inbound_message', table_name='contacts')
    op.create_index(
        'uq_contacts_inbound_message', 'contacts',
        [sa.text('email_message_id'), sa.text("coalesce(email_sender, '')")], unique=True,
        postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE),
    )


def downgrade():
    op.drop_index('uq_contacts_inbound_message', table_name='contacts')
    op.drop_table('email_originals')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('email_losses')
    op.create_index(
        'uq_contacts_inbound_message', 'contacts', ['email_message_id', 'email_sender'],
        unique=True, postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE),
    )
