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

A period (`periods.Period`) is a range of local dates, both included. Response
times are wall clock hours between the case's opening and its first response
(the deadline itself already counts business hours). What leaves the cell goes
through `anonymise.anonymised`.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, func, literal, or_, select

from cellule.extensions import db
from cellule.types import utcnow
from contacts.models import CHANNELS, DIRECTIONS, Contact
from triage.vocab import LEVELS, ROUTES

from ..appointments.models import Appointment, Slot
from ..models import OPEN_STATUSES, OUTCOMES, QUEUES, TASK_KINDS, Case, Task
from ..reassessment.models import Reassessment
from ..survey.models import Survey
from .periods import Period

# Queue age bands, in days: [0, 1), [1, 3), [3, 7), [7, ∞).
AGE_BANDS = (("lt_1d", 0, 1), ("1_3d", 1, 3), ("3_7d", 3, 7), ("ge_7d", 7, None))
SCORES = (1, 2, 3, 4, 5)
SECTIONS = ("contacts", "cases", "first_response", "overdue", "queues", "satisfaction",
            "reassessment", "appointments")


def satisfaction_target():
    return float(current_app.config.get("CELLULE_SATISFACTION_TARGET", 0.7))


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


def reassessment_section(period, now):
    """Cases re-assessed in the period, per route (the case's route at its last
    re-assessment of the period): how many, how many could be compared to their first run,
    how many improved then (cases.reassessment: a score lower and none higher)."""
    last = (select(func.max(Reassessment.id).label("id"))
            .where(period.contains(Reassessment.created_at))
            .group_by(Reassessment.case_id).subquery())
    rows = db.session.execute(
        select(Reassessment.route, func.count(), func.count(Reassessment.improved),
               _sum_if(Reassessment.improved.is_(True)))
        .join(last, last.c.id == Reassessment.id).group_by(Reassessment.route)).all()
    lines = {route: (0, 0, 0) for route in ROUTES}
    for route, n, compared, better in rows:
        if route in lines:
            lines[route] = (n, compared, int(better))

    def line(n, compared, better):
        return {"reassessed": n, "compared": compared, "improved": better,
                "share_improved": _share(better, compared)}

    return {"by_route": {route: line(*counts) for route, counts in lines.items()},
            "all": line(*(sum(c[i] for c in lines.values()) for i in range(3)))}


def appointments_section(period, now):
    """The psychologists' slots that start in the period (removed ones aside), and the
    appointments on them: booked (not cancelled), attended, missed (no-show), cancelled —
    one statement."""
    state = Appointment.state
    offered, booked, attended, missed, cancelled = db.session.execute(
        select(func.count(func.distinct(Slot.id)).filter(Slot.state != "removed"),
               func.count(Appointment.id).filter(state != "cancelled"),
               func.count(Appointment.id).filter(state == "attended"),
               func.count(Appointment.id).filter(state == "no_show"),
               func.count(Appointment.id).filter(state == "cancelled"))
        .select_from(Slot).outerjoin(Appointment, Appointment.slot_id == Slot.id)
        .where(period.contains(Slot.starts_at))).one()
    return {"offered": offered, "booked": booked, "attended": attended, "missed": missed,
            "cancelled": cancelled}


BUILDERS = {
    "contacts": contacts_section,
    "cases": cases_section,
    "first_response": first_response_section,
    "overdue": overdue_section,
    "queues": queues_section,
    "satisfaction": satisfaction_section,
    "reassessment": reassessment_section,  # reassess19 (issue 19)
    "appointments": appointments_section,  # appoint20 (issue 20)
}
