"""possible duplicates: a person filed by someone who may not see its twin (issue 14)

An ambassador who types an affiliate number, phone or email of a person they may not see
learns nothing: the contact is filed on a new person marked "possible duplicate", the
affiliate number they typed kept aside (`claimed_affiliate_number`: the real column is
unique), and advisors review the pair (contacts.duplicates).

Revision ID: 0016
Revises: 0015

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

PENDING = sa.text("duplicate_status = 'pending'")
COLUMNS = (
    ('claimed_affiliate_number', sa.String(length=40)),
    ('possible_duplicate_of_id', sa.Integer()),
    ('duplicate_reasons', sa.JSON()),
    ('duplicate_status', sa.String(length=12)),
    ('duplicate_flagged_at', sa.DateTime(timezone=True)),
    ('duplicate_reviewed_at', sa.DateTime(timezone=True)),
    ('duplicate_reviewed_by_id', sa.Integer()),
)
FOREIGN_KEYS = (
    ('fk_persons_possible_duplicate_of_id_persons', 'persons', 'possible_duplicate_of_id'),
    ('fk_persons_duplicate_reviewed_by_id_users', 'users', 'duplicate_reviewed_by_id'),
)


def _postgresql():
    return op.get_bind().dialect.name == 'postgresql'


# Plain ALTER TABLE, never batch mode: on SQLite a batch would rebuild `persons`, dropping
# the triggers that keep its search table `persons_fts` in step (migration 0002). SQLite
# adds the columns without their foreign keys (it cannot add a constraint to a table, and
# the application does not turn SQLite's foreign keys on); PostgreSQL gets them.
def upgrade():
    for name, type_ in COLUMNS:
        op.add_column('persons', sa.Column(name, type_, nullable=True))
    if _postgresql():
        for name, target, column in FOREIGN_KEYS:
            op.create_foreign_key(name, 'persons', target, [column], ['id'])
    op.create_index('ix_persons_claimed_affiliate_number', 'persons',
                    ['claimed_affiliate_number'], unique=False)
    op.create_index('ix_persons_duplicates_pending', 'persons',
                    ['duplicate_flagged_at', 'id'], unique=False,
                    postgresql_where=PENDING, sqlite_where=PENDING)


def downgrade():
    op.drop_index('ix_persons_duplicates_pending', table_name='persons')
    op.drop_index('ix_persons_claimed_affiliate_number', table_name='persons')
    if _postgresql():
        for name, _target, _column in FOREIGN_KEYS:
            op.drop_constraint(name, 'persons', type_='foreignkey')
    for name, _type in reversed(COLUMNS):
        op.drop_column('persons', name)
