"""search: the person search's word index (issue 9)

`person_name_words` holds, for every word of a person's folded name, the name from
that word on, with the name key: the people a one-word search ranks first (a word of
their name starts with it) are found and ordered from this index alone. Filled here
from the existing people; kept by `contacts.name_words` afterwards.

Revision ID: 0009
Revises: 0008

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# Frozen copies of `contacts.name_words` (a migration does not import the app).
REBUILD_SQL = """
INSERT INTO person_name_words (person_id, position, tail, name_key)
SELECT p.id, w.i - 1, array_to_string(w.words[w.i:], ' '), p.name_key
FROM persons p
CROSS JOIN LATERAL (
    SELECT string_to_array(p.name_key, ' ') AS words,
           generate_subscripts(string_to_array(p.name_key, ' '), 1) AS i
) w
WHERE p.name_key <> '' AND w.words[w.i] <> ''
"""


def _tails(key):
    words = (key or "").split(" ")
    return [(i, " ".join(words[i:])) for i, word in enumerate(words) if word]


def upgrade():
    binary = sa.String(length=200).with_variant(sa.String(length=200, collation="C"),
                                                 "postgresql")
    table = op.create_table('person_name_words',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('tail', binary, nullable=False),
    sa.Column('name_key', binary, nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_person_name_words_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'position', name=op.f('pk_person_name_words'))
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(REBUILD_SQL)
    else:
        rows = []
        for person_id, key in bind.execute(sa.text("SELECT id, name_key FROM persons")):
            rows.extend({"person_id": person_id, "position": position, "tail": tail,
                         "name_key": key} for position, tail in _tails(key))
            if len(rows) >= 5000:
                op.bulk_insert(table, rows)
                rows = []
        if rows:
            op.bulk_insert(table, rows)
    # Built after the fill: one sort instead of millions of index insertions.
    with op.batch_alter_table('person_name_words', schema=None) as batch_op:
        batch_op.create_index('ix_person_name_words_tail',
                              ['tail', 'name_key', 'person_id', 'position'], unique=False)


def downgrade():
    with op.batch_alter_table('person_name_words', schema=None) as batch_op:
        batch_op.drop_index('ix_person_name_words_tail')
    op.drop_table('person_name_words')
