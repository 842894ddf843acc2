"""The shape of a report published outside the cell (the API and the CSV export).

No names, contact details or free text ever enter a report; `anonymised()`
suppresses the counts from 1 to k-1 (k: `CELLULE_REPORT_MIN_COUNT`), with
secondary suppression where a published total would give one back, and drops
the times and shares that rest on fewer than k cases.
"""

import copy

from flask import current_app

from contacts.models import CHANNELS


def suppression_threshold():
    return int(current_app.config.get("CELLULE_REPORT_MIN_COUNT", 5))


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
    if "reassessment" in data:
        _suppress_reassessment(data["reassessment"], k)
    if "appointments" in data:  # appoint20: slots are no one's; the appointments are people's
        a = data["appointments"]
        a.update(suppress_group({n: a[n] for n in ("attended", "missed")}, k, False))
        for name in ("booked", "cancelled"):
            a[name] = count(a[name])
    return data


def _suppress_reassessment(section, k):
    """The re-assessed cases per route (their total published): the counts below k go, with
    secondary suppression across the routes; a share improved resting on fewer than k
    compared cases goes too."""
    lines = [*section["by_route"].values(), section["all"]]
    for name in ("reassessed", "compared", "improved"):
        routes = suppress_group({r: line[name] for r, line in section["by_route"].items()}, k)
        for route, value in routes.items():
            section["by_route"][route][name] = value
    for line in lines:
        for name in ("reassessed", "compared", "improved"):
            if _small(line[name], k):
                line[name] = None
        # A share would give a hidden count back (share × compared), and rests on few cases.
        if line["compared"] is None or line["compared"] < k or line["improved"] is None:
            line["share_improved"] = None


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
