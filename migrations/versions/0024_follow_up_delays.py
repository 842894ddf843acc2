"""follow-up delays per level, set by the administrators (issue 19)

- `follow_up_delays`: one row per level an administrator set — its follow-up contacts in
  hours after the case opened or was raised (a JSON list, increasing); a level without a
  row keeps the defaults (24 h, 72 h, 7 days, 1 month, 3 months), and
  `CELLULE_FOLLOW_UP_DELAYS` still overrides both.

Revision ID: 0024
Revises: 0023

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

# Frozen copy of the vocabulary (a migration does not import the app).
LEVELS = ('low', 'at_risk', 'elevated', 'serious', 'high', 'imminent')


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    op.create_table(
        'follow_up_delays',
        sa.Column('level', sa.String(length=20), nullable=False),
        sa.Column('hours', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint(_in('level', LEVELS), name=op.f('ck_follow_up_delays_level_known')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_follow_up_delays_updated_by_id_users')),
        sa.PrimaryKeyConstraint('level', name=op.f('pk_follow_up_delays')),
    )


def downgrade():
    op.drop_table('follow_up_delays')
