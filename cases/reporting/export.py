"""The anonymised CSV export of a period: its rows, and the `export_report` job that builds it.

The supervisor asks for an export (`request_export`, a `ReportExport` row and an outbox
request); the job computes the report section by section, reporting its progress in the
RQ job's `meta`, and stores the CSV on the row once.
"""

import csv
import io
import logging

from rq import get_current_job

from cellule import audit, outbox
from cellule.extensions import db
from cellule.jobs import job
from cellule.types import utcnow
from contacts.models import CHANNELS, DIRECTIONS
from triage.vocab import LEVELS, ROUTES

from ..models import OUTCOMES, QUEUES, TASK_KINDS
from .anonymise import anonymised, suppression_threshold
from .figures import AGE_BANDS, SCORES, SECTIONS, build_report
from .models import ReportExport

log = logging.getLogger(__name__)

CSV_COLUMNS = ("section", "from", "to", "category", "measure", "value", "note")


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
    if "reassessment" in report:  # reassess19: the share of re-assessed cases improved
        for route in (*ROUTES, "all"):
            path = ("reassessment", "all") if route == "all" else (
                "reassessment", "by_route", route)
            for measure in ("reassessed", "compared", "improved", "share_improved"):
                yield ("reassessment", start, end, route, measure, (*path, measure))
    if "appointments" in report:  # appoint20: slots offered, booked and missed
        for measure in ("offered", "booked", "attended", "missed", "cancelled"):
            yield ("appointments", start, end, "all", measure, ("appointments", measure))


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
