"""Odd input of issue 13 for the fuzzers and tests/security/test_odd_input.py: forged keyset
cursors, dates at the edges of the calendar, lone surrogates, deep nesting.

Fixed examples (the ones an outside test found) and hypothesis strategies that generate
more of each kind.
"""

import base64
import json

from hypothesis import strategies as st


def b64(raw):
    """The unsigned encoding cursors had: URL-safe base64 of the JSON text."""
    if isinstance(raw, str):
        raw = raw.encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Cursors a client may forge: the old unsigned encoding of a sort key with a number beyond
# any id (OverflowError at the database), 3000 nested brackets (RecursionError in the
# decoder), a date at the edge of the calendar, a huge text, and plain junk.
FORGED_CURSORS = {
    "huge_integer": b64(json.dumps(["2025-01-01T00:00:00+00:00", 10**40])),
    "huge_integer_inbox": b64(json.dumps([True, "2025-01-01T00:00:00+00:00", 10**40])),
    "deep_brackets": b64("[" * 3000),
    "edge_date": b64(json.dumps(["0001-01-01T00:00:00+05:00", 1])),
    "negative_id": b64(json.dumps([None, -(2**63) - 1])),
    "huge_text": "A" * 100_000,
    "junk": "%%%",
}

# Instants with an offset, as an API client writes them.
EDGE_INSTANTS = [
    "0001-01-01T00:00+05:00",  # before year 1 in UTC: OverflowError when converted
    "9999-12-31T23:59-05:00",  # after year 9999 in UTC
    "0000-01-01T00:00+00:00",  # year 0
    "10000-01-01T00:00+00:00",  # year 10000
    "2025-01-01T00:00+99:00",  # an offset beyond a day
    "1899-12-31T23:59+00:00",  # before the sane range
    "2101-01-01T00:00+00:00",  # after it
]
# Local times, as a datetime-local input sends them.
EDGE_LOCAL = ["0001-01-01T00:00", "9999-12-31T23:59", "1800-06-01T12:00", "2200-06-01T12:00"]
# Dates, as a date input or a report query sends them.
EDGE_DATES = ["0001-01-01", "9999-12-31", "0000-01-01", "10000-01-01", "1899-12-31",
              "2101-01-01"]


def nested(depth, leaf="x"):
    """`leaf` inside `depth - 1` arrays (so `depth` levels of JSON with an enclosing one)."""
    value = leaf
    for _ in range(depth - 1):
        value = [value]
    return value


# --------------------------------------------------------------------------- strategies

_FAR_YEARS = st.one_of(st.sampled_from([1, 2, 1899, 2101, 9998, 9999]),
                       st.integers(1, 1899), st.integers(2101, 9999))
_OFFSETS = st.sampled_from(["+05:00", "-05:00", "+23:59", "-23:59", "Z", "+00:00", "+99:00",
                            "+24:00", "-1000:00"])


def edge_dates():
    """Dates (YYYY-MM-DD) far outside 1900…2100, years 0 and 10000 included."""
    generated = st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", _FAR_YEARS,
                          st.integers(1, 12), st.integers(1, 28))
    return st.one_of(st.sampled_from(EDGE_DATES), generated)


def edge_local_times():
    """Local date-times without an offset (datetime-local inputs) far outside the range."""
    generated = st.builds(lambda day, h: f"{day}T{h:02d}:59", edge_dates(), st.integers(0, 23))
    return st.one_of(st.sampled_from(EDGE_LOCAL), generated)


def edge_instants():
    """ISO 8601 instants at the edges: far years, offsets up to (and beyond) a day."""
    generated = st.builds(lambda local, offset: local + offset, edge_local_times(), _OFFSETS)
    return st.one_of(st.sampled_from(EDGE_INSTANTS), generated)


def _sort_key_value():
    return st.one_of(st.integers(min_value=-(2**70), max_value=2**70),
                     st.sampled_from([0, -1, 2**31, 2**63, 10**40]), st.booleans(), st.none(),
                     edge_instants(), st.text(max_size=20), st.floats())


def forged_cursors():
    """Cursors a client may forge: the fixed ones, generated unsigned sort keys (huge
    numbers, edge dates, wrong types), nesting, and strings of junk."""
    unsigned = st.lists(_sort_key_value(), max_size=4).map(lambda v: b64(json.dumps(v)))
    deep = st.integers(33, 3000).map(lambda n: b64("[" * n + "]" * n))
    signed_looking = st.builds(lambda a, b: f"{a}.{b}", unsigned, st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        min_size=27, max_size=27))
    return st.one_of(st.sampled_from(list(FORGED_CURSORS.values())), unsigned, deep,
                     signed_looking, st.text(max_size=300))


LONE_SURROGATES = st.one_of(st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"]),
                            st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))


def with_lone_surrogate(text):
    """`text` with a lone surrogate inserted somewhere (a strategy)."""
    text = text if isinstance(text, str) else ""
    return st.tuples(st.integers(0, len(text)), LONE_SURROGATES).map(
        lambda pair: text[: pair[0]] + pair[1] + text[pair[0]:])


def json_bytes(value, raw_utf8=False):
    """The JSON text of `value` as bytes, lone surrogates as `\\ud800` escapes (or, with
    `raw_utf8`, as their invalid UTF-8 bytes, which Python's JSON decoder also lets pass)."""
    if raw_utf8:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()
