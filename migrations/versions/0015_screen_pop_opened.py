"""screen-pops open once: who opened the link, and when (issue 14)

A screen-pop link is claimed by the first staff member who opens it; `opened_at` and
`opened_by_id` record the claim, and any later opening elsewhere is refused
(contacts.operations.open_screen_pop).

Revision ID: 0015
Revises: 0014

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('screen_pops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('opened_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_screen_pops_opened_by_id_users'), 'users',
                                    ['opened_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('screen_pops', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_screen_pops_opened_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('opened_by_id')
        batch_op.drop_column('opened_at')
