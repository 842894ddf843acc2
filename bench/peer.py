"""The five calls compared with Aselo's HRM, interleaved, plus their round trips (issue 17).

    python -m bench peer --preset 200          # then --preset 10k
    python -m bench peer --preset 200 --counts-only

Two parts, both on the generated benchmark database (`python -m bench generate`):

1. **Latency.** gunicorn with the shipped `gunicorn.conf.py` (2 workers, as HRM was run),
   one sequential keep-alive client, and the five operations *interleaved* round by round,
   so that a drift of the machine (another process, the page cache) weighs on all five
   alike: create a contact for a person with no open case → open a case from that
   contact's triage → log a second contact (not timed) and link it to the case through the
   HTML form → list the open cases (API, first page) → get the case (API). p50/p95 per
   call, beside HRM's p50 on this machine kind (issue 17).
2. **Round trips.** The same calls in-process (Flask test client, no HTTP), counting per
   request the SQL statements the engine sends (BEGIN and COMMIT are not statements SQLAlchemy
   sends through a cursor, so they are not in the count), the pool checkouts and the
   COMMITs. These are the figures the issue's targets are written in; tests/perf/ holds the
   same counts as budgets.

Results: bench/results/peer-<preset>.json and the table in bench/PEER.md (rewritten from all
peer-*.json files present).
"""

import asyncio
import glob
import json
import os
import sys
import time
from datetime import UTC, datetime

import aiohttp
from sqlalchemy import event

from .loadrun import (
    HRM_P50,
    Fixtures,
    Gunicorn,
    Identities,
    Work,
    environment,
    other_load,
    summarise,
)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The five calls compared, each with its HRM operation and p50 (loadrun.HRM_P50).
OPERATIONS = tuple((name, call, *HRM_P50[name]) for name, call in (
    ("create_contact", "POST /api/v1/contacts"),
    ("create_case", "POST /api/v1/contacts/<id>/triage (opens a case)"),
    ("link_contact", "POST /cases/<id>/contacts (HTML form)"),
    ("case_list_api", "GET /api/v1/cases?status=active"),
    ("case_api", "GET /api/v1/cases/<id>"),
))
# The targets: statements per call, BEGIN/COMMIT aside, each in one checkout.
STATEMENT_TARGETS = {"create_contact": 6, "create_case": 12, "case_api": 5,
                     "case_list_api": 3}


class Round:
    """One round's requests, in order; each step feeds the next (contact → case → link)."""

    def __init__(self, work):
        self.work = work

    def requests(self, i):
        """Yield (name, request or None) for round `i`; `None` ends the run (no people left)."""
        w = self.work
        yield "create_contact", w.request("create_contact", i)
        yield "create_case", w.request("create_case", i)
        yield "second_contact", self._second_contact(i)
        yield "link_contact", w.request("link_contact", i)
        yield "case_list_api", w.request("case_list_api", i)
        yield "case_api", self._case(i)

    def _second_contact(self, i):
        w = self.work
        if not w.cases:
            return None
        case_id, person = w.cases[-1]
        body = {"person_id": person, "channel": "phone", "direction": "out",
                "duration_minutes": 5, "reasons": ["stress"], "summary": "Rappel."}

        def done(data, case_id=case_id):
            w.link_pairs.append((case_id, data["id"]))

        return ("POST", "/api/v1/contacts", {"json": body, "headers": w.ids.api_headers(i)},
                201, done)

    def _case(self, i):
        w = self.work
        if not w.cases:
            return None
        return ("GET", f"/api/v1/cases/{w.cases[-1][0]}",
                {"headers": w.ids.api_headers(i)}, 200, None)


async def _send(session, req):
    method, path, kwargs, expected, on_ok = req
    start = time.perf_counter()
    async with session.request(method, path, **kwargs) as r:
        body = await r.read()
        status = r.status
    elapsed = time.perf_counter() - start
    if status != expected:
        raise RuntimeError(f"{method} {path}: {status} {body[:300]!r}")
    if on_ok is not None:
        on_ok(json.loads(body))
    return elapsed


async def measure_latency(base, fixtures, identities, people, rounds, warmup):
    """Interleaved rounds over one keep-alive connection; return {operation: summary}."""
    work = Work(fixtures, identities, people)
    rounds_of = Round(work)
    samples = {name: [] for name, *_ in OPERATIONS}
    connector = aiohttp.TCPConnector(limit=1, force_close=False)
    async with aiohttp.ClientSession(base, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=60),
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        started = time.perf_counter()
        for i in range(warmup + rounds):
            for name, req in rounds_of.requests(i):
                if req is None:
                    raise RuntimeError(f"round {i}: no data left for {name}")
                elapsed = await _send(session, req)
                if i >= warmup and name in samples:
                    samples[name].append(elapsed)
        wall = time.perf_counter() - started
    return {name: summarise({"samples": s, "errors": 0, "wall": wall, "statuses": {}})
            for name, s in samples.items()}


class RoundTrips:
    """Statements, pool checkouts and COMMITs of the engine, per request."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = self.checkouts = self.commits = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine.pool, "checkout", self._checkout)

    def _statement(self, *args):
        self.statements += 1

    def _commit(self, *args):
        self.commits += 1

    def _checkout(self, *args):
        self.checkouts += 1

    def take(self):
        counts = {"statements": self.statements, "checkouts": self.checkouts,
                  "commits": self.commits}
        self.statements = self.checkouts = self.commits = 0
        return counts


def count_round_trips(app, fixtures, people, rounds):
    """The same rounds in-process; return {operation: {statements, checkouts, commits}}
    (the largest over the rounds, as a budget is). Round 0 warms the process up and is
    not counted: a process's first case of a year also creates that year's reference
    sequence, on a connection of its own (2 statements and a checkout, once)."""
    from cellule.extensions import db

    from .profile import FreshContextClient, InProcessIdentities, send

    app.test_client_class = FreshContextClient
    counts = {name: [] for name, *_ in OPERATIONS}
    with app.app_context():
        identities = InProcessIdentities(app, fixtures)
        work = Work(fixtures, identities, people)
        rounds_of = Round(work)
        trips = RoundTrips(db.engine)
        for i in range(rounds):
            for name, req in rounds_of.requests(i):
                if req is None:
                    raise RuntimeError(f"round {i}: no data left for {name}")
                trips.take()
                send(app, identities, req)
                taken = trips.take()
                if name in counts and i > 0:
                    counts[name].append(taken)
    return {name: {key: max(c[key] for c in rows) for key in rows[0]}
            for name, rows in counts.items() if rows}


def run(args, app):
    fixtures = Fixtures(args.database_url, args.preset)
    people = fixtures.fresh_persons
    need = args.rounds + args.warmup + args.count_rounds
    if len(people) < need:
        raise SystemExit(f"only {len(people)} people without an open case; generate again "
                         f"(python -m bench generate --preset {args.preset})")
    record = {"preset": args.preset, "started": datetime.now(UTC).isoformat(timespec="seconds"),
              "dataset": fixtures.dataset_counts(args.database_url),
              "environment": environment(args.database_url, args.redis_url),
              "load_before": other_load(), "note": args.note,
              "operations": {name: {"call": call, "hrm_operation": peer, "hrm_p50_ms": hrm}
                             for name, call, peer, hrm in OPERATIONS}}
    trips = count_round_trips(app, fixtures, people[:args.count_rounds], args.count_rounds)
    for name, counts in trips.items():
        record["operations"][name].update(counts)
        print(f"  {name:15} statements {counts['statements']:3}  checkouts "
              f"{counts['checkouts']}  commits {counts['commits']}", file=sys.stderr)
    if not args.counts_only:
        with Gunicorn(args.database_url, args.redis_url, workers=2, threads=0) as server:
            identities = Identities(fixtures)
            asyncio.run(identities.login(server.url, roles=("advisor",), per_role=1))
            latency = asyncio.run(measure_latency(
                server.url, fixtures, identities, people[args.count_rounds:], args.rounds,
                args.warmup))
            record["server"] = {"command": " ".join(server.command()[2:])}
        for name, summary in latency.items():
            record["operations"][name].update(p50_ms=summary["p50_ms"],
                                              p95_ms=summary["p95_ms"], n=summary["n"])
            hrm = record["operations"][name]["hrm_p50_ms"]
            print(f"  {name:15} p50 {summary['p50_ms']:6.2f} ms  p95 {summary['p95_ms']:6.2f}"
                  f"  HRM {hrm:5.1f}  ratio {summary['p50_ms'] / hrm:4.2f}", file=sys.stderr)
    record["load_after"] = other_load()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"peer-{args.preset}.json")
    with open(path, "w") as f:
        json.dump(record, f, indent=2)
    write_table(args.out, os.path.join(HERE, "PEER.md"))
    print(f"wrote {path} and bench/PEER.md", file=sys.stderr)


PEER_INTRO = ("p50 of an interleaved sequential keep-alive run against gunicorn with the "
              "shipped `gunicorn.conf.py` (2 workers); statements (BEGIN and COMMIT aside), "
              "pool checkouts and COMMITs are the most any request of that call needed, "
              "counted in-process. HRM: p50 at ~200 cases on this machine kind (issue 17); its "
              "sign-in was stubbed and it audits no reads.")


def peer_tables(results, level="##"):
    """The lines of one table per peer-*.json in `results` (PEER.md and RESULTS.md)."""
    lines = []
    for path in sorted(glob.glob(os.path.join(results, "peer-*.json"))):
        with open(path) as f:
            record = json.load(f)
        data = record["dataset"]
        lines += [f"{level} {record['preset']} preset — {data['cases']} cases "
                  f"({data['open_cases']} open), {record['started']}", "",
                  f"Git {record['environment']['git']}; load before: "
                  f"{' '.join(record['load_before']['loadavg'])}. {record.get('note', '')}", "",
                  "| call | HRM operation | p50 ms | p95 ms | HRM p50 ms | ratio | statements "
                  "(target) | checkouts | commits |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, call, peer, hrm in OPERATIONS:
            op = record["operations"].get(name, {})
            p50, p95 = op.get("p50_ms"), op.get("p95_ms")
            ratio = f"{p50 / hrm:.2f}" if p50 else "–"
            target = STATEMENT_TARGETS.get(name)
            statements = f"{op.get('statements', '–')}" + (f" (≤ {target})" if target else "")
            lines.append(
                f"| `{call}` | {peer} | {_ms(p50)} | {_ms(p95)} | {hrm} | {ratio} | "
                f"{statements} | {op.get('checkouts', '–')} | {op.get('commits', '–')} |")
        lines.append("")
    return lines


def write_table(results, output):
    """bench/PEER.md from every peer-*.json in `results`."""
    lines = ["# Cellule beside Aselo's HRM: the five equivalent calls (issue 17)", "",
             "Written by `python -m bench peer` (see bench/peer.py for the method). "
             + PEER_INTRO, ""]
    with open(output, "w") as f:
        f.write("\n".join(lines + peer_tables(results)))


def _ms(value):
    return "–" if value is None else f"{value:.2f}"
