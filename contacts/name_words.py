"""The person search's word index (`person_name_words`), kept in step with `name_key`.

Every flush that creates a person or changes a `name_key` rewrites that person's rows, in
the same transaction: the ORM hook below, so no code path can forget it. Bulk loads
outside the ORM (the benchmark generator, migration 0009) use `name_tails` or
`rebuild_all`, which produce the same rows.
"""

from itertools import chain

from sqlalchemy import delete, event, insert, inspect, text
from sqlalchemy.orm import Session

from .models import Person, PersonNameWord

_TABLE = PersonNameWord.__table__


def name_tails(key):
    """[(position, tail)]: the folded name from each word on ("jan de smet" → 3 tails).

    A word starts at the beginning of the key and after each space; empty words (never
    made by `normalise.fold`, which collapses spaces) have no tail.
    """
    words = (key or "").split(" ")
    return [(i, " ".join(words[i:])) for i, word in enumerate(words) if word]


def rows_for(person_id, key):
    return [{"person_id": person_id, "position": position, "tail": tail, "name_key": key}
            for position, tail in name_tails(key)]


def _after_flush(session, _flush_context):
    changed = [
        obj for obj in chain(session.new, session.dirty)
        if isinstance(obj, Person) and obj.id is not None
        and (obj in session.new or inspect(obj).attrs.name_key.history.has_changes())
    ]
    if not changed:
        return
    connection = session.connection()
    renamed = [p.id for p in changed if p not in session.new]
    if renamed:
        connection.execute(delete(_TABLE).where(_TABLE.c.person_id.in_(renamed)))
    rows = [row for p in changed for row in rows_for(p.id, p.name_key or "")]
    if rows:
        connection.execute(insert(_TABLE), rows)


def install():
    """Keep the word index in step on every ORM session (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def rebuild_all(connection):
    """Rewrite the whole word index from `persons` (bulk loads; one statement on PostgreSQL)."""
    connection.execute(delete(_TABLE))
    if connection.dialect.name == "postgresql":
        connection.execute(text(REBUILD_SQL))
        return
    persons = connection.execute(text("SELECT id, name_key FROM persons")).all()
    batch = []
    for person_id, key in persons:
        batch.extend(rows_for(person_id, key))
        if len(batch) >= 5000:
            connection.execute(insert(_TABLE), batch)
            batch = []
    if batch:
        connection.execute(insert(_TABLE), batch)


# The same rows as `name_tails`, computed by PostgreSQL (split on single spaces, empty
# words skipped, the tail re-joined with single spaces).
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
