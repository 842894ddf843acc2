"""Business time: opening hours, Belgian holidays, DST (SPEC "Business time")."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from triage import BusinessCalendar, parse_opening_hours

BRUSSELS = ZoneInfo("Europe/Brussels")


def bxl(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


# 2026-03-02 is a Monday. DST: 2026-03-29, 2026-10-25 and 2027-03-28 are Sundays.
FOUR_HOURS = [
    ("monday 10:00", bxl(2026, 3, 2, 10), bxl(2026, 3, 2, 14)),
    ("at opening", bxl(2026, 3, 2, 8, 30), bxl(2026, 3, 2, 12, 30)),
    ("ends exactly at closing", bxl(2026, 3, 2, 13), bxl(2026, 3, 2, 17)),
    ("at closing", bxl(2026, 3, 2, 17), bxl(2026, 3, 3, 12, 30)),
    ("friday 15:00 to monday", bxl(2026, 3, 6, 15), bxl(2026, 3, 9, 10, 30)),
    ("saturday", bxl(2026, 3, 7, 11), bxl(2026, 3, 9, 12, 30)),
    ("sunday night", bxl(2026, 3, 8, 23, 59), bxl(2026, 3, 9, 12, 30)),
    ("evening 20:00", bxl(2026, 3, 2, 20), bxl(2026, 3, 3, 12, 30)),
    ("morning 07:00", bxl(2026, 3, 3, 7), bxl(2026, 3, 3, 12, 30)),
    ("across christmas", bxl(2026, 12, 24, 15), bxl(2026, 12, 28, 10, 30)),
    ("across new year", bxl(2026, 12, 31, 16), bxl(2027, 1, 4, 11, 30)),
    ("easter monday 2027 and dst", bxl(2027, 3, 26, 16), bxl(2027, 3, 30, 11, 30)),
    ("national day 21 july", bxl(2026, 7, 20, 16), bxl(2026, 7, 22, 11, 30)),
    ("on a holiday", bxl(2026, 12, 25, 10), bxl(2026, 12, 28, 12, 30)),
    ("dst spring forward", bxl(2026, 3, 27, 15), bxl(2026, 3, 30, 10, 30)),
    ("dst fall back", bxl(2026, 10, 23, 15), bxl(2026, 10, 26, 10, 30)),
]


@pytest.mark.parametrize(
    ("start", "expected"), [c[1:] for c in FOUR_HOURS], ids=[c[0] for c in FOUR_HOURS]
)
def test_four_business_hours(calendar, start, expected):
    result = calendar.add_business_hours(start, 4)
    assert result == expected
    assert result.tzinfo is UTC


def test_dst_deadlines_in_utc(calendar):
    # Friday 15:00 CET is 14:00Z; Monday 10:30 CEST is 08:30Z: 4 open hours, not 5 or 3.
    assert calendar.add_business_hours(bxl(2026, 3, 27, 15), 4) == datetime(
        2026, 3, 30, 8, 30, tzinfo=UTC
    )
    assert calendar.add_business_hours(bxl(2026, 10, 23, 15), 4) == datetime(
        2026, 10, 26, 9, 30, tzinfo=UTC
    )
    assert calendar.end_of_business_day(bxl(2026, 10, 23, 15), 1) == datetime(
        2026, 10, 26, 16, 0, tzinfo=UTC
    )


def test_input_in_another_offset_is_the_same_instant(calendar):
    start = bxl(2026, 3, 2, 10).astimezone(timezone(timedelta(hours=-5)))
    assert calendar.add_business_hours(start, 4) == bxl(2026, 3, 2, 14)


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (0, bxl(2026, 3, 9, 8, 30)),
        (1.5, bxl(2026, 3, 9, 10)),
        (8.5, bxl(2026, 3, 9, 17)),
        (9, bxl(2026, 3, 10, 9)),
        (17, bxl(2026, 3, 10, 17)),
    ],
)
def test_business_hours_from_a_weekend(calendar, hours, expected):
    assert calendar.add_business_hours(bxl(2026, 3, 7, 12), hours) == expected


@pytest.mark.parametrize("hours", [-1, True, "4", None])
def test_business_hours_rejects_bad_hours(calendar, hours):
    with pytest.raises(ValueError, match="hours"):
        calendar.add_business_hours(bxl(2026, 3, 2, 10), hours)


BUSINESS_DAYS = [
    ("1 day from friday", bxl(2026, 3, 6, 10), 1, bxl(2026, 3, 9, 17)),
    ("evaluation day never counts", bxl(2026, 3, 2, 10), 1, bxl(2026, 3, 3, 17)),
    ("before opening still not counted", bxl(2026, 3, 2, 7), 1, bxl(2026, 3, 3, 17)),
    ("after closing", bxl(2026, 3, 2, 20), 1, bxl(2026, 3, 3, 17)),
    ("from saturday", bxl(2026, 3, 7, 10), 1, bxl(2026, 3, 9, 17)),
    ("from sunday", bxl(2026, 3, 8, 10), 1, bxl(2026, 3, 9, 17)),
    ("5 days", bxl(2026, 3, 2, 10), 5, bxl(2026, 3, 9, 17)),
    ("10 days", bxl(2026, 3, 2, 10), 10, bxl(2026, 3, 16, 17)),
    ("christmas skipped", bxl(2026, 12, 24, 10), 1, bxl(2026, 12, 28, 17)),
    ("5 days over christmas", bxl(2026, 12, 22, 10), 5, bxl(2026, 12, 30, 17)),
    ("new year skipped", bxl(2026, 12, 31, 10), 1, bxl(2027, 1, 4, 17)),
    ("easter monday 2027 skipped", bxl(2027, 3, 26, 10), 1, bxl(2027, 3, 30, 17)),
    ("national day skipped", bxl(2026, 7, 20, 10), 1, bxl(2026, 7, 22, 17)),
    ("from a holiday", bxl(2026, 12, 25, 10), 1, bxl(2026, 12, 28, 17)),
    ("dst spring", bxl(2026, 3, 27, 10), 1, bxl(2026, 3, 30, 17)),
    ("dst fall", bxl(2026, 10, 23, 10), 1, bxl(2026, 10, 26, 17)),
    # 23:30Z on Friday is already Saturday in Brussels: the local day decides.
    ("local day decides", datetime(2026, 3, 6, 23, 30, tzinfo=UTC), 1, bxl(2026, 3, 9, 17)),
]


@pytest.mark.parametrize(
    ("start", "n", "expected"), [c[1:] for c in BUSINESS_DAYS], ids=[c[0] for c in BUSINESS_DAYS]
)
def test_end_of_business_day(calendar, start, n, expected):
    result = calendar.end_of_business_day(start, n)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize("n", [0, -1, True, 1.0])
def test_end_of_business_day_rejects_bad_n(calendar, n):
    with pytest.raises(ValueError, match="n must"):
        calendar.end_of_business_day(bxl(2026, 3, 2, 10), n)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (bxl(2026, 3, 2, 8, 29), False),
        (bxl(2026, 3, 2, 8, 30), True),
        (bxl(2026, 3, 2, 16, 59), True),
        (bxl(2026, 3, 2, 17), False),
        (bxl(2026, 3, 7, 10), False),
        (bxl(2026, 12, 25, 10), False),
        (bxl(2027, 3, 29, 10), False),
        (bxl(2026, 7, 21, 10), False),
    ],
)
def test_is_open(calendar, moment, expected):
    assert calendar.is_open(moment) is expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (bxl(2026, 3, 2, 10), bxl(2026, 3, 2, 10)),
        (bxl(2026, 3, 2, 7), bxl(2026, 3, 2, 8, 30)),
        (bxl(2026, 3, 6, 18), bxl(2026, 3, 9, 8, 30)),
        (bxl(2026, 12, 24, 17), bxl(2026, 12, 28, 8, 30)),
    ],
)
def test_next_opening(calendar, moment, expected):
    assert calendar.next_opening(moment) == expected


@pytest.mark.parametrize(
    "method",
    [
        lambda c, dt: c.is_open(dt),
        lambda c, dt: c.next_opening(dt),
        lambda c, dt: c.add_business_hours(dt, 4),
        lambda c, dt: c.end_of_business_day(dt, 1),
    ],
    ids=["is_open", "next_opening", "add_business_hours", "end_of_business_day"],
)
def test_naive_datetimes_are_refused(calendar, method):
    with pytest.raises(ValueError, match="timezone-aware"):
        method(calendar, datetime(2026, 3, 2, 10))


def test_custom_hours_short_friday():
    calendar = BusinessCalendar("mon-thu 08:30-17:00; fri 08:30-12:00")
    assert calendar.end_of_business_day(bxl(2026, 3, 5, 10), 1) == bxl(2026, 3, 6, 12)
    assert calendar.add_business_hours(bxl(2026, 3, 6, 10), 4) == bxl(2026, 3, 9, 10, 30)


def test_custom_hours_lunch_break():
    calendar = BusinessCalendar("mon-fri 08:30-12:00, 13:00-17:00")
    assert calendar.add_business_hours(bxl(2026, 3, 2, 10), 4) == bxl(2026, 3, 2, 15)
    assert not calendar.is_open(bxl(2026, 3, 2, 12, 30))
    assert calendar.next_opening(bxl(2026, 3, 2, 12, 30)) == bxl(2026, 3, 2, 13)


def test_custom_hours_saturday_morning():
    calendar = BusinessCalendar("mon-fri 08:30-17:00; sat 09:00-12:00")
    assert calendar.add_business_hours(bxl(2026, 3, 6, 16), 2) == bxl(2026, 3, 7, 10)
    assert calendar.end_of_business_day(bxl(2026, 3, 6, 10), 1) == bxl(2026, 3, 7, 12)


@pytest.mark.parametrize(
    ("spec", "expected_monday", "expected_saturday"),
    [
        ("mon-fri 08:30-17:00", ((510, 1020),), ()),
        ("MON-FRI 08:30-17:00", ((510, 1020),), ()),
        ("mon,sat 09:00-12:00", ((540, 720),), ((540, 720),)),
        ("mon 13:00-17:00, 08:30-12:00", ((510, 720), (780, 1020)), ()),
        ("sat 20:00-24:00; mon-fri 08:30-17:00;", ((510, 1020),), ((1200, 1440),)),
    ],
)
def test_parse_opening_hours(spec, expected_monday, expected_saturday):
    week = parse_opening_hours(spec)
    assert week[0] == expected_monday
    assert week[5] == expected_saturday


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("mon-fri", "expected 'DAYS HH:MM-HH:MM'"),
        ("mon-fri 8:30-17:00", "invalid time '8:30'"),
        ("xyz 08:30-17:00", "invalid days 'xyz'"),
        ("fri-mon 08:30-17:00", "runs backwards"),
        ("mon 17:00-08:30", "ends before start"),
        ("mon 08:00-08:00", "ends before start"),
        ("mon 08:00-12:00, 11:00-13:00", "overlapping ranges on mon"),
        ("mon 08:00-12:00; mon 11:00-13:00", "overlapping ranges on mon"),
        ("mon 25:00-26:00", "invalid time '25:00'"),
        ("mon 08:60-09:00", "invalid time '08:60'"),
        ("mon 08:00-12:00-13:00", "invalid range"),
        (";", "no opening at all"),
    ],
)
def test_invalid_opening_hours(spec, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(spec)


def test_invalid_timezone_and_country():
    with pytest.raises(ValueError, match="unknown time zone"):
        BusinessCalendar(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="no public holidays"):
        BusinessCalendar(country="XX")
