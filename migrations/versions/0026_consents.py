"""issue 20 — consent per purpose (consent20): placeholder, filled by its owner

Revision ID: 0026
Revises: 0025

"""

# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
