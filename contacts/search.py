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

from sqlalchemy import case, literal

from cellule.extensions import db

from .access import visible_persons
from .models import Person
from .normalise import query_tokens, search_patterns, searchable

DEFAULT_LIMIT = 20
MAX_LIMIT = 50
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
