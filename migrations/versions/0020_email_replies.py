"""email answered from Cellule: threading, reply templates, out-of-hours answers (issue 15)

- `contacts.email_references`: the Message-IDs an incoming message answers (its
  In-Reply-To and References), so that a reply from Cellule continues the thread and
  the person's next email finds the case it belongs to;
- `mail_log.references`: the References header of an outgoing reply;
- `mail_log.auto_submitted`: the Auto-Submitted header of an automatic mail to a person
  ("auto-replied" for the out-of-hours answer, RFC 3834);
- `reply_templates`: the admins' reply templates per language, and the out-of-hours
  answer per language (`kind`).

Revision ID: 0020
Revises: 0019

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch rebuild): `contacts` keeps its expression index (0019).
    op.add_column('contacts', sa.Column('email_references', sa.Text(), nullable=True))
    op.add_column('mail_log', sa.Column('references', sa.Text(), nullable=True))
    op.add_column('mail_log', sa.Column('auto_submitted', sa.String(length=20), nullable=True))
    op.create_table(
        'reply_templates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('language', sa.String(length=2), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('reply', 'out_of_hours')",
                           name=op.f('ck_reply_templates_kind_known')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_reply_templates_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_templates')),
        sa.UniqueConstraint('kind', 'language', 'name',
                            name=op.f('uq_reply_templates_kind_language_name')),
    )


def downgrade():
    op.drop_table('reply_templates')
    with op.batch_alter_table('mail_log', schema=None) as batch_op:
        batch_op.drop_column('auto_submitted')
        batch_op.drop_column('references')
    op.drop_column('contacts', 'email_references')
