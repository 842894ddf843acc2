"""Keyset cursors of every list (API contacts and cases, board, queues, my cases, inbox).

A cursor is the last row's sort key, signed with the app's secret key (itsdangerous) and a
salt per list: a forged or altered cursor, or one of another list, fails the signature and
is refused before anything is decoded — no huge number reaches the database, no nesting the
JSON decoder. The decoded key is still checked against the kinds the list expects (ids in
the database's id range, aware datetimes in the sane range), and the text is bounded.

`keyset_page` pages a SELECT by such a key (never OFFSET). `BadCursor` is the one refusal:
the API answers 400/422 naming `cursor`, an HTML list the 400 page.
"""

from datetime import datetime

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import and_, literal, or_, tuple_

from .extensions import db
from .security import MAX_ID
from .timeparse import BadTime, parse_instant

# Twice what the longest sort key (a flag, an instant and an id) encodes to.
MAX_LENGTH = 200


class BadCursor(ValueError):
    pass


def _serializer(kind, secret_key=None):
    return URLSafeSerializer(secret_key or current_app.secret_key, salt=f"cellule.cursor.{kind}")


def encode_cursor(kind, *values, secret_key=None):
    """Return the cursor of list `kind` for a row's sort key (ids, bools, aware datetimes,
    None)."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return _serializer(kind, secret_key).dumps(plain)


def decode_cursor(kind, cursor, kinds):
    """Return the sort key of a cursor of list `kind`, checked against `kinds`.

    Each kind is `int` (a row id), `bool`, `datetime` (aware) or `datetime | None`.
    Raise BadCursor for anything else.
    """
    if not isinstance(cursor, str) or not cursor.isascii() or len(cursor) > MAX_LENGTH:
        raise BadCursor("invalid cursor")
    try:
        plain = _serializer(kind).loads(cursor)
    except BadData:
        raise BadCursor("invalid cursor") from None
    if not isinstance(plain, list) or len(plain) != len(kinds):
        raise BadCursor("invalid cursor")
    return [_value(value, expected) for value, expected in zip(plain, kinds, strict=True)]


def _value(value, kind):
    if kind == datetime | None and value is None:
        return None
    if kind in (datetime, datetime | None):
        if not isinstance(value, str):
            raise BadCursor("invalid cursor")
        try:
            return parse_instant(value)
        except BadTime:
            raise BadCursor("invalid cursor") from None
    if kind is int:
        if type(value) is not int or not 1 <= value <= MAX_ID:
            raise BadCursor("invalid cursor")
        return value
    if kind is bool:
        if type(value) is not bool:
            raise BadCursor("invalid cursor")
        return value
    raise TypeError(f"unknown cursor kind {kind!r}")


# --- Keyset pages ------------------------------------------------------------


def _after(order, values):
    """The WHERE clause of the rows after `values` in `order` ((column, kind, descending)).

    One direction: a row-value comparison, a range of the index however deep the page.
    Mixed directions: the expanded form (k1 after v1) OR (k1 = v1 AND k2 after v2) …
    """
    columns = [column for column, _kind, _desc in order]
    # Bound as the columns' types (a bare True/False admits only = and IS in SQLAlchemy).
    values = [literal(v, c.type) for c, v in zip(columns, values, strict=True)]
    if len({desc for _c, _k, desc in order}) == 1:
        left, right = tuple_(*columns), tuple_(*values)
        return left < right if order[0][2] else left > right
    terms = []
    for i, (column, _kind, descending) in enumerate(order):
        equal = [c == v for c, v in zip(columns[:i], values[:i], strict=True)]
        step = column < values[i] if descending else column > values[i]
        terms.append(and_(*equal, step))
    return or_(*terms)


def keyset_page(stmt, kind, order, cursor=None, limit=50):
    """Return (rows, next_cursor) of a SELECT, `limit` rows after `cursor` in `order`.

    `order` lists the sort key as (column, cursor kind, descending) — unique, ending with
    the id; the cursor is the last row's key, signed for list `kind`. Raise BadCursor.
    """
    if cursor:
        kinds = tuple(cursor_kind for _c, cursor_kind, _d in order)
        stmt = stmt.where(_after(order, decode_cursor(kind, cursor, kinds)))
    sort = [column.desc() if descending else column.asc() for column, _k, descending in order]
    rows = db.session.scalars(stmt.order_by(*sort).limit(limit + 1)).all()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = [getattr(rows[-1], column.key) for column, _k, _d in order]
    return rows, encode_cursor(kind, *last)
