"""Person search: every query token must occur in the person's folded search text.

The meaning of a search is the same on both databases and is decided by plain
`LIKE` on text folded in Python (`normalise.fold`, `normalise.search_text`): a
token of three characters or more must occur anywhere (`%lambert%`), a shorter
one must start a word (`% la%`; the search text starts with a space); a search
made only of one-letter tokens finds nothing (type two letters). Results
are ordered by a rank (name starts with the first token, a word of the name
does, elsewhere), then the folded name in code-point order, then id. Tokens hold
only letters and digits (`normalise.query_tokens`), so no LIKE wildcard can slip in.

The databases only differ in how they find the candidates fast:

- PostgreSQL: the pg_trgm GIN index `ix_persons_search_trgm` serves the LIKEs
  (any pattern with a trigram in it, " la" included);
- SQLite: the FTS5 trigram table `persons_fts` narrows the rows first (patterns
  of three characters or more, as a phrase), then the same LIKEs decide.
"""

import re

from sqlalchemy import case, literal, select

from cellule.extensions import db

from .access import sees_all, visible_persons
from .models import Person, PersonNameWord
from .normalise import query_tokens, search_patterns, searchable

DEFAULT_LIMIT = 20
MAX_LIMIT = 50
# The word index path reads at most this many rank 0/1 candidates before it leaves the
# answer to the general query.
CANDIDATES = 400
_SAFE = re.compile(r"^ ?[^\W_]+$")


def _binary(column):
    """Order by code points on both databases (no locale-dependent collation)."""
    return column.collate("C" if db.engine.dialect.name == "postgresql" else "BINARY")


def search_persons(query, user, limit=DEFAULT_LIMIT, where=()):
    """Return the active people visible to `user` matching `query`, best first.

    `where` adds conditions (the API's exact phone, email, affiliate filters).
    """
    tokens = query_tokens(query)
    if not searchable(tokens):
        return []
    patterns = [p for p in search_patterns(tokens) if _SAFE.match(p)]
    stmt = visible_persons(user).where(*where)
    for pattern in patterns:
        stmt = stmt.where(Person.search_text.like(f"%{pattern}%"))
    if len(tokens) == 1 and not where and sees_all(user):
        found = _by_name_words(stmt, tokens[0], limit)
        if found is not None:
            return found
    return _ranked(stmt, tokens, patterns, limit)


def _by_name_words(stmt, first, limit):
    """The best `limit` matches when they are all of rank 0 or 1, else None.

    Rank 0 and 1 people have a word of their name starting with the (only) token: the word
    index lists them with their name key, so they are put in the search's order without
    reading their rows, then checked against the full query in that order, a page at a
    time. When fewer than `limit` of them match, rank 2 people belong to the answer too:
    None, and the full query decides. Same answer as `_ranked`, by construction (and by
    test); what it saves is reading and sorting every match of a common name ("peeters":
    thousands) to return twenty.
    """
    if not first or len(first) < 2:
        return None
    upper = first[:-1] + chr(ord(first[-1]) + 1)
    words = PersonNameWord.__table__.c
    rank = case((words.position == 0, 0), else_=1)
    candidates = (
        select(words.person_id)
        .where(words.tail >= first, words.tail < upper)
        .order_by(rank, _binary(words.name_key), words.person_id)
        .limit(CANDIDATES)
    )
    # A person twice (two words starting with the token): the first time is their rank.
    ids = list(dict.fromkeys(db.session.scalars(candidates)))
    if len(ids) < limit:  # a rare name: rank 2 matches may complete the page
        return None
    found, start, size = [], 0, limit
    while start < len(ids):  # pages of 20, 80, 320: the first one almost always suffices
        chunk = ids[start:start + size]
        matching = {p.id: p for p in db.session.scalars(stmt.where(Person.id.in_(chunk)))}
        found.extend(matching[i] for i in chunk if i in matching)
        if len(found) >= limit:
            return found[:limit]
        start, size = start + size, size * 4
    return None


def _ranked(stmt, tokens, patterns, limit):
    """Every match ranked by the database (the general path)."""
    if db.engine.dialect.name == "sqlite":
        indexed = [p for p in patterns if len(p) >= 3]
        if indexed:
            match = " ".join(f'"{p}"' for p in indexed)
            fts = db.text("SELECT rowid FROM persons_fts WHERE persons_fts MATCH :match")
            stmt = stmt.where(Person.id.in_(fts.bindparams(match=match).columns(rowid=db.Integer)))
    first = tokens[0]
    rank = case(
        (Person.name_key.like(f"{first}%"), 0),
        ((literal(" ") + Person.name_key).like(f"% {first}%"), 1),
        else_=2,
    )
    stmt = stmt.order_by(rank, _binary(Person.name_key), Person.id).limit(limit)
    return db.session.scalars(stmt).all()
