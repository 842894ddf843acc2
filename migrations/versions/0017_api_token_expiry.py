"""API tokens: expiry, revocation reasons (issue 14)

Every token now expires: `expires_at` (NOT NULL; the tokens made before get created_at +
180 days, the default term) and `revoked_reason` (who or what revoked it: the owner, an
administrator, a password change or reset, a deactivation — cellule.tokens.REASONS).

Revision ID: 0017
Revises: 0016

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

BACKFILL_DAYS = 180


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revoked_reason', sa.String(length=20), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            f"UPDATE api_tokens SET expires_at = created_at + INTERVAL '{BACKFILL_DAYS} days'"
        )
    else:
        # SQLite keeps naive UTC text ("YYYY-MM-DD HH:MM:SS[.ffffff]"); datetime() keeps the
        # format and drops the fraction of a second.
        op.execute(
            f"UPDATE api_tokens SET expires_at = datetime(created_at, '+{BACKFILL_DAYS} days')"
        )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('revoked_reason')
        batch_op.drop_column('expires_at')
