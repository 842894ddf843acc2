"""The figures of the supervisors' dashboard, the report API and the CSV export.

Everything is counted in the database (GROUP BY, window functions) and only the
small aggregated rows come back to Python; the same statements run on SQLite
and PostgreSQL. Two things differ by dialect and are isolated here:

- a local calendar day: PostgreSQL converts to the cell's time zone itself;
  SQLite has no time zones, so it groups by UTC hour and Python maps each hour
  to its local day (Belgian offsets are whole hours, so the mapping is exact);
- the seconds between two instants (`extract(epoch …)` / `julianday`).

Percentiles are `percentile_cont` (linear interpolation between the closest
ranks, as PostgreSQL and numpy compute them), written with `row_number()` so
that SQLite gives the same answer: the database returns the two rows around
each rank and Python interpolates between them.

A period is a range of local dates, both included. Response times are wall
clock hours between the case's opening and its first response (the deadline
itself already counts business hours). `anonymised()` turns a report into the
shape published outside the cell: small counts suppressed, times and shares
dropped when they rest on too few cases.
"""

import copy
import csv
import io
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from rq import get_current_job
from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cellule import audit, outbox
from cellule.extensions import db
from cellule.jobs import job
from cellule.timeparse import RANGE_TEXT, BadTime, parse_date
from cellule.types import UTCDateTime, utcnow
from contacts.models import CHANNELS, DIRECTIONS, Contact
from triage.vocab import LEVELS, ROUTES

from .models import OPEN_STATUSES, OUTCOMES, QUEUES, TASK_KINDS, Case, Task
from .survey import Survey

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
# Queue age bands, in days: [0, 1), [1, 3), [3, 7), [7, ∞).
AGE_BANDS = (("lt_1d", 0, 1), ("1_3d", 1, 3), ("3_7d", 3, 7), ("ge_7d", 7, None))
SCORES = (1, 2, 3, 4, 5)
log = logging.getLogger(__name__)

# The period filters of the figures (migration 0007): cases by opening and closing time,
# tasks by deadline whatever their status (the tables' own indexes serve the queues).
Index("ix_cases_opened_at", Case.opened_at)
Index("ix_cases_closed_at", Case.closed_at, postgresql_where=text("closed_at IS NOT NULL"),
      sqlite_where=text("closed_at IS NOT NULL"))
Index("ix_tasks_due_at", Task.due_at)

SECTIONS = ("contacts", "cases", "first_response", "overdue", "queues", "satisfaction")


class BadPeriod(ValueError):
    """The period's parameters are invalid; `fields` maps parameter names to messages."""

    def __init__(self, fields, status=400):
        super().__init__("invalid period")
        self.fields = fields
        self.status = status


def timezone():
    return ZoneInfo(current_app.config["CELLULE_TIMEZONE"])


def suppression_threshold():
    return int(current_app.config.get("CELLULE_REPORT_MIN_COUNT", 5))


def satisfaction_target():
    return float(current_app.config.get("CELLULE_SATISFACTION_TARGET", 0.7))


# --------------------------------------------------------------------------- periods


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


# --------------------------------------------------------------------------- SQL helpers


def _dialect():
    return db.session.get_bind().dialect.name


def _local_slot(column, tz):
    """A text that maps to one local day: the day itself, or (SQLite) the UTC hour."""
    if _dialect() == "postgresql":
        return func.to_char(func.timezone(tz.key, column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d %H", column)


def _slot_day(value, tz):
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.strptime(value, "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(tz).date()


def _seconds(start, end):
    """Seconds from `start` to `end` as a float expression."""
    if _dialect() == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _sum_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def percentiles(group, duration, where, ks=(50, 90)):
    """Return {group value: {"n": count, k: percentile_cont(k/100)}} for each group.

    Ranks are counted in SQL; only the (at most two) rows around each rank come back.
    """
    inner = select(group.label("g"), duration.label("d")).where(*where).subquery()
    ranked = select(
        inner.c.g,
        inner.c.d,
        (func.row_number().over(partition_by=inner.c.g, order_by=inner.c.d) - 1).label("rn"),
        func.count().over(partition_by=inner.c.g).label("n"),
    ).subquery()
    wanted = []
    for k in ks:
        low = (ranked.c.n - 1) * k // 100
        wanted += [low, low + 1]
    rows = db.session.execute(
        select(ranked.c.g, ranked.c.n, ranked.c.rn, ranked.c.d).where(ranked.c.rn.in_(wanted))
    ).all()
    values = {}
    for g, n, rn, d in rows:
        values.setdefault(g, {"n": n, "rows": {}})["rows"][rn] = float(d)
    out = {}
    for g, data in values.items():
        n = data["n"]
        result = {"n": n}
        for k in ks:
            position = (n - 1) * k / 100
            low = math.floor(position)
            below = data["rows"][low]
            above = data["rows"].get(low + 1, below)
            result[k] = below + (above - below) * (position - low)
        out[g] = result
    return out


def _hours(seconds):
    return None if seconds is None else round(seconds / 3600.0, 2)


def _share(part, whole):
    return None if not whole else round(part / whole, 4)


# --------------------------------------------------------------------------- the report


@dataclass
class Report:
    period: Period
    now: datetime
    sections: dict = field(default_factory=dict)

    def to_dict(self):
        return {
            "period": {
                "from": self.period.start.isoformat(),
                "to": self.period.end.isoformat(),
                "timezone": self.period.tz.key,
                "granularity": self.period.step,
            },
            "generated_at": self.now.isoformat(),
            **self.sections,
        }


def build_report(period, now=None, sections=SECTIONS, progress=None):
    """Compute the figures of `period`; `progress(done, total)` is called after each section."""
    now = now or utcnow()
    report = Report(period, now)
    for index, name in enumerate(sections, start=1):
        report.sections[name] = BUILDERS[name](period, now)
        if progress is not None:
            progress(index, len(sections))
    return report


def _series_rows(period, keys, rows):
    """Fold (key, slot, n) rows into the period's buckets: [{"from","to","counts"}]."""
    buckets = period.buckets()
    index = {}
    for i, (first, last) in enumerate(buckets):
        day = first
        while day <= last:
            index[day] = i
            day += timedelta(days=1)
    series = [
        {"from": first.isoformat(), "to": last.isoformat(), "counts": dict.fromkeys(keys, 0)}
        for first, last in buckets
    ]
    for key, slot, n in rows:
        i = index.get(_slot_day(slot, period.tz))
        if i is not None and key in series[i]["counts"]:
            series[i]["counts"][key] += n
    for item in series:
        item["total"] = sum(item["counts"].values())
    return series


def contacts_section(period, now):
    slot = _local_slot(Contact.occurred_at, period.tz)
    rows = db.session.execute(
        select(Contact.channel, slot, func.count())
        .where(period.contains(Contact.occurred_at))
        .group_by(Contact.channel, slot)
    ).all()
    series = _series_rows(period, CHANNELS, rows)
    by_direction = dict.fromkeys(DIRECTIONS, 0)
    by_direction.update(db.session.execute(
        select(Contact.direction, func.count())
        .where(period.contains(Contact.occurred_at))
        .group_by(Contact.direction)
    ).all())
    by_channel = {ch: sum(item["counts"][ch] for item in series) for ch in CHANNELS}
    return {
        "total": sum(by_channel.values()),
        "by_channel": by_channel,
        "by_direction": by_direction,
        "series": series,
    }


def _group_counts(column, keys, *where):
    counts = dict.fromkeys(keys, 0)
    for key, n in db.session.execute(select(column, func.count()).where(*where).group_by(column)):
        if key in counts:
            counts[key] = n
    return counts


def cases_section(period, now):
    opened_slot = _local_slot(Case.opened_at, period.tz)
    closed_slot = _local_slot(Case.closed_at, period.tz)
    opened = db.session.execute(
        select(literal("opened"), opened_slot, func.count())
        .where(period.contains(Case.opened_at))
        .group_by(opened_slot)
    ).all()
    closed = db.session.execute(
        select(literal("closed"), closed_slot, func.count())
        .where(Case.closed_at.is_not(None), period.contains(Case.closed_at))
        .group_by(closed_slot)
    ).all()
    series = _series_rows(period, ("opened", "closed"), [*opened, *closed])
    for item in series:
        del item["total"]  # opened and closed do not add up
    in_period = period.contains(Case.opened_at)
    return {
        "opened": sum(item["counts"]["opened"] for item in series),
        "closed": sum(item["counts"]["closed"] for item in series),
        "series": series,
        "by_level": _group_counts(Case.level, LEVELS, in_period),
        "by_route": _group_counts(Case.route, ROUTES, in_period),
        "outcomes": _group_counts(
            Case.outcome, OUTCOMES, Case.closed_at.is_not(None), period.contains(Case.closed_at)
        ),
    }


def _deadline_counts(group, now, where):
    """On time / late / pending first responses of the cases with a deadline, per group."""
    responded = Case.first_response_at.is_not(None)
    rows = db.session.execute(
        select(
            group,
            _sum_if(and_(responded, Case.first_response_at <= Case.due_at)),
            _sum_if(or_(
                and_(responded, Case.first_response_at > Case.due_at),
                and_(Case.first_response_at.is_(None), Case.due_at < now),
            )),
            _sum_if(and_(Case.first_response_at.is_(None), Case.due_at >= now)),
        )
        .where(*where, Case.due_at.is_not(None))
        .group_by(group)
    ).all()
    return {g: {"on_time": int(a), "late": int(b), "pending": int(c)} for g, a, b, c in rows}


def first_response_section(period, now):
    """Time to first response and deadlines kept, per level and for all cases."""
    where = [period.contains(Case.opened_at)]
    answered = [*where, Case.first_response_at.is_not(None)]
    duration = _seconds(Case.opened_at, Case.first_response_at)
    times = percentiles(Case.level, duration, answered)
    times_all = percentiles(literal("all"), duration, answered).get("all", {"n": 0})
    deadlines = _deadline_counts(Case.level, now, where)
    deadlines_all = _deadline_counts(literal("all"), now, where).get("all")

    def line(t, d):
        d = d or {"on_time": 0, "late": 0, "pending": 0}
        decided = d["on_time"] + d["late"]
        return {
            "responded": t.get("n", 0),
            "median_hours": _hours(t.get(50)),
            "p90_hours": _hours(t.get(90)),
            **d,
            "share_on_time": _share(d["on_time"], decided),
        }

    return {
        "levels": {level: line(times.get(level, {}), deadlines.get(level)) for level in LEVELS},
        "all": line(times_all, deadlines_all),
    }


def overdue_section(period, now):
    """Tasks due in the period (kept or late), and what is overdue right now."""
    due_in_period = [period.contains(Task.due_at), Task.status != "cancelled"]
    on_time = and_(Task.status == "done", Task.done_at <= Task.due_at)
    late = or_(
        and_(Task.status == "done", Task.done_at > Task.due_at),
        and_(Task.status == "open", Task.due_at < now),
    )
    by_kind = {kind: {"due": 0, "on_time": 0, "late": 0} for kind in TASK_KINDS}
    for kind, due, kept, missed in db.session.execute(
        select(Task.kind, func.count(), _sum_if(on_time), _sum_if(late))
        .where(*due_in_period)
        .group_by(Task.kind)
    ):
        if kind in by_kind:
            by_kind[kind] = {"due": due, "on_time": int(kept), "late": int(missed)}
    tasks_now = _group_counts(Task.kind, TASK_KINDS, Task.status == "open", Task.due_at < now)
    cases_now = _group_counts(
        Case.route,
        ROUTES,
        Case.status.in_(OPEN_STATUSES),
        Case.first_response_at.is_(None),
        Case.due_at < now,
    )
    return {
        "tasks_due": sum(v["due"] for v in by_kind.values()),
        "tasks_on_time": sum(v["on_time"] for v in by_kind.values()),
        "tasks_late": sum(v["late"] for v in by_kind.values()),
        "tasks_by_kind": by_kind,
        "now": {
            "tasks": sum(tasks_now.values()),
            "tasks_by_kind": tasks_now,
            "cases": sum(cases_now.values()),
            "cases_by_route": cases_now,
        },
    }


def queues_section(period, now):
    """Right now: unclaimed open cases per queue, how long they have waited."""
    waiting = [Case.status.in_(OPEN_STATUSES), Case.assignee_id.is_(None)]
    bands = []
    for name, low, high in AGE_BANDS:
        cond = Case.opened_at <= now - timedelta(days=low)
        if high is not None:
            cond = and_(cond, Case.opened_at > now - timedelta(days=high))
        bands.append((name, _sum_if(cond)))
    rows = db.session.execute(
        select(Case.queue, func.count(), func.min(Case.opened_at), *(b for _, b in bands))
        .where(*waiting)
        .group_by(Case.queue)
    ).all()
    ages = percentiles(Case.queue, _seconds(Case.opened_at, literal(now, Case.opened_at.type)),
                       waiting, ks=(50,))
    out = {}
    for queue in QUEUES:
        out[queue] = {"waiting": 0, "oldest_hours": None, "median_hours": None,
                      "bands": {name: 0 for name, _, _ in AGE_BANDS}}
    for queue, n, oldest, *counts in rows:
        if queue not in out:
            continue
        if isinstance(oldest, str):  # SQLite hands back the text of an aggregate
            oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
        out[queue] = {
            "waiting": n,
            "oldest_hours": _hours((now - oldest).total_seconds()) if oldest else None,
            "median_hours": _hours(ages.get(queue, {}).get(50)),
            "bands": {name: int(c) for (name, _, _), c in zip(AGE_BANDS, counts, strict=True)},
        }
    return out


def satisfaction_section(period, now):
    """Surveys sent in the period: response rate, score, share satisfied (≥ 4) vs target."""
    sent_in_period = [Survey.sent_at.is_not(None), period.contains(Survey.sent_at)]
    sent, answered, total, satisfied = db.session.execute(
        select(
            func.count(),
            func.count(Survey.score),
            func.coalesce(func.sum(Survey.score), 0),
            _sum_if(Survey.score >= 4),
        ).where(*sent_in_period)
    ).one()
    scores = _group_counts(Survey.score, SCORES, *sent_in_period, Survey.score.is_not(None))
    return {
        "sent": sent,
        "answered": answered,
        "response_rate": _share(answered, sent),
        "mean_score": round(total / answered, 2) if answered else None,
        "satisfied": int(satisfied),
        "share_satisfied": _share(int(satisfied), answered),
        "target": satisfaction_target(),
        "scores": {str(k): v for k, v in scores.items()},
    }


BUILDERS = {
    "contacts": contacts_section,
    "cases": cases_section,
    "first_response": first_response_section,
    "overdue": overdue_section,
    "queues": queues_section,
    "satisfaction": satisfaction_section,
}


# --------------------------------------------------------------------------- anonymising


def _small(value, k):
    return value is not None and 0 < value < k


def suppress_group(counts, k, total_known=True):
    """Suppress (None) the counts below `k`; when the group's total is published, one
    suppressed cell could be recomputed from it, so the next smallest one goes too."""
    out = {key: (None if _small(v, k) else v) for key, v in counts.items()}
    if total_known:
        _complement(out, counts)
    return out


def _complement(out, counts):
    """Secondary suppression: never leave exactly one suppressed cell in a summed group."""
    hidden = [key for key, v in out.items() if v is None]
    if len(hidden) != 1:
        return False
    shown = sorted((v, key) for key, v in out.items() if v)
    if not shown:
        return False
    out[shown[0][1]] = None
    return True


def suppress_table(rows, keys, k, row_totals=True):
    """Suppress small cells of a table of `rows` (dicts of `keys`) whose column sums (and,
    with `row_totals`, row sums) are published; iterate until no single cell is exposed."""
    out = [{key: (None if _small(r[key], k) else r[key]) for key in keys} for r in rows]
    changed = True
    while changed:
        changed = False
        if row_totals:
            for original, row in zip(rows, out, strict=True):
                if not _small(sum(original[key] for key in keys), k):
                    changed |= _complement(row, original)
        for key in keys:
            column = {i: row[key] for i, row in enumerate(out)}
            total = sum(r[key] for r in rows)
            if not _small(total, k) and _complement(column, None):
                for i, value in column.items():
                    out[i][key] = value
                changed = True
    return out


def anonymised(report_dict, k=None):
    """Return a copy of a report fit for publication outside the cell.

    Counts from 1 to k-1 become None (k: `CELLULE_REPORT_MIN_COUNT`, default 5), with
    secondary suppression where totals would give them away; times and shares become
    None when they rest on fewer than k cases. Zero stays zero.
    """
    k = k or suppression_threshold()
    data = copy.deepcopy(report_dict)
    data["suppression_threshold"] = k

    def count(value):
        return None if _small(value, k) else value

    if "contacts" in data:
        c = data["contacts"]
        series = c["series"]
        cells = suppress_table([s["counts"] for s in series], CHANNELS, k)
        for item, counts in zip(series, cells, strict=True):
            item["counts"] = counts
            item["total"] = count(item["total"])
        c["by_channel"] = suppress_group(c["by_channel"], k)
        c["by_direction"] = suppress_group(c["by_direction"], k)
        c["total"] = count(c["total"])
    if "cases" in data:
        c = data["cases"]
        series = c["series"]
        cells = suppress_table([s["counts"] for s in series], ("opened", "closed"), k,
                               row_totals=False)
        for item, counts in zip(series, cells, strict=True):
            item["counts"] = counts
        for name in ("by_level", "by_route", "outcomes"):
            c[name] = suppress_group(c[name], k)
        c["opened"] = count(c["opened"])
        c["closed"] = count(c["closed"])
    if "first_response" in data:
        f = data["first_response"]
        for line in (*f["levels"].values(), f["all"]):
            responded = line["responded"]
            if responded < k:
                line["median_hours"] = line["p90_hours"] = None
            decided = line["on_time"] + line["late"]
            if decided < k:
                line["share_on_time"] = None
            parts = suppress_group(
                {key: line[key] for key in ("on_time", "late", "pending")}, k
            )
            line.update(parts)
            line["responded"] = count(responded)
    if "overdue" in data:
        o = data["overdue"]
        for kind, line in o["tasks_by_kind"].items():
            o["tasks_by_kind"][kind] = _suppress_parts(line, "due", ("on_time", "late"), k)
        for name in ("tasks_due", "tasks_on_time", "tasks_late"):
            o[name] = count(o[name])
        now = o["now"]
        now["tasks_by_kind"] = suppress_group(now["tasks_by_kind"], k)
        now["cases_by_route"] = suppress_group(now["cases_by_route"], k)
        now["tasks"] = count(now["tasks"])
        now["cases"] = count(now["cases"])
    if "queues" in data:
        for line in data["queues"].values():
            if line["waiting"] < k:
                line["median_hours"] = line["oldest_hours"] = None
            line["bands"] = suppress_group(line["bands"], k)
            line["waiting"] = count(line["waiting"])
    if "satisfaction" in data:
        s = data["satisfaction"]
        if s["answered"] < k:
            s["mean_score"] = s["share_satisfied"] = None
        if s["sent"] < k:
            s["response_rate"] = None
        s["scores"] = suppress_group(s["scores"], k)
        for name in ("sent", "answered", "satisfied"):
            s[name] = count(s[name])
    return data


def _suppress_parts(line, total_key, part_keys, k):
    """A total and parts of it that need not add up to it (e.g. due, on time, late)."""
    out = dict(line)
    for key in (total_key, *part_keys):
        if _small(out[key], k):
            out[key] = None
    if out[total_key] is None:
        for key in part_keys:
            out[key] = None
    return out


# --------------------------------------------------------------------------- CSV export

CSV_COLUMNS = ("section", "from", "to", "category", "measure", "value", "note")
EXPORT_STATUSES = ("pending", "done")


class ReportExport(db.Model):
    """An anonymised CSV export of one period, built by the `export_report` job."""

    __tablename__ = "report_exports"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in EXPORT_STATUSES) + ")",
            name="status_known",
        ),
        Index("ix_report_exports_requested_by", "requested_by_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    granularity: Mapped[str] = mapped_column(String(10), default="auto")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    # The outbox row of the job (its id is the RQ job's id, where the progress is).
    outbox_id: Mapped[int | None]
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[object | None] = mapped_column(UTCDateTime)
    row_count: Mapped[int | None]
    content: Mapped[str | None] = mapped_column(Text)

    @property
    def filename(self):
        return f"cellule-report-{self.date_from.isoformat()}-{self.date_to.isoformat()}.csv"

    def period(self):
        return Period(self.date_from, self.date_to, timezone(), "custom", self.granularity)


def _cells(report):
    """Yield (section, from, to, category, measure, path) for every published figure."""
    start, end = report["period"]["from"], report["period"]["to"]
    today = report["generated_at"][:10]
    if "contacts" in report:
        c = report["contacts"]
        for i, item in enumerate(c["series"]):
            for channel in CHANNELS:
                yield ("contacts_by_channel", item["from"], item["to"], channel, "contacts",
                       ("contacts", "series", i, "counts", channel))
            yield ("contacts_by_channel", item["from"], item["to"], "all", "contacts",
                   ("contacts", "series", i, "total"))
        for channel in CHANNELS:
            yield ("contacts_by_channel", start, end, channel, "contacts",
                   ("contacts", "by_channel", channel))
        for direction in DIRECTIONS:
            yield ("contacts_by_direction", start, end, direction, "contacts",
                   ("contacts", "by_direction", direction))
        yield ("contacts_by_channel", start, end, "all", "contacts", ("contacts", "total"))
    if "cases" in report:
        c = report["cases"]
        for i, item in enumerate(c["series"]):
            for measure in ("opened", "closed"):
                yield ("cases", item["from"], item["to"], "all", measure,
                       ("cases", "series", i, "counts", measure))
        for measure in ("opened", "closed"):
            yield ("cases", start, end, "all", measure, ("cases", measure))
        for name, keys, measure in (("by_level", LEVELS, "opened"), ("by_route", ROUTES, "opened"),
                                    ("outcomes", OUTCOMES, "closed")):
            for key in keys:
                yield (f"cases_{name}", start, end, key, measure, ("cases", name, key))
    if "first_response" in report:
        measures = ("responded", "median_hours", "p90_hours", "on_time", "late", "pending",
                    "share_on_time")
        for level in (*LEVELS, "all"):
            path = ("first_response", "all") if level == "all" else (
                "first_response", "levels", level)
            for measure in measures:
                yield ("first_response", start, end, level, measure, (*path, measure))
    if "overdue" in report:
        for kind in TASK_KINDS:
            for measure in ("due", "on_time", "late"):
                yield ("tasks_due", start, end, kind, measure,
                       ("overdue", "tasks_by_kind", kind, measure))
        for measure in ("due", "on_time", "late"):
            yield ("tasks_due", start, end, "all", measure, ("overdue", f"tasks_{measure}"))
        for kind in TASK_KINDS:
            yield ("overdue_now", today, today, f"task:{kind}", "overdue",
                   ("overdue", "now", "tasks_by_kind", kind))
        for route in ROUTES:
            yield ("overdue_now", today, today, f"case:{route}", "overdue",
                   ("overdue", "now", "cases_by_route", route))
    if "queues" in report:
        for queue in QUEUES:
            for measure in ("waiting", "oldest_hours", "median_hours"):
                yield ("queue_now", today, today, queue, measure, ("queues", queue, measure))
            for band, _, _ in AGE_BANDS:
                yield ("queue_now", today, today, queue, f"waiting_{band}",
                       ("queues", queue, "bands", band))
    if "satisfaction" in report:
        for measure in ("sent", "answered", "response_rate", "mean_score", "satisfied",
                        "share_satisfied", "target"):
            yield ("satisfaction", start, end, "all", measure, ("satisfaction", measure))
        for score in SCORES:
            yield ("satisfaction", start, end, f"score_{score}", "answers",
                   ("satisfaction", "scores", str(score)))


def _at(data, path):
    for key in path:
        data = data[key]
    return data


def csv_rows(report_dict, k=None):
    """Return the rows of the anonymised CSV of a report (header first)."""
    k = k or suppression_threshold()
    published = anonymised(report_dict, k)
    rows = [CSV_COLUMNS]
    for section, start, end, category, measure, path in _cells(report_dict):
        raw, value = _at(report_dict, path), _at(published, path)
        if value is None:
            note = f"suppressed (fewer than {k})" if raw is not None else "no data"
            value = ""
        else:
            note = ""
        rows.append((section, start, end, category, measure, value, note))
    return rows


def to_csv(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        # Codes and numbers only; still, nothing may start like a spreadsheet formula.
        writer.writerow([f"'{v}" if isinstance(v, str) and v and v[0] in "=+-@" else v
                         for v in row])
    return buffer.getvalue()


def request_export(period, user):
    """Record an export of `period` and request its job (caller's transaction)."""
    export = ReportExport(requested_by_id=user.id, date_from=period.start, date_to=period.end,
                          granularity=period.granularity)
    db.session.add(export)
    db.session.flush()
    row = outbox.request("export_report", export.id, key=f"export_report:{export.id}")
    export.outbox_id = row.id
    audit.record("create", "report_export", export.id,
                 {"from": period.start.isoformat(), "to": period.end.isoformat()}, user=user)
    log.info("report export %s requested by user %s", export.id, user.id)
    return export


def _report_progress(percent, stage):
    job = get_current_job()
    if job is not None:
        job.meta["progress"] = percent
        job.meta["stage"] = stage
        job.save_meta()


@job("export_report", timeout=900)
def export_report(export_id):
    """Build the anonymised CSV of an export (once); its progress goes to `job.meta`."""
    export = db.session.get(ReportExport, export_id)
    if export is None:
        log.warning("report export %s: no such export", export_id)
        return None
    if export.status == "done":
        _report_progress(100, "done")
        return export.row_count
    _report_progress(0, "started")

    def progress(done, total):
        _report_progress(int(90 * done / total), SECTIONS[done - 1])

    report = build_report(export.period(), progress=progress)
    rows = csv_rows(report.to_dict())
    export.content = to_csv(rows)
    export.row_count = len(rows) - 1
    export.status = "done"
    export.finished_at = utcnow()
    _report_progress(100, "done")
    log.info("report export %s built: %s rows", export.id, export.row_count)
    return export.row_count
