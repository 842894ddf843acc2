"""Keyset cursors: opaque, URL-safe encodings of the last row's sort key."""

import base64
import json
from datetime import datetime


class BadCursor(ValueError):
    pass


def encode_cursor(*values):
    """Return an opaque cursor for a row's sort key (ints, bools, aware datetimes)."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, kinds):
    """Return the sort key of a cursor, checked against `kinds` (int, bool, datetime)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = json.loads(raw)
    except (ValueError, TypeError):
        raise BadCursor("invalid cursor") from None
    if not isinstance(plain, list) or len(plain) != len(kinds):
        raise BadCursor("invalid cursor")
    values = []
    for value, kind in zip(plain, kinds, strict=True):
        if kind is datetime:
            try:
                value = datetime.fromisoformat(value)
            except (TypeError, ValueError):
                raise BadCursor("invalid cursor") from None
            if value.tzinfo is None:
                raise BadCursor("invalid cursor")
        elif kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise BadCursor("invalid cursor")
        elif kind is bool and not isinstance(value, bool):
            raise BadCursor("invalid cursor")
        values.append(value)
    return values
