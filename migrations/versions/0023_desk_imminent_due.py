"""issue 18 — old imminent cases' due time (desk18): placeholder, filled by its owner

Revision ID: 0023
Revises: 0022

"""

# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
