"""The checks of the chaos run: what the clients were told against what the database holds.

- every acknowledged write (a 2xx with its id) is found with its data: contacts (summary,
  person), triage runs (contact, case), notes (case, body, author), claims and closes
  (the winner is the one the database recorded);
- nothing is written twice: one row per Idempotency-Key (the key is also a marker in
  the text of each write), one person per marker email, one `claimed` and one `closed`
  event per raced case, never two 2xx winners of one claim or close;
- every outbox job of the run is done (none pending, relayed or failed after the
  drain), every mail logged as sent reached the SMTP sink;
- the 5xx by status and endpoint; each 503 placed in the fault window it overlaps
  (a 503 is a promise kept only during the database restart, and, as documented, for
  sign-in and health while Redis is down and for health while no worker runs); each
  500 with its traceback from the gunicorn log.
"""

import re
import time
from collections import Counter, defaultdict

from sqlalchemy import bindparam, create_engine, text

MARKER = re.compile(r"\[(chaos-[^\]]+)\]")
LOG_RECORD = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} |\[\d{4}-\d\d-\d\d )")
TABLES = ("outbox", "mail_log", "contacts", "persons", "triage_runs", "case_notes", "cases",
          "case_events")
# Seconds after a fault's end during which its 503s still count as its own (pools
# reconnecting, a health check seeing a heartbeat that has not been renewed yet).
GRACE = {"pg_restart": 10.0, "redis_stop": 10.0, "workers_stop": 10.0, "worker_kill": 5.0}
# The 503s the application documents outside the database restart.
DOCUMENTED_503 = {
    "redis_stop": {"POST /login", "GET /api/v1/health"},  # sign-in throttle; health
    "workers_stop": {"GET /api/v1/health"},  # workers stale while jobs are due
    "worker_kill": {"GET /api/v1/health"},
}


def _engine(url):
    from cellule.config import normalise_database_url

    return create_engine(normalise_database_url(url))


def baseline(database_url):
    """The highest id of each table the run writes to, before the load."""
    engine = _engine(database_url)
    with engine.connect() as conn:
        ids = {t: conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {t}")).scalar_one()
               for t in TABLES}
    engine.dispose()
    return ids


def _unfinished(conn, base):
    """Outbox rows of the run not done yet (periodic requests not due are fine), and
    mails still queued."""
    rows = conn.execute(text(
        "SELECT count(*) FROM outbox WHERE id > :b AND (status = 'failed' OR "
        "(status IN ('pending', 'relayed') AND NOT (COALESCE(key, '') LIKE 'every:%' "
        "AND status = 'pending' AND run_after > now())))"), {"b": base["outbox"]}).scalar_one()
    mails = conn.execute(text("SELECT count(*) FROM mail_log WHERE id > :b AND status = "
                              "'queued'"), {"b": base["mail_log"]}).scalar_one()
    return rows, mails


def drain(servers, base, seconds):
    """Wait (at most `seconds`) until the workers have run every job of the run."""
    engine = _engine(servers.database_url)
    started = time.monotonic()
    rows = mails = None
    while True:
        try:
            with engine.connect() as conn:
                rows, mails = _unfinished(conn, base)
        except Exception:  # noqa: BLE001 (the database is ours; retry until the deadline)
            rows = mails = None
        if rows == 0 and mails == 0:
            break
        if time.monotonic() - started > seconds:
            break
        time.sleep(2)
    engine.dispose()
    # The sink may still be writing the last message down.
    time.sleep(1)
    return {"waited_s": round(time.monotonic() - started, 1), "jobs_left": rows,
            "mails_queued": mails}


# --------------------------------------------------------------------------- writes


def _by_marker(rows, column):
    found = defaultdict(list)
    for row in rows:
        match = MARKER.search(row[column] or "")
        if match:
            found[match.group(1)].append(row)
    return found


def check_writes(conn, load, base):
    """Acknowledged writes found with their data; duplicates per key and marker."""
    q = lambda sql, **kw: [r._mapping for r in conn.execute(text(sql), kw)]  # noqa: E731
    acks = defaultdict(list)
    for ack in load.acks:
        acks[ack["kind"]].append(ack)
    report = {}

    contacts = q("SELECT id, person_id, summary FROM contacts WHERE id > :b", b=base["contacts"])
    by_key = _by_marker(contacts, "summary")
    by_id = {r["id"]: r for r in contacts}
    lost = [a for a in acks["contact"] if a["id"] not in by_id
            or by_id[a["id"]]["summary"] != a["summary"]
            or by_id[a["id"]]["person_id"] != a["person_id"]]
    report["contact"] = _write_report(acks["contact"], lost, by_key)
    persons = q("SELECT email, count(*) AS n FROM persons WHERE id > :b AND email LIKE "
                "'%@chaos.cellule.example' GROUP BY email HAVING count(*) > 1", b=base["persons"])
    report["contact"]["duplicate_persons"] = len(persons)

    runs = q("SELECT id, contact_id, case_id, notes FROM triage_runs WHERE id > :b",
             b=base["triage_runs"])
    by_key = _by_marker(runs, "notes")
    by_id = {r["id"]: r for r in runs}
    case_ids = {a["case_id"] for a in acks["triage"] if a["case_id"]}
    cases = set()
    if case_ids:
        cases = {r[0] for r in conn.execute(
            text("SELECT id FROM cases WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True)), {"ids": sorted(case_ids)})}
    lost = [a for a in acks["triage"] if a["id"] not in by_id
            or by_id[a["id"]]["contact_id"] != a["contact_id"]
            or by_id[a["id"]]["notes"] != a["notes"]
            or (a["case_id"] and (by_id[a["id"]]["case_id"] != a["case_id"]
                                  or a["case_id"] not in cases))]
    report["triage"] = _write_report(acks["triage"], lost, by_key)
    report["triage"]["cases_opened"] = len(case_ids)

    notes = q("SELECT id, case_id, body, author_id FROM case_notes WHERE id > :b",
              b=base["case_notes"])
    by_key = _by_marker(notes, "body")
    by_id = {r["id"]: r for r in notes}
    lost = [a for a in acks["note"] if a["id"] not in by_id
            or by_id[a["id"]]["body"] != a["body"] or by_id[a["id"]]["case_id"] != a["case_id"]
            or by_id[a["id"]]["author_id"] != a["author_id"]]
    report["note"] = _write_report(acks["note"], lost, by_key)
    return report


def _write_report(acks, lost, by_key):
    acked_keys = {a["key"] for a in acks}
    duplicates = {k: len(v) for k, v in by_key.items() if len(v) > 1}
    return {
        "acknowledged": len(acks), "found": len(acks) - len(lost), "lost": len(lost),
        "lost_sample": [{k: v for k, v in a.items() if k in ("key", "id", "at", "attempts")}
                        for a in lost[:10]],
        "retried_then_acknowledged": sum(1 for a in acks if a["attempts"] > 1),
        "replayed": sum(1 for a in acks if a.get("replayed")),
        "duplicate_keys": len(duplicates),
        "duplicate_rows": sum(n - 1 for n in duplicates.values()),
        "duplicates_acknowledged": sum(1 for k in duplicates if k in acked_keys),
        "duplicate_sample": dict(list(duplicates.items())[:10]),
        "rows_of_unacknowledged_keys": sum(len(v) for k, v in by_key.items()
                                           if k not in acked_keys),
    }


def check_races(conn, load):
    """One winner per claim and per close, and it is the one the database recorded."""
    races = load.races
    case_ids = sorted({r["case"] for r in races})
    if not case_ids:
        return {"races": 0, "violations": []}
    expanding = bindparam("ids", expanding=True)
    events = defaultdict(lambda: defaultdict(list))
    for case_id, kind, actor in conn.execute(text(
            "SELECT case_id, kind, actor_id FROM case_events WHERE case_id IN :ids AND "
            "kind IN ('claimed', 'closed') ORDER BY id").bindparams(expanding),
            {"ids": case_ids}):
        events[case_id][kind].append(actor)
    cases = {r[0]: r for r in conn.execute(text(
        "SELECT id, assignee_id, status, outcome FROM cases WHERE id IN :ids")
        .bindparams(expanding), {"ids": case_ids})}
    violations = []
    claim_statuses, close_statuses = Counter(), Counter()
    claims_won = closes_won = 0
    for race in races:
        case_id = race["case"]
        for c in race["claims"]:
            claim_statuses[str(c["status"])] += 1
        for c in race["closes"]:
            close_statuses[f"{c['via']} {c['status']}"] += 1
        claimed, closed = events[case_id]["claimed"], events[case_id]["closed"]
        claim_200 = [c["user_id"] for c in race["claims"] if c["status"] == 200]
        close_200 = [c["user_id"] for c in race["closes"]
                     if c["via"] == "api" and c["status"] == 200]
        html_closers = [c["user_id"] for c in race["closes"] if c["via"] == "html"]
        claims_won += bool(claimed)
        closes_won += bool(closed)

        def problem(what, race=race):
            violations.append({"case": race["case"], "kind": race["kind"], "problem": what,
                               "claims": race["claims"], "closes": race["closes"],
                               "events": {k: list(v) for k, v in events[race["case"]].items()}})

        if len(claim_200) > 1:
            problem("two claims answered 200")
        if len(claimed) > 1:
            problem("claimed twice in the timeline")
        if claim_200 and claimed and claim_200[0] != claimed[0]:
            problem("the 200 claim is not the recorded one")
        if claim_200 and not claimed:
            problem("a 200 claim is not in the timeline")
        if len(close_200) > 1:
            problem("two closes answered 200")
        if len(closed) > 1:
            problem("closed twice in the timeline")
        if close_200 and (not closed or closed[0] != close_200[0]):
            problem("the 200 close is not the recorded one")
        if close_200 and closed and closed[0] in html_closers and closed[0] != close_200[0]:
            problem("an API close answered 200 and the HTML close won")
        row = cases.get(case_id)
        if close_200 and (row is None or row[2] != "closed"):
            problem("a case closed with 200 is not closed")
    return {"races": len(races), "by_kind": dict(Counter(r["kind"] for r in races)),
            "claim_statuses": dict(claim_statuses), "close_statuses": dict(close_statuses),
            "cases_claimed": claims_won, "cases_closed": closes_won,
            "violations": violations}


def check_jobs(conn, base, servers, faults):
    rows = [r._mapping for r in conn.execute(text(
        "SELECT id, job_name, status, key, run_after, relay_count, last_error FROM outbox "
        "WHERE id > :b ORDER BY id"), {"b": base["outbox"]})]
    by = Counter(f"{r['job_name']} {r['status']}" for r in rows)
    not_done = [r for r in rows if r["status"] == "failed" or (
        r["status"] in ("pending", "relayed")
        and not ((r["key"] or "").startswith("every:") and r["status"] == "pending"))]
    # A periodic request not due yet stays pending: it is the next one, not a lost job.
    not_done = [r for r in not_done if not _future_periodic(conn, r)]
    killed = {}
    for record in faults.records:
        if record["fault"] == "worker_kill" and record.get("message_id"):
            killed = _killed_job(conn, record["message_id"], received_all=servers.smtp.messages())
    mails = [r._mapping for r in conn.execute(text(
        "SELECT id, status, message_id FROM mail_log WHERE id > :b"), {"b": base["mail_log"]})]
    received = Counter(m[1].strip("<>") for m in servers.smtp.messages())
    sent = [m for m in mails if m["status"] == "sent"]
    missing = [m["id"] for m in sent if m["message_id"].strip("<>") not in received]
    return {
        "outbox_rows": len(rows), "by_job_and_status": dict(sorted(by.items())),
        "not_done": len(not_done),
        "not_done_sample": [{k: str(v) for k, v in r.items()} for r in not_done[:10]],
        "killed_job": killed,
        "mails": {"logged": len(mails), "sent": len(sent),
                  "queued": sum(m["status"] == "queued" for m in mails),
                  "received_by_smtp": sum(received.values()),
                  "sent_not_received": len(missing),
                  "received_twice": sum(1 for n in received.values() if n > 1)},
    }


def _killed_job(conn, message_id, received_all):
    """What became of the mail job under way when its worker was killed."""
    mail = conn.execute(text("SELECT id, status FROM mail_log WHERE message_id = :m"),
                        {"m": message_id}).first()
    if mail is None:
        return {"message_id": message_id, "status": "mail not in the log"}
    row = conn.execute(text(
        "SELECT id, status, relay_count FROM outbox WHERE job_name = 'send_email' AND "
        "CAST(args AS TEXT) = :a"), {"a": f"[{mail[0]}]"}).first()
    return {"job": "send_email", "mail_id": mail[0], "mail_status": mail[1],
            "outbox_id": row[0] if row else None,
            "status": row[1] if row else "not in the outbox",
            "relay_count": row[2] if row else None,
            "received_by_smtp": sum(1 for m in received_all if m[1] == message_id)}


def _future_periodic(conn, row):
    if not (row["key"] or "").startswith("every:") or row["status"] != "pending":
        return False
    return bool(conn.execute(text("SELECT run_after > now() FROM outbox WHERE id = :i"),
                             {"i": row["id"]}).scalar())


# --------------------------------------------------------------------------- requests


def _windows(faults):
    windows = []
    for record in faults.records:
        if "start_s" not in record:
            continue
        end = record.get("end_s", record["start_s"])
        windows.append((record["fault"], record["start_s"] - 0.5,
                        end + GRACE.get(record["fault"], 2.0)))
    return windows


def _overlaps(windows, start, end):
    return [name for name, w_start, w_end in windows if start <= w_end and end >= w_start]


def _pct(values, p):
    if not values:
        return None
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return round(values[k] * 1000, 1)


def check_requests(load, faults):
    windows = _windows(faults)
    endpoints = defaultdict(lambda: {"n": 0, "statuses": Counter(), "ok_s": []})
    server_errors = Counter()
    classified = Counter()
    unexpected_503, other_5xx, cut = [], [], Counter()
    for start, end, endpoint, status, _attempt in load.requests:
        e = endpoints[endpoint]
        e["n"] += 1
        e["statuses"][str(status)] += 1
        if isinstance(status, int) and status < 400:
            e["ok_s"].append(end - start)
        if not isinstance(status, int):
            where = _overlaps(windows, start, end)
            cut[f"{status} {endpoint} during {'+'.join(where) or 'no fault'}"] += 1
            continue
        if status < 500:
            continue
        server_errors[f"{status} {endpoint}"] += 1
        where = _overlaps(windows, start, end)
        if status != 503:
            other_5xx.append({"at": start, "endpoint": endpoint, "status": status,
                              "during": where})
            continue
        if "pg_restart" in where:
            classified["during pg_restart"] += 1
        elif any(endpoint in DOCUMENTED_503.get(w, ()) for w in where):
            classified[f"documented, during {'+'.join(where)}"] += 1
        else:
            classified[f"unexpected, during {'+'.join(where) or 'no fault'}"] += 1
            unexpected_503.append({"at": start, "endpoint": endpoint, "during": where})
    table = {}
    for name, e in sorted(endpoints.items()):
        table[name] = {"n": e["n"], "statuses": dict(e["statuses"]),
                       "p50_ms": _pct(e["ok_s"], 50), "p95_ms": _pct(e["ok_s"], 95)}
    return {
        "total": len(load.requests),
        "rps": round(len(load.requests) / load.elapsed, 1) if load.elapsed else None,
        "endpoints": table,
        "5xx": dict(server_errors.most_common()),
        "503": dict(classified),
        "unexpected_503": unexpected_503[:50],
        "other_5xx": len(other_5xx),
        "other_5xx_sample": other_5xx[:50],
        "cut": dict(cut),
        "windows": [{"fault": n, "from_s": round(a, 3), "to_s": round(b, 3)}
                    for n, a, b in windows],
    }


def log_errors(text_):
    """Tracebacks of the log, grouped by request and exception: count and one excerpt."""
    records, current = [], []
    for line in text_.splitlines():
        if LOG_RECORD.match(line) and current:
            records.append(current)
            current = []
        current.append(line)
    if current:
        records.append(current)
    groups = {}
    for record in records:
        head = record[0]
        if "Traceback" not in "\n".join(record) and "[CRITICAL]" not in head \
                and "SIGKILL" not in head:
            continue
        what = re.sub(r"/\d+(?=/|\s|$)", "/<id>", head.split(": ", 1)[-1])[:160]
        last = next((line for line in reversed(record) if line.strip()), "")[:300]
        key = f"{what} → {last}" if last != head else what
        # The message, then the end of the traceback: the frame that raised is there.
        excerpt = record if len(record) <= 52 else [record[0], "  …", *record[-50:]]
        group = groups.setdefault(key, {"count": 0, "excerpt": excerpt})
        group["count"] += 1
    return sorted(({"what": k, **v} for k, v in groups.items()), key=lambda g: -g["count"])


# --------------------------------------------------------------------------- verdict


def verify(servers, load, faults, base, drained, args):
    engine = _engine(servers.database_url)
    with engine.connect() as conn:
        writes = check_writes(conn, load, base)
        races = check_races(conn, load)
        jobs = check_jobs(conn, base, servers, faults)
    engine.dispose()
    requests = check_requests(load, faults)
    gunicorn_errors = log_errors(servers.gunicorn_log())
    worker_errors = log_errors(servers.workers.log_text())
    acknowledged = sum(w["acknowledged"] for w in writes.values())
    lost = sum(w["lost"] for w in writes.values())
    duplicates = sum(w["duplicate_rows"] for w in writes.values()) + \
        writes["contact"]["duplicate_persons"]
    broken = []
    if requests["other_5xx"]:
        broken.append(f"{requests['other_5xx']} × 5xx other than 503")
    if requests["unexpected_503"]:
        broken.append(f"{len(requests['unexpected_503'])} × 503 outside the database restart")
    if lost:
        broken.append(f"{lost} acknowledged writes lost or changed")
    if duplicates:
        broken.append(f"{duplicates} duplicated writes")
    if jobs["not_done"]:
        broken.append(f"{jobs['not_done']} outbox jobs not done")
    if jobs["mails"]["sent_not_received"] or jobs["mails"]["queued"]:
        broken.append("mails not delivered")
    if races["violations"]:
        broken.append(f"{len(races['violations'])} races with two winners or a lost winner")
    if load.crashes:
        broken.append(f"the harness itself failed {len(load.crashes)} times (see stderr)")
    for record in faults.records:
        if "error" in record:
            broken.append(f"fault {record['fault']} not applied: {record['error']}")
    if len(faults.records) < 5:
        broken.append("not every fault ran")
    return {
        "broken": broken, "faults": faults.records, "drain": drained,
        "acknowledged_writes": acknowledged, "lost_writes": lost,
        "duplicated_writes": duplicates, "gave_up": len(load.gave_up),
        "gave_up_sample": load.gave_up[:10], "sign_ins": load.logins,
        "harness_errors": load.crashes[:20],
        "writes": writes, "races": races, "jobs": jobs, "requests": requests,
        "gunicorn_log_errors": gunicorn_errors[:30], "worker_log_errors": worker_errors[:30],
        "baseline": base,
    }


def environment(servers):
    from .loadrun import environment as bench_environment
    from .loadrun import other_load

    env = bench_environment(servers.database_url, servers.redis_url)
    env["load_after"] = other_load()
    return env


def markdown(result, path):
    """The short summary printed and appended to bench/CHAOS.md."""
    r = result["requests"]
    verdict = "every promise kept" if not result["broken"] else "BROKEN: " + "; ".join(
        result["broken"])
    lines = [
        f"## {result['started']} — {result['minutes']:g} min, {result['users']} users, "
        f"preset {result['preset']}: {verdict}",
        "",
        f"`python -m bench chaos --minutes {result['minutes']:g} --users {result['users']}` · "
        f"git {result['environment'].get('git', '?')} · {r['total']} requests "
        f"({r['rps']} req/s) · details in `{path}`" + (f" · {result['note']}"
                                                        if result["note"] else ""),
        "",
        "| fault | planned (s) | start (s) | end (s) | detail |",
        "|---|---:|---:|---:|---|",
    ]
    for f in result["faults"]:
        detail = ", ".join(f"{k}={v}" for k, v in f.items()
                           if k not in ("fault", "planned_s", "start_s", "end_s"))
        lines.append(f"| {f['fault']} | {f['planned_s']} | {f.get('start_s', '–')} | "
                     f"{f.get('end_s', '–')} | {detail} |")
    w, races, jobs = result["writes"], result["races"], result["jobs"]
    lines += [
        "",
        "| promise | result |",
        "|---|---|",
        f"| 0 × 5xx other than 503 | {r['other_5xx']} |",
        "| 503 only during the database restart (or documented) | "
        + (", ".join(f"{k}: {v}" for k, v in r["503"].items()) or "none") + " |",
        f"| acknowledged writes found with their data | "
        f"{result['acknowledged_writes'] - result['lost_writes']} of "
        f"{result['acknowledged_writes']} (contacts {w['contact']['found']}/"
        f"{w['contact']['acknowledged']}, triage {w['triage']['found']}/"
        f"{w['triage']['acknowledged']}, notes {w['note']['found']}/"
        f"{w['note']['acknowledged']}; acknowledged after a retry "
        f"{sum(x['retried_then_acknowledged'] for x in w.values())}, of which replayed "
        f"{sum(x['replayed'] for x in w.values())}; given up after 120 s of retries "
        f"{result['gave_up']}) |",
        f"| no duplicated write (one row per Idempotency-Key) | "
        f"{result['duplicated_writes']} duplicates (contacts "
        f"{w['contact']['duplicate_rows']}, triage {w['triage']['duplicate_rows']}, notes "
        f"{w['note']['duplicate_rows']}, persons {w['contact']['duplicate_persons']}) |",
        f"| every outbox job done | {jobs['outbox_rows'] - jobs['not_done']} of "
        f"{jobs['outbox_rows']} (drain {result['drain']['waited_s']} s); mails sent "
        f"{jobs['mails']['sent']}, received {jobs['mails']['received_by_smtp']} "
        f"({jobs['mails']['received_twice']} twice, same Message-ID); killed job: "
        f"{jobs['killed_job'].get('job', 'none')} → {jobs['killed_job'].get('status')}, "
        f"relayed {jobs['killed_job'].get('relay_count')} ×, delivered "
        f"{jobs['killed_job'].get('received_by_smtp')} × |",
        f"| one winner per claim and close | {len(races['violations'])} violations in "
        f"{races['races']} races; claims {races.get('claim_statuses', {})}, closes "
        f"{races.get('close_statuses', {})} |",
    ]
    if r["5xx"]:
        lines += ["", "5xx by status and endpoint: " + ", ".join(
            f"{k} × {v}" for k, v in r["5xx"].items())]
    if r["cut"]:
        lines += ["", "Requests without an answer (connection errors): " + ", ".join(
            f"{k} × {v}" for k, v in r["cut"].items())]
    errors = [g for g in result["gunicorn_log_errors"] if "Traceback" in "\n".join(
        g["excerpt"])]
    if errors:
        lines += ["", "Tracebacks in the gunicorn log:", ""]
        lines += [f"- {g['count']} × {g['what']}" for g in errors[:12]]
    return "\n".join(lines) + "\n"
