"""issue 19 — caring messages (caring19): placeholder, filled by its owner

Revision ID: 0027
Revises: 0026

"""

# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
