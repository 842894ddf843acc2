"""Where the time of each benchmarked call goes: SQL statements, their plans, Python.

    python -m bench profile [--endpoints board,case_page] [--pyinstrument]

Runs the same requests as the load runner in-process (Flask test client, no HTTP,
no gunicorn) against the benchmark database, and for each endpoint reports the
number of SQL statements, the time spent in them and outside them (Python: the view,
the ORM, templates), and the slowest statement with its `EXPLAIN (ANALYZE, BUFFERS)`.
With `--pyinstrument`, one request per endpoint is also profiled and its call tree
written to bench/profiles/<endpoint>.txt.
"""

import os
import re
import statistics
import time

import pyotp
from flask.testing import FlaskClient
from sqlalchemy import event

from . import accounts
from .loadrun import ENDPOINTS, WRITE_ENDPOINTS, Fixtures, Work

HERE = os.path.dirname(os.path.abspath(__file__))
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


class StatementLog:
    """Every statement the engine runs, with its duration."""

    def __init__(self, engine):
        self.engine = engine
        self.items = []
        self._start = {}
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    def after(self, conn, cursor, statement, parameters, context, executemany):
        t0 = conn.info["bench_t0"].pop()
        self.items.append((time.perf_counter() - t0, statement, parameters))

    def take(self):
        items, self.items = self.items, []
        return items


class FreshContextClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production
    (the profiler keeps an app context open around the requests)."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


class InProcessIdentities:
    """API tokens and logged-in test clients, shaped like loadrun.Identities."""

    def __init__(self, app, fixtures):
        self.app = app
        self.fixtures = fixtures
        self.tokens = [accounts.api_token(email) for email, _ in fixtures.users["advisor"]]
        self.clients = {}
        for role in ("supervisor", "advisor", "psychologist"):
            email = fixtures.users[role][0][0]
            client = app.test_client()
            page = client.get("/login").get_data(as_text=True)
            csrf = CSRF_INPUT.search(page).group(1)
            response = client.post("/login", data={"email": email, "csrf_token": csrf,
                                                   "password": accounts.PASSWORD, "next": ""})
            if response.headers.get("Location", "").endswith("/login/code"):
                page = client.get("/login/code").get_data(as_text=True)
                csrf = CSRF_INPUT.search(page).group(1)
                code = pyotp.TOTP(accounts.totp_secret(email)).now()
                response = client.post("/login/code", data={"code": code, "csrf_token": csrf})
            assert response.status_code == 302, (email, response.status_code)
            home = client.get("/").get_data(as_text=True)
            self.clients[role] = (client, CSRF_META.search(home).group(1))

    def api_headers(self, i):
        return {"Authorization": f"Bearer {self.tokens[i % len(self.tokens)]}"}

    def html_headers(self, role, i, csrf=False):
        return {"X-Bench-Role": role}, self.clients[role][1]


def send(app, identities, req):
    method, path, kwargs, expected, on_ok = req
    headers = dict(kwargs.get("headers") or {})
    role = headers.pop("X-Bench-Role", None)
    client = identities.clients[role][0] if role else app.test_client()
    response = client.open(path, method=method, headers=headers,
                           query_string=kwargs.get("params"), json=kwargs.get("json"),
                           data=kwargs.get("data"))
    if response.status_code != expected:
        raise RuntimeError(f"{method} {path}: {response.status_code} "
                           f"{response.get_data(as_text=True)[:300]}")
    if on_ok is not None:
        on_ok(response.get_json())
    return response


def explain(engine, statement, parameters):
    if engine.dialect.name != "postgresql":
        return "(EXPLAIN ANALYZE only on PostgreSQL)"
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = "\n".join(row[0] for row in cur.fetchall())
        raw.rollback()
    return plan


def profile(app, database_url, preset, endpoints=None, repeat=20, use_pyinstrument=False):
    from cellule.extensions import db

    fixtures = Fixtures(database_url, preset)
    app.test_client_class = FreshContextClient
    report = []
    with app.app_context():
        engine = db.engine
        identities = InProcessIdentities(app, fixtures)
        log = StatementLog(engine)
        work = Work(fixtures, identities, fixtures.fresh_persons[-2000:])
        for name, _, _ in ENDPOINTS:
            if endpoints is not None and name not in endpoints:
                continue
            try:
                entry = profile_endpoint(app, engine, identities, log, work, name, repeat,
                                         use_pyinstrument)
            except RuntimeError as error:
                print(f"{name:20} FAILED: {str(error)[:200]}")
                report.append({"endpoint": name, "error": str(error)[:500]})
                continue
            if entry is None:
                continue
            report.append(entry)
            print(f"{name:20} wall {entry['wall_ms']:7.1f} ms  sql {entry['sql_ms']:7.1f} ms  "
                  f"statements {entry['statements']:3}  slowest {entry['slowest_ms']:6.1f} ms")
    return report


def profile_endpoint(app, engine, identities, log, work, name, repeat, use_pyinstrument):
    """Median wall and SQL time of `repeat` requests, the statements, the slowest plan."""
    if name == "link_contact":
        for i, (case_id, person) in enumerate(work.cases):
            body = {"person_id": person, "channel": "phone", "direction": "out",
                    "duration_minutes": 5, "reasons": ["stress"], "summary": "Rappel."}
            r = app.test_client().post("/api/v1/contacts", json=body,
                                       headers=identities.api_headers(i))
            work.link_pairs.append((case_id, r.get_json()["id"]))
    if name not in WRITE_ENDPOINTS:
        for _ in range(3):
            req = work.request(name, 0)
            if req:
                send(app, identities, req)
    log.take()
    walls, sql_times, counts, slowest = [], [], [], (0, "", None)
    for i in range(repeat):
        req = work.request(name, i)
        if req is None:
            break
        t0 = time.perf_counter()
        send(app, identities, req)
        walls.append(time.perf_counter() - t0)
        items = log.take()
        sql_times.append(sum(d for d, _, _ in items))
        counts.append(len(items))
        top = max(items, key=lambda x: x[0], default=(0, "", None))
        if top[0] > slowest[0]:
            slowest = top
    if not walls:
        return None
    entry = {
        "endpoint": name, "n": len(walls),
        "wall_ms": statistics.median(walls) * 1000,
        "sql_ms": statistics.median(sql_times) * 1000,
        "statements": max(counts),
        "slowest_ms": slowest[0] * 1000,
        "slowest_sql": slowest[1],
        "plan": explain(engine, slowest[1], slowest[2]) if slowest[1] else "",
    }
    if use_pyinstrument:
        from pyinstrument import Profiler

        req = work.request(name, 99)
        if req is not None:
            profiler = Profiler(interval=0.0005)
            profiler.start()
            send(app, identities, req)
            profiler.stop()
            os.makedirs(os.path.join(HERE, "profiles"), exist_ok=True)
            with open(os.path.join(HERE, "profiles", f"{name}.txt"), "w") as f:
                f.write(profiler.output_text(unicode=True, color=False))
    return entry


def write_profile(report, path):
    lines = ["# Where the time goes (in-process, one request at a time)", "",
             "| endpoint | statements | wall ms (median) | SQL ms | Python ms | slowest SQL ms |",
             "|---|---:|---:|---:|---:|---:|"]
    for e in report:
        if "error" in e:
            lines.append(f"| {e['endpoint']} | error: {e['error'][:80]} | | | | |")
            continue
        lines.append(f"| {e['endpoint']} | {e['statements']} | {e['wall_ms']:.1f} | "
                     f"{e['sql_ms']:.1f} | {e['wall_ms'] - e['sql_ms']:.1f} | "
                     f"{e['slowest_ms']:.1f} |")
    lines.append("")
    for e in report:
        if "error" in e:
            continue
        lines += [f"## {e['endpoint']}", "", "Slowest statement:", "", "```sql",
                  e["slowest_sql"].strip(), "```", "", "```", e["plan"], "```", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
