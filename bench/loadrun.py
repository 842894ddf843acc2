"""The load runner: gunicorn on loopback, a small asyncio/aiohttp client, per-endpoint figures.

Why not locust: on a 2-core machine the load generator shares the CPU with gunicorn and
PostgreSQL, so it must be as light as possible and its own overhead must not differ
between endpoints. One asyncio process with aiohttp drives 50 concurrent users at a
few percent of a core; each request is timed with `perf_counter` from send to last byte
of the body; the statistics are exact percentiles over every sample (no histogram
buckets). Locust (gevent, a process per core, its web/UI machinery) would cost more CPU
than the server parts it measures.

Each endpoint is measured alone, one after the other, in one run against the same
server: first sequentially (one client, one request at a time), then with 50 users
sending back-to-back requests (closed loop, no think time: the throughput is the
server's capacity for that call, and `/api/v1/health` measured in the same run gives
the ratio). Write calls use fresh data prepared from the database before the run:
people with no open case (so that triage really opens a case), their new contacts,
and a second contact to link.
"""

import asyncio
import json
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata

import aiohttp
import pyotp
from sqlalchemy import bindparam, create_engine, text

from . import accounts
from .presets import LEVEL_ANSWERS, PRESETS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "bench")
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# Aselo HRM, the open-source helpline backend Cellule is compared with: per call, the HRM
# operation and its p50 in ms at ~200 cases on this machine kind (issue 17; its sign-in
# stubbed, no read audited). bench/peer.py measures the five side by side.
HRM_P50 = {
    "create_contact": ("create contact", 9.1),
    "create_case": ("create case + connect contact", 11.6),
    "link_contact": ("connect contact", 6.7),
    "case_list_api": ("list cases", 3.7),
    "case_api": ("get case", 2.6),
}
# The endpoints, in the order they are measured, with the HRM operation each compares with.
ENDPOINTS = tuple((name, call, HRM_P50.get(name)) for name, call in (
    ("health", "GET /api/v1/health"),
    ("triage_evaluate", "POST /api/v1/triage/evaluate"),
    ("person_search", "GET /api/v1/persons?q="),
    ("create_contact", "POST /api/v1/contacts"),
    ("create_case", "POST /api/v1/contacts/<id>/triage (opens a case)"),
    ("link_contact", "POST /cases/<id>/contacts (HTML form)"),
    ("case_list_api", "GET /api/v1/cases?status=active (50/page)"),
    ("board", "GET /board (supervisor, first page)"),
    ("board_filtered", "GET /board?status=active&route=psychologist&level=serious"),
    ("board_deep", "GET /board?status=closed&cursor=<deep>"),
    ("case_list_deep_api", "GET /api/v1/cases?status=closed&cursor=<deep>"),
    ("psychology_queue", "GET /queues/psychology (psychologist)"),
    ("case_page", "GET /cases/<id> (HTML)"),
    ("case_api", "GET /api/v1/cases/<id>"),
    ("health_end", "GET /api/v1/health (again, end of run)"),
))
WRITE_ENDPOINTS = {"create_contact", "create_case", "link_contact"}


# --------------------------------------------------------------------------- server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_url, redis_url):
    from .__main__ import INSTANCE, SECRET_KEY

    env = dict(os.environ)
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, SECRET_KEY=SECRET_KEY,
               CELLULE_INSTANCE_PATH=INSTANCE, CELLULE_ENV="development",
               CELLULE_IDLE_MINUTES="240", PYTHONPATH=ROOT)
    return env


class Gunicorn:
    """gunicorn wsgi:app on a free loopback port, logs in bench/instance/gunicorn.log."""

    def __init__(self, database_url, redis_url, workers=2, threads=1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers, self.threads = workers, threads
        self.env = server_env(database_url, redis_url)
        self.proc = None

    def command(self):
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-b",
               f"127.0.0.1:{self.port}", "--log-level", "warning"]
        if self.threads > 1:
            cmd += ["--threads", str(self.threads)]
        return [*cmd, "wsgi:app"]

    def __enter__(self):
        from .__main__ import INSTANCE

        os.makedirs(INSTANCE, exist_ok=True)
        self.log = open(os.path.join(INSTANCE, "gunicorn.log"), "a")  # noqa: SIM115
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited; see bench/instance/gunicorn.log")
            try:
                import urllib.request

                with urllib.request.urlopen(self.url + "/api/v1/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer /api/v1/health within 60 s")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


# --------------------------------------------------------------------------- data


class Fixtures:
    """What the run needs from the database: users, people, cases, cursors, queries."""

    def __init__(self, database_url, preset):
        from cellule.config import normalise_database_url

        self.preset = PRESETS[preset]
        self.engine = create_engine(normalise_database_url(database_url))
        rng = random.Random(7)
        with self.engine.connect() as conn:
            q = lambda sql, **kw: conn.execute(text(sql), kw).all()  # noqa: E731
            self.users = {}
            for role, email, user_id in q("SELECT role, email, id FROM users "
                                          "WHERE email LIKE '%@bench.cellule.example' "
                                          "ORDER BY id"):
                self.users.setdefault(role, []).append((email, user_id))
            # People with no open case, not merged: triage will open a case for them.
            fresh = [r[0] for r in q(
                "SELECT p.id FROM persons p WHERE p.merged_into_id IS NULL AND NOT EXISTS "
                "(SELECT 1 FROM cases c WHERE c.person_id = p.id AND c.status <> 'closed') "
                "ORDER BY p.id DESC LIMIT 20000")]
            rng.shuffle(fresh)
            self.fresh_persons = fresh
            counts = dict(q("SELECT status = 'closed', count(*) FROM cases GROUP BY 1"))
            self.closed_cases = counts.get(True, 0)
            self.open_cases = counts.get(False, 0)
            sample = [r[0] for r in q("SELECT id FROM cases ORDER BY random() LIMIT 200")]
            open_sample = [r[0] for r in q(
                "SELECT id FROM cases WHERE status <> 'closed' ORDER BY random() LIMIT 200")]
            self.case_ids = sample + open_sample
            rng.shuffle(self.case_ids)
            # A page deep in the history: the middle of the closed cases by deadline.
            deep = q("SELECT due_at, id FROM cases WHERE status = 'closed' "
                     "ORDER BY due_at ASC NULLS LAST, id ASC LIMIT 1 OFFSET :n",
                     n=max(0, self.closed_cases // 2))
            self.deep_cursor = self._cursor(*deep[0]) if deep else None
            self.deep_offset = self.closed_cases // 2
            ids = sorted({rng.randrange(1, self.preset.persons + 1) for _ in range(300)})
            names = conn.execute(
                text("SELECT name, phone FROM persons WHERE id IN :ids")
                .bindparams(bindparam("ids", expanding=True)), {"ids": ids}).all()
        self.queries = self._queries(names, rng)
        self.engine.dispose()

    @staticmethod
    def _cursor(due_at, case_id):
        from cases.queries import encode_cursor

        from .__main__ import SECRET_KEY  # cursors are signed with the served app's key

        if isinstance(due_at, str):
            due_at = datetime.fromisoformat(due_at)
        if due_at is not None and due_at.tzinfo is None:
            due_at = due_at.replace(tzinfo=UTC)
        return encode_cursor(due_at, case_id, secret_key=SECRET_KEY)

    @staticmethod
    def _queries(rows, rng):
        """Search strings a desk would type: surname, first + last name, prefix, phone."""
        queries = []
        for i, (name, phone) in enumerate(rows):
            parts = name.split()
            kind = i % 4
            if kind == 0:
                queries.append(parts[-1])
            elif kind == 1:
                queries.append(name)
            elif kind == 2:
                queries.append(parts[-1][:4])
            elif phone and phone.startswith("+32"):
                national = "0" + phone[3:]
                queries.append(f"{national[:4]} {national[4:6]} {national[6:8]}")
            else:
                queries.append(parts[0])
        rng.shuffle(queries)
        return queries

    def dataset_counts(self, database_url):
        from cellule.config import normalise_database_url

        engine = create_engine(normalise_database_url(database_url))
        tables = ("persons", "contacts", "cases", "tasks", "triage_runs", "case_events",
                  "case_contacts", "case_notes", "referrals", "audit_events", "users")
        with engine.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                      for t in tables}
            counts["open_cases"] = conn.execute(text(
                "SELECT count(*) FROM cases WHERE status <> 'closed'")).scalar_one()
            counts["open_tasks"] = conn.execute(text(
                "SELECT count(*) FROM tasks WHERE status = 'open'")).scalar_one()
        engine.dispose()
        return counts


# --------------------------------------------------------------------------- identities


async def html_login(base, email, secret=None, attempts=3):
    """Sign in through the real form (and the TOTP step); return (cookie header, csrf)."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base, cookie_jar=jar) as s:
        for _attempt in range(attempts):
            async with s.get("/login") as r:
                page = await r.text()
            csrf = CSRF_INPUT.search(page).group(1)
            async with s.post("/login", data={"email": email, "password": accounts.PASSWORD,
                                              "csrf_token": csrf, "next": ""},
                              allow_redirects=False) as r:
                location = r.headers.get("Location", "")
                if r.status != 302:
                    raise RuntimeError(f"login of {email} failed: {r.status}")
            if location.endswith("/login/code"):
                async with s.get("/login/code") as r:
                    csrf = CSRF_INPUT.search(await r.text()).group(1)
                code = pyotp.TOTP(secret).now()
                async with s.post("/login/code", data={"code": code, "csrf_token": csrf},
                                  allow_redirects=False) as r:
                    if r.status != 302:
                        # A code is accepted once: wait for the next 30-second step.
                        await asyncio.sleep(31 - time.time() % 30)
                        continue
            async with s.get("/") as r:
                home = await r.text()
                if r.status != 200:
                    raise RuntimeError(f"home page after login of {email}: {r.status}")
            csrf = CSRF_META.search(home).group(1)
            cookies = "; ".join(f"{c.key}={c.value}" for c in jar)
            return cookies, csrf
    raise RuntimeError(f"could not sign {email} in")


class Identities:
    """API tokens of advisors; browser sessions of supervisors, advisors, psychologists."""

    def __init__(self, fixtures):
        self.fixtures = fixtures
        self.tokens = [accounts.api_token(email) for email, _ in fixtures.users["advisor"]]
        self.html = {}

    async def login(self, base, roles=("supervisor", "advisor", "psychologist"), per_role=4):
        for role in roles:
            sessions = []
            for email, _ in self.fixtures.users[role][:per_role]:
                secret = accounts.totp_secret(email)
                sessions.append(await html_login(base, email, secret))
            self.html[role] = sessions

    def api_headers(self, i):
        return {"Authorization": f"Bearer {self.tokens[i % len(self.tokens)]}"}

    def html_headers(self, role, i, csrf=False):
        cookies, token = self.html[role][i % len(self.html[role])]
        headers = {"Cookie": cookies}
        if csrf:
            headers["X-CSRFToken"] = token
        return headers, token


# --------------------------------------------------------------------------- requests


class Work:
    """Builds each endpoint's next request; write endpoints draw on prepared pools."""

    def __init__(self, fixtures, identities, people):
        self.fx = fixtures
        self.ids = identities
        self.people = list(people)  # person ids with no open case, for this mode
        self.person_iter = iter(self.people)
        self.new_contacts = []  # contacts created by create_contact (person has no open case)
        self.contact_iter = None
        self.cases = []  # (case id, person id) opened by create_case
        self.link_pairs = []  # (case id, contact id) prepared for link_contact
        self.link_iter = None
        self.rng = random.Random(11)
        self.counter = 0

    def request(self, name, vu):
        """Return (method, path, kwargs, expected status, on_ok) or None when exhausted."""
        self.counter += 1
        n = self.counter
        api = self.ids.api_headers(vu)
        if name in ("health", "health_end"):
            return "GET", "/api/v1/health", {}, 200, None
        if name == "triage_evaluate":
            level = ("elevated", "at_risk", "serious", "low")[n % 4]
            body = {"answers": LEVEL_ANSWERS[level], "language": "fr"}
            return "POST", "/api/v1/triage/evaluate", {"json": body, "headers": api}, 200, None
        if name == "person_search":
            q = self.fx.queries[n % len(self.fx.queries)]
            return "GET", "/api/v1/persons", {"params": {"q": q}, "headers": api}, 200, None
        if name == "create_contact":
            person = next(self.person_iter, None)
            if person is None:
                return None
            body = {"person_id": person, "channel": "phone", "direction": "in",
                    "duration_minutes": 12, "reasons": ["stress", "finances"],
                    "summary": "Appel du banc d'essai : retard de cotisations, dort mal."}

            def done(data, person=person):
                self.new_contacts.append((data["id"], person))

            return "POST", "/api/v1/contacts", {"json": body, "headers": api}, 201, done
        if name == "create_case":
            if self.contact_iter is None:
                self.contact_iter = iter(self.new_contacts)
            item = next(self.contact_iter, None)
            if item is None:
                return None
            contact_id, person = item
            body = {"answers": LEVEL_ANSWERS["elevated"], "immediate_danger": False,
                    "language": "fr"}

            def done(data, person=person):
                if data.get("case"):
                    self.cases.append((data["case"]["id"], person))

            return ("POST", f"/api/v1/contacts/{contact_id}/triage",
                    {"json": body, "headers": api}, 201, done)
        if name == "link_contact":
            if self.link_iter is None:
                self.link_iter = iter(self.link_pairs)
            item = next(self.link_iter, None)
            if item is None:
                return None
            case_id, contact_id = item
            headers, csrf = self.ids.html_headers("advisor", vu)
            return ("POST", f"/cases/{case_id}/contacts",
                    {"data": {"contact_id": str(contact_id), "csrf_token": csrf},
                     "headers": headers, "allow_redirects": False}, 302, None)
        if name == "case_list_api":
            return ("GET", "/api/v1/cases", {"params": {"status": "active"}, "headers": api},
                    200, None)
        if name == "case_list_deep_api":
            params = {"status": "closed"}
            if self.fx.deep_cursor:
                params["cursor"] = self.fx.deep_cursor
            return "GET", "/api/v1/cases", {"params": params, "headers": api}, 200, None
        if name in ("board", "board_filtered", "board_deep"):
            headers, _ = self.ids.html_headers("supervisor", vu)
            params = {}
            if name == "board_filtered":
                params = {"status": "active", "route": "psychologist", "level": "serious"}
            elif name == "board_deep":
                params = {"status": "closed"}
                if self.fx.deep_cursor:
                    params["cursor"] = self.fx.deep_cursor
            return "GET", "/board", {"params": params, "headers": headers}, 200, None
        if name == "psychology_queue":
            headers, _ = self.ids.html_headers("psychologist", vu)
            return "GET", "/queues/psychology", {"headers": headers}, 200, None
        if name == "case_page":
            case_id = self.fx.case_ids[n % len(self.fx.case_ids)]
            headers, _ = self.ids.html_headers("advisor", vu)
            return "GET", f"/cases/{case_id}", {"headers": headers}, 200, None
        if name == "case_api":
            case_id = self.fx.case_ids[n % len(self.fx.case_ids)]
            return "GET", f"/api/v1/cases/{case_id}", {"headers": api}, 200, None
        raise ValueError(name)


async def prepare_links(session, work, identities):
    """For each case opened in the run, log a second contact of its person (not timed)."""
    sem = asyncio.Semaphore(8)

    async def one(i, case_id, person):
        async with sem:
            body = {"person_id": person, "channel": "phone", "direction": "out",
                    "duration_minutes": 5, "reasons": ["stress"], "summary": "Rappel."}
            async with session.post("/api/v1/contacts", json=body,
                                    headers=identities.api_headers(i)) as r:
                if r.status == 201:
                    work.link_pairs.append((case_id, (await r.json())["id"]))

    await asyncio.gather(*(one(i, c, p) for i, (c, p) in enumerate(work.cases)))


async def measure(session, work, name, users, max_requests, seconds):
    """Run one endpoint; return its samples (seconds) and counts."""
    samples, errors, statuses = [], 0, {}
    sent = 0
    deadline = time.perf_counter() + seconds
    lock = asyncio.Lock()

    async def vu(i):
        nonlocal sent, errors
        while True:
            async with lock:
                if sent >= max_requests or time.perf_counter() >= deadline:
                    return
                req = work.request(name, i)
                if req is None:
                    return
                sent += 1
            method, path, kwargs, expected, on_ok = req
            start = time.perf_counter()
            try:
                async with session.request(method, path, **kwargs) as r:
                    body = await r.read()
                    status = r.status
            except aiohttp.ClientError as error:
                status, body = type(error).__name__, b""
            elapsed = time.perf_counter() - start
            statuses[status] = statuses.get(status, 0) + 1
            if status == expected:
                samples.append(elapsed)
                if on_ok is not None:
                    on_ok(json.loads(body))
            else:
                errors += 1
                if errors <= 3:
                    print(f"  {name}: unexpected {status}: {body[:300]!r}", file=sys.stderr)

    started = time.perf_counter()
    await asyncio.gather(*(vu(i) for i in range(users)))
    wall = time.perf_counter() - started
    return {"samples": samples, "errors": errors, "wall": wall, "statuses": statuses}


def summarise(result):
    samples = sorted(result["samples"])
    n = len(samples)

    def pct(p):
        if not samples:
            return None
        k = max(0, min(n - 1, int(round(p / 100 * n + 0.5)) - 1))
        return samples[k] * 1000

    return {
        "n": n, "errors": result["errors"], "wall_s": round(result["wall"], 3),
        "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
        "mean_ms": statistics.fmean(samples) * 1000 if samples else None,
        "max_ms": samples[-1] * 1000 if samples else None,
        "rps": n / result["wall"] if result["wall"] else None,
        "statuses": {str(k): v for k, v in result["statuses"].items()},
    }


async def run_mode(base, fixtures, identities, people, mode, users, requests, seconds,
                   only=None):
    """Measure every endpoint in one mode; return {endpoint: summary}."""
    work = Work(fixtures, identities, people)
    connector = aiohttp.TCPConnector(limit=users, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    results = {}
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        # Warm-up: every endpoint a few times (connections, caches, template compilation).
        warm = Work(fixtures, identities, [])
        for name, _, _ in ENDPOINTS:
            if name in WRITE_ENDPOINTS:
                continue
            await measure(session, warm, name, 2, 10, 10)
        for name, _, _ in ENDPOINTS:
            if only and name not in only:
                continue
            if name == "link_contact":
                await prepare_links(session, work, identities)
            if mode == "sequential":
                result = await measure(session, work, name, 1, requests, 600)
            else:
                result = await measure(session, work, name, users, 100_000, seconds)
            results[name] = summarise(result)
            s = results[name]
            print(f"  {mode:10} {name:20} n={s['n']:5} p50={_f(s['p50_ms'])} "
                  f"p95={_f(s['p95_ms'])} p99={_f(s['p99_ms'])} rps={_f(s['rps'])} "
                  f"err={s['errors']}", file=sys.stderr)
    return results


def _f(value):
    return "-" if value is None else f"{value:7.1f}"


# --------------------------------------------------------------------------- environment


def environment(database_url, redis_url):
    from cellule.config import normalise_database_url

    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with open("/proc/meminfo") as f:
        mem_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    engine = create_engine(normalise_database_url(database_url))
    with engine.connect() as conn:
        pg = conn.execute(text("SHOW server_version")).scalar_one()
        settings = dict(conn.execute(text(
            "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
            "('shared_buffers', 'work_mem', 'effective_cache_size', 'synchronous_commit', "
            "'max_connections', 'random_page_cost', 'jit')")).all())
    engine.dispose()
    import redis

    redis_version = redis.Redis.from_url(redis_url).info("server")["redis_version"]
    versions = {"python": platform.python_version(), "postgresql": pg, "redis": redis_version}
    for package in ("Flask", "SQLAlchemy", "psycopg", "gunicorn", "aiohttp", "Jinja2"):
        try:
            versions[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            pass
    git = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain"],
                           capture_output=True, text=True).stdout.count("\n")
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 1024 ** 2, 1),
            "kernel": platform.release(), "versions": versions, "postgres_settings": settings,
            "git": f"{git} (+{dirty} uncommitted files)"}


def other_load():
    """The processes using the CPU now (not ours), for the record."""
    out = subprocess.run(["ps", "-eo", "pcpu,args", "--sort=-pcpu"], capture_output=True,
                         text=True).stdout.splitlines()[1:8]
    return {"loadavg": open("/proc/loadavg").read().split()[:3],
            "top": [line.strip()[:120] for line in out]}


def run_all(args):
    fixtures = Fixtures(args.database_url, args.preset)
    os.makedirs(args.out, exist_ok=True)
    env = environment(args.database_url, args.redis_url)
    fresh = fixtures.fresh_persons
    modes = args.modes.split(",")
    # Split the people with no open case between the modes (sequential gets a third).
    n_seq = min(args.requests, len(fresh) // 3) if "concurrent" in modes else len(fresh)
    pools = {"sequential": fresh[:n_seq], "concurrent": fresh[n_seq:n_seq + 20000]}
    with Gunicorn(args.database_url, args.redis_url, args.gunicorn_workers,
                  args.gunicorn_threads) as server:
        identities = Identities(fixtures)
        asyncio.run(identities.login(server.url))
        for mode in modes:
            counts = fixtures.dataset_counts(args.database_url)
            load_before = other_load()
            started = datetime.now(UTC)
            print(f"{args.preset} {mode}: {counts}", file=sys.stderr)
            results = asyncio.run(run_mode(server.url, fixtures, identities, pools[mode], mode,
                                           1 if mode == "sequential" else args.users,
                                           args.requests, args.seconds,
                                           set(filter(None, args.endpoints.split(",")))))
            record = {
                "preset": args.preset, "mode": mode,
                "users": 1 if mode == "sequential" else args.users,
                "started": started.isoformat(timespec="seconds"),
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                "dataset": counts, "deep_offset": fixtures.deep_offset,
                "server": {"command": "gunicorn " + " ".join(server.command()[3:]),
                           "workers": server.workers, "threads": server.threads},
                "environment": env, "load_before": load_before, "load_after": other_load(),
                "note": args.note, "endpoints": results,
                "descriptions": {name: desc for name, desc, _ in ENDPOINTS},
                "hrm": {name: hrm for name, _, hrm in ENDPOINTS if hrm},
            }
            path = os.path.join(args.out, f"{args.preset}-{mode}.json")
            with open(path, "w") as f:
                json.dump(record, f, indent=2)
            print(f"wrote {path}", file=sys.stderr)
