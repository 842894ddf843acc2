"""Compute response deadlines in the cell's business time (opening hours minus holidays).

Opening hours are a string of clauses separated by ";". Each clause is a set of days, a space,
then one or more time ranges separated by ",":

    mon-fri 08:30-17:00
    mon-thu 08:30-17:00; fri 08:30-12:00
    mon-fri 08:30-12:00, 13:00-17:00; sat 09:00-12:00
    mon,wed,fri 09:00-16:00

Days are mon tue wed thu fri sat sun (any case), alone, as a range ("mon-fri", not wrapping
past Sunday) or as a comma list of both. Times are HH:MM in 24-hour local time; 24:00 may end a
range. Ranges of one day must not overlap. The closing time of a day is the end of its last
range.
"""

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

DEFAULT_OPENING_HOURS = "mon-fri 08:30-17:00"
DEFAULT_TIMEZONE = "Europe/Brussels"
DEFAULT_COUNTRY = "BE"
# An imminent case's first response is due this many minutes (clock time, any hour) after
# the evaluation: the crisis protocol runs now, and a response within the grace is on time.
DEFAULT_IMMINENT_GRACE_MINUTES = 15

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^(\d{2}):(\d{2})$")
# A year without any opening means a configuration error, not a long wait.
_SEARCH_DAYS = 400

Ranges = tuple[tuple[int, int], ...]  # (start minute, end minute) from local midnight


def _parse_minutes(text: str, clause: str) -> int:
    match = _TIME_RE.match(text.strip())
    if not match:
        raise ValueError(f"opening hours {clause!r}: invalid time {text.strip()!r} (use HH:MM)")
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"opening hours {clause!r}: invalid time {text.strip()!r}")
    return hours * 60 + minutes


def _parse_days(text: str, clause: str) -> list[int]:
    days: list[int] = []
    for part in text.lower().split(","):
        bounds = part.split("-")
        if len(bounds) > 2 or any(b not in WEEKDAYS for b in bounds):
            raise ValueError(
                f"opening hours {clause!r}: invalid days {part!r} (use {', '.join(WEEKDAYS)})"
            )
        first, last = WEEKDAYS.index(bounds[0]), WEEKDAYS.index(bounds[-1])
        if last < first:
            raise ValueError(f"opening hours {clause!r}: day range {part!r} runs backwards")
        days.extend(range(first, last + 1))
    return days


def parse_opening_hours(spec: str) -> tuple[Ranges, ...]:
    """Parse an opening-hours string into seven sorted range tuples (Monday first)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("opening hours must not be empty, e.g. 'mon-fri 08:30-17:00'")
    week: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
    for clause in filter(None, (c.strip() for c in spec.split(";"))):
        parts = clause.split(None, 1)
        if len(parts) != 2:
            raise ValueError(f"opening hours {clause!r}: expected 'DAYS HH:MM-HH:MM'")
        days = _parse_days(parts[0], clause)
        for text in parts[1].split(","):
            bounds = text.split("-")
            if len(bounds) != 2:
                raise ValueError(
                    f"opening hours {clause!r}: invalid range {text.strip()!r} (HH:MM-HH:MM)"
                )
            start, end = (_parse_minutes(b, clause) for b in bounds)
            if end <= start:
                raise ValueError(f"opening hours {clause!r}: {text.strip()!r} ends before start")
            for day in days:
                week[day].append((start, end))
    for day, ranges in enumerate(week):
        ranges.sort()
        for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False):
            if start < end:
                raise ValueError(f"opening hours {spec!r}: overlapping ranges on {WEEKDAYS[day]}")
    if not any(week):
        raise ValueError(f"opening hours {spec!r}: no opening at all")
    return tuple(tuple(ranges) for ranges in week)


def _require_aware(dt: datetime) -> None:
    if not isinstance(dt, datetime):
        raise TypeError(f"expected a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")


class BusinessCalendar:
    """Opening hours in a time zone, minus a country's public holidays."""

    def __init__(
        self,
        opening_hours: str = DEFAULT_OPENING_HOURS,
        timezone: str = DEFAULT_TIMEZONE,
        country: str = DEFAULT_COUNTRY,
        imminent_grace_minutes: int = DEFAULT_IMMINENT_GRACE_MINUTES,
    ) -> None:
        if imminent_grace_minutes < 0:
            raise ValueError("the imminent grace must not be negative")
        self.imminent_grace = timedelta(minutes=imminent_grace_minutes)
        self.opening_hours = opening_hours
        self._week = parse_opening_hours(opening_hours)
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {timezone!r}") from exc
        try:
            self._holidays = holidays.country_holidays(country)
        except NotImplementedError as exc:
            raise ValueError(f"no public holidays known for country {country!r}") from exc
        self.timezone = timezone
        self.country = country

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar({self.opening_hours!r}, timezone={self.timezone!r}, "
            f"country={self.country!r})"
        )

    def is_holiday(self, day: date) -> bool:
        """Return whether a local date is a public holiday."""
        return day in self._holidays

    def is_business_day(self, day: date) -> bool:
        """Return whether a local date has opening hours and is not a public holiday."""
        return bool(self._week[day.weekday()]) and not self.is_holiday(day)

    def _local(self, day: date, minutes: int) -> datetime:
        extra_days, minutes = divmod(minutes, 24 * 60)
        wall = datetime.combine(day + timedelta(days=extra_days), time(minutes // 60, minutes % 60))
        # Going through UTC resolves DST gaps and folds to one real instant.
        return wall.replace(tzinfo=self.tz).astimezone(UTC)

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_business_day(day):
            return []
        return [(self._local(day, s), self._local(day, e)) for s, e in self._week[day.weekday()]]

    def _intervals_after(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        day = moment.astimezone(self.tz).date()
        for offset in range(_SEARCH_DAYS):
            for start, end in self._intervals(day + timedelta(days=offset)):
                if end > moment:
                    yield max(start, moment), end
        raise ValueError(f"no opening within {_SEARCH_DAYS} days of {moment.isoformat()}")

    def is_open(self, dt: datetime) -> bool:
        """Return whether the cell is open at this instant."""
        _require_aware(dt)
        moment = dt.astimezone(UTC)
        day = moment.astimezone(self.tz).date()
        return any(start <= moment < end for start, end in self._intervals(day))

    def next_opening(self, dt: datetime) -> datetime:
        """Return the instant (UTC) the cell is next open: dt itself when open now."""
        _require_aware(dt)
        start, _ = next(self._intervals_after(dt.astimezone(UTC)))
        return start

    def add_business_hours(self, dt: datetime, hours: float) -> datetime:
        """Return dt plus this many open hours (UTC), counting from the next opening."""
        _require_aware(dt)
        if isinstance(hours, bool) or not isinstance(hours, int | float) or hours < 0:
            raise ValueError(f"hours must be a non-negative number, got {hours!r}")
        remaining = timedelta(hours=hours)
        for start, end in self._intervals_after(dt.astimezone(UTC)):
            # "<=" so a deadline that falls exactly at closing stays that day.
            if remaining <= end - start:
                return start + remaining
            remaining -= end - start
        raise AssertionError("unreachable: _intervals_after raises when exhausted")

    def end_of_day(self, dt: datetime) -> datetime:
        """Return the end of dt's local day: the next local midnight (aware)."""
        _require_aware(dt)
        return datetime.combine(dt.astimezone(self.tz).date() + timedelta(days=1), time(),
                                tzinfo=self.tz)

    def end_of_business_day(self, dt: datetime, n: int) -> datetime:
        """Return closing time (UTC) of the nth business day after dt's local day."""
        _require_aware(dt)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        day = dt.astimezone(self.tz).date()
        # The evaluation day never counts, even when it is a business day.
        for _ in range(_SEARCH_DAYS * max(1, n)):
            day += timedelta(days=1)
            if self.is_business_day(day):
                n -= 1
                if n == 0:
                    return self._local(day, self._week[day.weekday()][-1][1])
        raise ValueError(f"no business day found after {dt.isoformat()}")
