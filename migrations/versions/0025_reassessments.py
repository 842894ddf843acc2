"""issue 19 — re-assessments (reassess19): placeholder, filled by its owner

Revision ID: 0025
Revises: 0024

"""

# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
