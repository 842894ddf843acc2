"""The period of a report: a range of local dates, both included, in the cell's time zone.

`parse_period` reads it from GET or form parameters (a preset, or `from`/`to`, and a
granularity) and raises `BadPeriod` naming the parameters at fault; `Period.buckets`
gives the time series' buckets (day, week or month).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_

from cellule.timeparse import RANGE_TEXT, BadTime, parse_date
from cellule.types import utcnow

PRESETS = (
    "last_30_days",
    "this_month",
    "last_month",
    "this_quarter",
    "last_quarter",
    "this_year",
    "last_year",
    "custom",
)
GRANULARITIES = ("auto", "day", "week", "month")
DEFAULT_PRESET = "last_30_days"
MAX_DAYS = 5 * 366


class BadPeriod(ValueError):
    """The period's parameters are invalid; `fields` maps parameter names to messages."""

    def __init__(self, fields, status=400):
        super().__init__("invalid period")
        self.fields = fields
        self.status = status


def timezone():
    return ZoneInfo(current_app.config["CELLULE_TIMEZONE"])


@dataclass(frozen=True)
class Period:
    """Local dates `start`..`end` (both included) in the cell's time zone."""

    start: date
    end: date
    tz: ZoneInfo
    preset: str = "custom"
    granularity: str = "auto"

    @property
    def start_at(self):
        return datetime.combine(self.start, time(0), self.tz).astimezone(UTC)

    @property
    def end_at(self):
        """The first instant after the period."""
        return datetime.combine(self.end + timedelta(days=1), time(0), self.tz).astimezone(UTC)

    @property
    def days(self):
        return (self.end - self.start).days + 1

    @property
    def step(self):
        """The bucket size of the time series: the chosen one, or one that fits the period."""
        if self.granularity != "auto":
            return self.granularity
        if self.days <= 62:
            return "day"
        if self.days <= 366:
            return "week"
        return "month"

    def contains(self, column):
        return and_(column >= self.start_at, column < self.end_at)

    def buckets(self):
        """The series' buckets: [(first local date, last local date)] in order."""
        out = []
        day = self.start
        while day <= self.end:
            key = bucket_key(day, self.step)
            nxt = _next_bucket(key, self.step)
            last = min(nxt - timedelta(days=1), self.end)
            out.append((day, last))
            day = last + timedelta(days=1)
        return out

    def query_args(self):
        """The parameters that give this period back (for URLs and forms)."""
        args = {"preset": self.preset, "granularity": self.granularity}
        if self.preset == "custom":
            args.update({"from": self.start.isoformat(), "to": self.end.isoformat()})
        return args


def bucket_key(day, step):
    if step == "week":
        return day - timedelta(days=day.weekday())
    if step == "month":
        return day.replace(day=1)
    return day


def _next_bucket(key, step):
    if step == "week":
        return key + timedelta(days=7)
    if step == "month":
        return (key.replace(day=28) + timedelta(days=4)).replace(day=1)
    return key + timedelta(days=1)


def _quarter_start(day):
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def preset_dates(preset, today):
    """Return (start, end) of a named period relative to `today` (a local date)."""
    if preset == "last_30_days":
        return today - timedelta(days=29), today
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if preset == "this_quarter":
        return _quarter_start(today), today
    if preset == "last_quarter":
        end = _quarter_start(today) - timedelta(days=1)
        return _quarter_start(end), end
    if preset == "this_year":
        return date(today.year, 1, 1), today
    if preset == "last_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    raise ValueError(preset)


def _parse_date(value, name, errors, out_of_range):
    value = (value or "").strip()
    if not value:
        return None
    try:
        return parse_date(value)
    except BadTime as error:
        if error.out_of_range:
            out_of_range.add(name)
            errors[name] = f"a date {RANGE_TEXT}"
        else:
            errors[name] = "a date as YYYY-MM-DD"
        return None


def parse_period(args, now=None, default_preset=DEFAULT_PRESET, custom_trigger=False):
    """Return the Period asked for by `args` (preset, from, to, granularity).

    A preset other than `custom` wins over dates; dates alone mean `custom`.
    `custom_trigger`: the user just edited a date (htmx), so the dates win.
    Raises BadPeriod (400 for malformed values, 422 for an impossible period or dates
    beyond the range of cellule.timeparse).
    """
    tz = timezone()
    today = (now or utcnow()).astimezone(tz).date()
    errors = {}
    preset = (args.get("preset") or "").strip()
    granularity = (args.get("granularity") or "auto").strip()
    if granularity not in GRANULARITIES:
        errors["granularity"] = "one of " + ", ".join(GRANULARITIES)
    out_of_range = set()
    start = _parse_date(args.get("from"), "from", errors, out_of_range)
    end = _parse_date(args.get("to"), "to", errors, out_of_range)
    if preset and preset not in PRESETS:
        errors["preset"] = "one of " + ", ".join(PRESETS)
    if errors:
        raise BadPeriod(errors, status=422 if set(errors) <= out_of_range else 400)
    if custom_trigger or (not preset and (start or end)):
        preset = "custom"
    preset = preset or default_preset
    if preset != "custom":
        start, end = preset_dates(preset, today)
    else:
        if start is None and end is None:
            raise BadPeriod({"from": "required", "to": "required"})
        if start is None:
            start = end - timedelta(days=29)
        if end is None:
            end = min(today, start + timedelta(days=29))
    if end < start:
        raise BadPeriod({"to": "must not be before from"}, status=422)
    if (end - start).days + 1 > MAX_DAYS:
        raise BadPeriod({"to": f"a period of at most {MAX_DAYS} days"}, status=422)
    return Period(start, end, tz, preset, granularity if granularity in GRANULARITIES else "auto")
