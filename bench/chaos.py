"""The chaos run (issue 13): a mixed load by 30 users with five faults, then the checks.

    python -m bench chaos                 # 10 minutes, 30 users (the issue's run)
    python -m bench chaos --minutes 2     # a quick one

Everything runs on servers of the run's own (`bench.chaos_env`): a PostgreSQL cluster
in a temporary directory, a redis-server, an SMTP sink, gunicorn (2 workers, the
bench's `Gunicorn`) and two `flask --app wsgi worker` processes — the faults never
touch the machine's shared PostgreSQL or Redis. The data is the bench preset `200`.

The load (`Load`): asyncio + aiohttp like `bench.loadrun`, 30 virtual users with a
think time between their requests:

- desks (API, advisors): log a contact for a new person, then run its triage (which
  opens a case; some are imminent, which mails the on-duty supervisors), then read
  (the case, case and contact lists followed through their cursors, a person search);
- racers, in groups of three: the three read one new case, then claim it at the
  same instant, then close it at the same instant (one by the HTML form), or one
  claims while the two others close — every race has one winner, the rest 409;
- note writers (API): team and clinical notes on the new cases;
- HTML users: the board and its next page, queues, case pages, and real sign-ins
  through the login form;
- API readers: case and contact lists through their cursors, person search, health.

Every write that creates something carries an `Idempotency-Key` and a marker in its
text (the same key); a write that failed with a connection error or a 503 is sent again
with the same key and body, as a good client does (`Retry-After` is honoured).

The faults (`FAULTS`, at fractions of the run, durations scaled by --minutes / 10):
Redis stopped 60 s; a job worker killed with -9 while it runs a job (the SMTP sink is
slowed meanwhile so that a mail job is under way); PostgreSQL restarted (`pg_ctl
restart -m fast`); the busiest gunicorn worker killed with -9 while requests are in
flight; both job workers stopped for 2 minutes, then started again. A killed job
worker is started again after 5 s, as a process manager would.

Then (`bench.chaos_check`): the workers drain the outbox (bounded wait), and the
database is compared with what the clients were told: every acknowledged write found
with its data, no write twice (one row per key and marker), every outbox job done, one
winner per claim and close; the 5xx by status and endpoint, each 503 placed inside or
outside a fault window, each 500 with its traceback from the gunicorn log. Results:
`bench/results/chaos-<date>.json`, a summary printed and appended to `bench/CHAOS.md`;
the exit status is 1 when a promise is broken.
"""

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import traceback
from contextlib import ExitStack
from datetime import UTC, datetime

import aiohttp

from . import accounts
from .chaos_env import PostgresCluster, RedisServer, SmtpSink, Workers
from .loadrun import CSRF_INPUT, ROOT, Fixtures, Gunicorn, Identities, html_login
from .presets import LEVEL_ANSWERS

HERE = os.path.join(ROOT, "bench")

# (name, start as a fraction of the run, duration in seconds for a 10-minute run).
FAULTS = (
    ("redis_stop", 0.10, 60),
    ("worker_kill", 0.27, 0),
    ("pg_restart", 0.40, 0),
    ("gunicorn_kill", 0.52, 0),
    ("workers_stop", 0.62, 120),
)
# Triage levels of the desks' calls (imminent ones mail the supervisors).
LEVEL_WEIGHTS = (("elevated", 45), ("at_risk", 25), ("serious", 10), ("imminent", 8),
                 ("low", 7), ("high", 5))
CHAOS_MD_TITLE = """# Chaos runs (issue 13)

Appended by `python -m bench chaos` (see `bench/README.md`), one section per run, newest
last; each run's full figures are in `bench/results/chaos-<date>.json`.
"""
# Closing an imminent or high case without a safety plan says why (issue 19).
NO_PLAN_REASON = "chaos run: the plan was written on paper"
RETRY_BUDGET = 120.0  # seconds a client keeps retrying one write
NEXT_LINK = re.compile(r'href="([^"]*[?&]cursor=[^"]+)"')
VERSION_INPUT = re.compile(r'name="version" value="(\d+)"')
TASK_INPUT = re.compile(r'name="task_(\d+)"')


def _label(method, path):
    """The endpoint of a request: ids replaced by <id>, no query string."""
    return f"{method} " + re.sub(r"/\d+(?=/|$)", "/<id>", path.split("?", 1)[0])


class Reply:
    __slots__ = ("status", "body", "headers", "attempts")

    def __init__(self, status, body=b"", headers=None, attempts=1):
        self.status, self.body, self.headers, self.attempts = status, body, headers or {}, attempts

    @property
    def ok(self):
        return isinstance(self.status, int) and 200 <= self.status < 300

    @property
    def retryable(self):
        """No answer, a 503, or the draft's 409 "the first request with this key is still
        running" (it carries Retry-After): a good client sends the same request again."""
        if not isinstance(self.status, int) or self.status == 503:
            return True
        return self.status == 409 and "Retry-After" in self.headers

    @property
    def replayed(self):
        return self.headers.get("Idempotent-Replayed", "").lower() == "true"

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return {}


class Load:
    """The virtual users, what they were told, and every request's record."""

    def __init__(self, base, fixtures, identities, args, run_id):
        self.base = base
        self.fx = fixtures
        self.ids = identities
        self.args = args
        self.run_id = run_id
        self.rng = random.Random(13)
        self.t0 = None
        self.stop_at = None
        self.requests = []  # (start, end, endpoint, status, attempt)
        self.inflight = 0
        self.counter = 0
        self.acks = []  # acknowledged writes: {"kind", "id", "key", ...}
        self.gave_up = []  # writes still failing after RETRY_BUDGET: {"kind", "key"}
        self.cases = []  # cases opened by the run: {"id", "queue", "level"}
        self.race_queue = asyncio.Queue()
        self.races = []  # {"case", "kind", "claims": [...], "closes": [...]}
        self.logins = 0
        self.faults_done = False
        self.crashes = []  # bugs of the harness itself (tracebacks printed)
        self.session = None
        self.tokens = {role: [(email, uid, accounts.api_token(email)) for email, uid in users]
                       for role, users in fixtures.users.items()}

    # ------------------------------------------------------------------ plumbing

    def now(self):
        return time.monotonic() - self.t0

    def stopping(self):
        """The end of the run; it waits for the last fault to be over."""
        return time.monotonic() >= self.stop_at and self.faults_done

    def next_n(self):
        self.counter += 1
        return self.counter

    def token(self, role, i):
        return self.tokens[role][i % len(self.tokens[role])]

    async def think(self, factor=1.0):
        mean = self.args.think * factor
        await asyncio.sleep(self.rng.uniform(0.5 * mean, 1.5 * mean))

    async def call(self, method, path, attempt=1, endpoint=None, **kwargs):
        """Send one request; record it; return a Reply (status: int or error name)."""
        endpoint = endpoint or _label(method, path)
        start = time.monotonic()
        self.inflight += 1
        try:
            async with self.session.request(method, path, allow_redirects=False,
                                            **kwargs) as response:
                body = await response.read()
                reply = Reply(response.status, body, response.headers)
        except (TimeoutError, aiohttp.ClientError) as error:
            reply = Reply(type(error).__name__)
        finally:
            self.inflight -= 1
        self.requests.append((round(start - self.t0, 3), round(time.monotonic() - self.t0, 3),
                              endpoint, reply.status, attempt))
        return reply

    async def write(self, path, body, token, key, endpoint=None):
        """POST with an Idempotency-Key; resend on a connection error or a 503."""
        # The draft's header is a structured-field string: the key in double quotes.
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f'"{key}"'}
        started, delay, attempt = time.monotonic(), 0.5, 0
        while True:
            attempt += 1
            reply = await self.call("POST", path, attempt, endpoint, json=body, headers=headers)
            reply.attempts = attempt
            if not reply.retryable or time.monotonic() - started > RETRY_BUDGET:
                return reply
            wait = delay
            retry_after = reply.headers.get("Retry-After", "")
            if retry_after.isdigit():
                wait = min(float(retry_after), 10.0)
            delay = min(delay * 2, 8.0)
            await asyncio.sleep(wait * self.rng.uniform(0.8, 1.2))

    def ack(self, kind, reply, key, **data):
        self.acks.append({"kind": kind, "key": key, "at": round(self.now(), 3),
                          "attempts": reply.attempts, "replayed": reply.replayed, **data})

    def lost(self, kind, key, reply):
        if reply.retryable:
            self.gave_up.append({"kind": kind, "key": key, "last": str(reply.status)})

    async def html(self, role, i, method, path, endpoint=None, **kwargs):
        """A request in a browser session of `role`; signs in again when sent to /login."""
        sessions = self.ids.html[role]
        cookies, csrf = sessions[i % len(sessions)]
        headers = {"Cookie": cookies, **kwargs.pop("headers", {})}
        reply = await self.call(method, path, endpoint=endpoint, headers=headers, **kwargs)
        if reply.status == 302 and reply.headers.get("Location", "").endswith("/login"):
            email, _ = self.fx.users[role][i % len(sessions)]
            try:
                sessions[i % len(sessions)] = await html_login(
                    self.base, email, accounts.totp_secret(email))
            except (RuntimeError, aiohttp.ClientError, AttributeError):
                pass
        return reply

    # ------------------------------------------------------------------ users

    async def desk(self, vu):
        """Log a contact for a new person, run its triage (a case), then read."""
        _, _, token = self.token("advisor", vu)
        levels, weights = zip(*LEVEL_WEIGHTS, strict=True)
        while not self.stopping():
            n = self.next_n()
            case = await self.new_case(token, n, self.rng.choices(levels, weights)[0])
            await self.think()
            api = {"Authorization": f"Bearer {token}"}
            if case:
                await self.call("GET", f"/api/v1/cases/{case['id']}", headers=api)
                await self.think()
            choice = self.rng.random()
            if choice < 0.4:
                await self.cursor_pages("/api/v1/cases", {"status": "active"}, api, 2)
            elif choice < 0.7:
                q = self.fx.queries[n % len(self.fx.queries)]
                await self.call("GET", "/api/v1/persons", params={"q": q}, headers=api)
            else:
                await self.cursor_pages("/api/v1/contacts", {"limit": "20"}, api, 2)
            await self.think()

    async def new_case(self, token, n, level):
        """A contact for a new person, then its triage at `level`; return the case or None."""
        key = f"chaos-{self.run_id}-c{n}"
        summary = f"Appel chaos [{key}] : retard de cotisations, dort mal."
        body = {"person": {"name": f"Chaos Personne {self.run_id} {n}",
                           "email": f"{key}@chaos.cellule.example", "language": "fr"},
                "channel": "phone", "direction": "in", "duration_minutes": 10,
                "reasons": ["stress", "finances"], "summary": summary}
        reply = await self.write("/api/v1/contacts", body, token, key)
        if not reply.ok:
            self.lost("contact", key, reply)
            return None
        data = reply.json()
        contact_id = data["id"]
        self.ack("contact", reply, key, id=contact_id, person_id=data["person_id"],
                 summary=summary, email=body["person"]["email"])
        await self.think()
        tkey = f"chaos-{self.run_id}-t{n}"
        notes = f"Triage chaos [{tkey}]"
        body = {"answers": LEVEL_ANSWERS[level], "immediate_danger": False,
                "language": "fr", "notes": notes}
        reply = await self.write(f"/api/v1/contacts/{contact_id}/triage", body, token, tkey)
        if not reply.ok:
            self.lost("triage", tkey, reply)
            return None
        data = reply.json()
        case = data.get("case")
        self.ack("triage", reply, tkey, id=data.get("triage_id"), contact_id=contact_id,
                 case_id=case["id"] if case else None, notes=notes, level=level)
        if not case:
            return None
        item = {"id": case["id"], "queue": case["queue"], "level": case["level"]}
        self.cases.append(item)
        if self.race_queue.qsize() < 50:
            self.race_queue.put_nowait(item)
        return item

    async def cursor_pages(self, path, params, headers, pages):
        """Read a list and follow its `next_cursor` for up to `pages` pages in all."""
        params = dict(params)
        for _ in range(pages):
            reply = await self.call("GET", path, params=params, headers=headers)
            cursor = reply.json().get("next_cursor") if reply.ok else None
            if not cursor:
                return
            params["cursor"] = cursor
            await self.think(0.3)

    async def notes_writer(self, vu):
        """Team notes (advisor) and clinical notes (psychologist) on the run's cases."""
        while not self.stopping():
            if not self.cases:
                await asyncio.sleep(1)
                continue
            case = self.rng.choice(self.cases[-40:])
            clinical = case["queue"] == "psychology" and self.rng.random() < 0.5
            _, uid, token = self.token("psychologist" if clinical else "advisor", vu)
            n = self.next_n()
            key = f"chaos-{self.run_id}-n{n}"
            text = f"Note chaos [{key}] : rappel prévu demain matin."
            body = {"body": text, "visibility": "clinical" if clinical else "team"}
            reply = await self.write(f"/api/v1/cases/{case['id']}/notes", body, token, key)
            if reply.ok:
                self.ack("note", reply, key, id=reply.json().get("id"), case_id=case["id"],
                         body=text, author_id=uid)
            else:
                self.lost("note", key, reply)
            await self.think(2)

    async def api_reader(self, vu):
        """Lists through their cursors, person search, a case; health now and then."""
        _, _, token = self.token("advisor", vu + 3)
        api = {"Authorization": f"Bearer {token}"}
        last_health = 0.0
        while not self.stopping():
            choice = self.rng.random()
            if choice < 0.35:
                status = self.rng.choice(("active", "closed", "active"))
                await self.cursor_pages("/api/v1/cases", {"status": status}, api, 3)
            elif choice < 0.6:
                await self.cursor_pages("/api/v1/contacts", {"limit": "20"}, api, 3)
            elif choice < 0.8:
                q = self.rng.choice(self.fx.queries)
                await self.call("GET", "/api/v1/persons", params={"q": q}, headers=api)
            else:
                ids = [c["id"] for c in self.cases[-50:]] or self.fx.case_ids
                await self.call("GET", f"/api/v1/cases/{self.rng.choice(ids)}", headers=api)
            if vu == 0 and self.now() - last_health > 10:
                last_health = self.now()
                await self.call("GET", "/api/v1/health")
            await self.think()

    async def html_user(self, vu):
        """Pages in a browser session: board and its next page, queues, case pages, sign-in."""
        role = ("supervisor", "psychologist", "advisor", "supervisor", "psychologist")[vu % 5]
        i = vu // 5
        rounds = 0
        while not self.stopping():
            rounds += 1
            if role == "supervisor":
                reply = await self.html(role, i, "GET", "/board")
                link = NEXT_LINK.search(reply.body.decode(errors="replace")) if reply.ok else None
                if link:
                    await self.think(0.5)
                    await self.html(role, i, "GET", link.group(1).replace("&amp;", "&"),
                                    endpoint="GET /board (next page)")
            elif role == "psychologist":
                await self.html(role, i, "GET", "/queues/psychology")
            else:
                await self.html(role, i, "GET", "/my/cases")
            await self.think()
            pool = [c["id"] for c in self.cases[-50:]
                    if role != "psychologist" or c["queue"] == "psychology"]
            case_id = self.rng.choice(pool or self.fx.case_ids)
            await self.html(role, i, "GET", f"/cases/{case_id}")
            await self.think()
            if rounds % 5 == 0:
                await self.sign_in(vu)
                await self.think()

    async def sign_in(self, vu):
        """GET /login and POST the form (an advisor: no second factor); a 302 signs in."""
        email, _ = self.fx.users["advisor"][vu % len(self.fx.users["advisor"])]
        page = await self.call("GET", "/login")
        if not page.ok:
            return
        match = CSRF_INPUT.search(page.body.decode(errors="replace"))
        cookie = page.headers.get("Set-Cookie", "").split(";", 1)[0]
        if not match:
            return
        reply = await self.call("POST", "/login", headers={"Cookie": cookie}, data={
            "email": email, "password": accounts.PASSWORD, "csrf_token": match.group(1),
            "next": ""})
        if reply.status == 302:
            self.logins += 1

    async def racer(self, group, member):
        """One of three users racing on one case: claim and close at the same instant."""
        while True:
            if member == 0:
                group["case"] = await self.next_race_case()
            await group["barrier"].wait()
            case = group["case"]
            if case is None:
                return
            if member == 0:
                kind = ("claim_race", "claim_vs_close")[group["round"] % 2]
                race = group["race"] = {"case": case["id"], "queue": case["queue"],
                                        "level": case["level"], "kind": kind,
                                        "claims": [], "closes": [], "at": round(self.now(), 3)}
                self.races.append(race)
            await group["barrier"].wait()
            race = group["race"]
            g = group["index"]
            psychology = case["queue"] == "psychology"
            claim_role = "psychologist" if psychology else "advisor"
            # Closers: the claimant's role, another role that may close, and the HTML form.
            close_role = (claim_role, "supervisor" if psychology else "advisor",
                          "supervisor" if psychology else "advisor")[member]
            slot = g * 3 + member
            version = await self.read_version(case, member, close_role, slot)
            await group["barrier"].wait()
            if race["kind"] == "claim_race" or member == 0:
                _, uid, token = self.token(claim_role, slot)
                reply = await self.call("POST", f"/api/v1/cases/{case['id']}/claim",
                                        headers={"Authorization": f"Bearer {token}"})
                race["claims"].append({"user_id": uid, "status": reply.status})
            if race["kind"] == "claim_race":
                await group["barrier"].wait()
                version = await self.read_version(case, member, close_role, slot)
                await group["barrier"].wait()
            if race["kind"] == "claim_race" or member > 0:
                await self.close(race, case, member, close_role, slot, version)
            await group["barrier"].wait()
            if member == 0:
                group["round"] += 1
            await self.think(2)

    async def next_race_case(self):
        while not self.stopping():
            try:
                return await asyncio.wait_for(self.race_queue.get(), 2)
            except TimeoutError:
                continue
        return None

    async def read_version(self, case, member, role, slot):
        """The version the user sees: the API case, or the HTML close form."""
        if member == 2:
            reply = await self.html(role, slot, "GET", f"/cases/{case['id']}/close")
            match = VERSION_INPUT.search(reply.body.decode(errors="replace")) if reply.ok else None
            tasks = TASK_INPUT.findall(reply.body.decode(errors="replace")) if reply.ok else []
            return (int(match.group(1)) if match else None, sorted(set(tasks)))
        _, _, token = self.token(role, slot)
        reply = await self.call("GET", f"/api/v1/cases/{case['id']}",
                                headers={"Authorization": f"Bearer {token}"})
        return (reply.json().get("version") if reply.ok else None, None)

    async def close(self, race, case, member, role, slot, version):
        version, tasks = version
        if version is None:
            return
        if member == 2:
            _, csrf = self.ids.html[role][slot % len(self.ids.html[role])]
            form = {"csrf_token": csrf, "version": str(version), "outcome": "resolved",
                    "safety_outcome": "safety_plan", "no_safety_plan_reason": NO_PLAN_REASON}
            form.update({f"task_{t}": "cancelled" for t in tasks})
            reply = await self.html(role, slot, "POST", f"/cases/{case['id']}/close", data=form)
            email, uid = self.fx.users[role][slot % len(self.ids.html[role])]
            race["closes"].append({"user_id": uid, "status": reply.status, "via": "html"})
            return
        _, uid, token = self.token(role, slot)
        body = {"outcome": "resolved", "version": version, "safety_outcome": "safety_plan",
                "no_safety_plan_reason": NO_PLAN_REASON}
        reply = await self.call("POST", f"/api/v1/cases/{case['id']}/close", json=body,
                                headers={"Authorization": f"Bearer {token}"})
        race["closes"].append({"user_id": uid, "status": reply.status, "via": "api"})

    # ------------------------------------------------------------------ run

    async def guard(self, user, barrier=None):
        """Run one user; a bug of the harness is reported and stops that user only (and
        the other racers of its group)."""
        try:
            await user
        except asyncio.BrokenBarrierError:
            pass
        except Exception as error:
            self.crashes.append(f"{type(error).__name__}: {error}")
            traceback.print_exc()
            if barrier is not None:
                await barrier.abort()

    def plan(self, users):
        """How many users of each kind: desks, racers (groups of 3), notes, HTML, readers."""
        groups = max(1, round(users * 6 / 30 / 3))
        rest = max(4, users - 3 * groups)
        html = max(1, round(rest * 5 / 24))
        readers = max(1, round(rest * 3 / 24))
        notes = max(1, round(rest * 2 / 24))
        desks = max(1, rest - html - readers - notes)
        return {"desk": desks, "racer_groups": groups, "notes": notes, "html": html,
                "api_reader": readers}

    async def run(self, seconds, faults):
        connector = aiohttp.TCPConnector(limit=100)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(self.base, connector=connector, timeout=timeout,
                                         cookie_jar=aiohttp.DummyCookieJar()) as session:
            self.session = session
            self.t0 = time.monotonic()
            self.stop_at = self.t0 + seconds
            plan = self.plan(self.args.users)
            tasks = [self.desk(i) for i in range(plan["desk"])]
            tasks += [self.notes_writer(i) for i in range(plan["notes"])]
            tasks += [self.html_user(i) for i in range(plan["html"])]
            tasks += [self.api_reader(i) for i in range(plan["api_reader"])]
            users = [self.guard(t) for t in tasks]
            for g in range(plan["racer_groups"]):
                group = {"index": g, "barrier": asyncio.Barrier(3), "case": None, "race": None,
                         "round": 0}
                users += [self.guard(self.racer(group, m), group["barrier"]) for m in range(3)]
            await asyncio.gather(faults.run(self), *users)
            self.elapsed = time.monotonic() - self.t0
            return plan


# --------------------------------------------------------------------------- faults


class Faults:
    """The fault schedule, run beside the load; each fault records its start and end."""

    def __init__(self, stack, seconds, scale):
        self.stack = stack
        self.seconds = seconds
        self.scale = scale
        self.records = []

    async def run(self, load):
        try:
            await self._run(load)
        finally:
            load.faults_done = True

    async def _run(self, load):
        for name, fraction, duration in FAULTS:
            delay = load.t0 + fraction * self.seconds - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            record = {"fault": name, "planned_s": round(fraction * self.seconds, 1)}
            self.records.append(record)
            print(f"  [{load.now():6.1f}s] fault {name} …", file=sys.stderr)
            try:
                await getattr(self, name)(load, record, duration * self.scale)
            except Exception as error:  # a fault that could not be applied is reported
                record["error"] = f"{type(error).__name__}: {error}"
            print(f"  [{load.now():6.1f}s] fault {name} done: "
                  f"{ {k: v for k, v in record.items() if k not in ('fault', 'planned_s')} }",
                  file=sys.stderr)

    async def redis_stop(self, load, record, duration):
        record["start_s"] = round(load.now(), 3)
        await asyncio.to_thread(self.stack.redis.stop)
        await asyncio.sleep(duration)
        await asyncio.to_thread(self.stack.redis.start)
        record["end_s"] = round(load.now(), 3)

    async def worker_kill(self, load, record, _duration):
        """Kill -9 a job worker in the middle of a job: a mail the SMTP sink holds open."""
        sink = self.stack.smtp
        normal, sink.delay = sink.delay, 3.0
        try:
            # An imminent case now: its alert mails give the workers a job to be caught in.
            _, _, token = load.token("advisor", 0)
            trigger = asyncio.create_task(load.new_case(token, load.next_n(), "imminent"))
            slot = message_id = None
            deadline = time.monotonic() + 30
            while slot is None and time.monotonic() < deadline:
                for port, held in sink.receiving().items():
                    slot, message_id = self.stack.workers.slot_with_port(port), held
                    if slot is not None:
                        break
                else:
                    await asyncio.sleep(0.1)
            if slot is None:
                slot, message_id = 1, None
                record["note"] = "no job was running within 30 s: killed an idle worker"
            record["start_s"] = round(load.now(), 3)
            record["message_id"] = message_id
            record["worker_pid"] = self.stack.workers.pids().get(slot)
            await asyncio.to_thread(self.stack.workers.kill, slot)
        finally:
            sink.delay = normal
        await trigger
        await asyncio.sleep(5)  # the process manager starts it again
        self.stack.workers.start(slot)
        record["end_s"] = round(load.now(), 3)

    async def pg_restart(self, load, record, _duration):
        record["start_s"] = round(load.now(), 3)
        await asyncio.to_thread(self.stack.pg.restart)
        record["end_s"] = round(load.now(), 3)

    async def gunicorn_kill(self, load, record, _duration):
        """Kill -9 the gunicorn worker that is busiest while requests are in flight."""
        pids = self.stack.gunicorn_workers()
        deadline = time.monotonic() + 30
        while True:
            before = {pid: _cpu_ticks(pid) for pid in pids}
            await asyncio.sleep(0.2)
            used = {pid: _cpu_ticks(pid) - before[pid] for pid in pids}
            busy = max(pids, key=used.get)
            if (load.inflight and used[busy]) or time.monotonic() > deadline:
                break
        record["start_s"] = round(load.now(), 3)
        record["in_flight"] = load.inflight
        record["pid"] = busy
        os.kill(busy, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = self.stack.gunicorn_workers()
            if busy not in now and len(now) >= len(pids):
                break
            await asyncio.sleep(0.1)
        record["end_s"] = round(load.now(), 3)

    async def workers_stop(self, load, record, duration):
        record["start_s"] = round(load.now(), 3)
        await asyncio.to_thread(self.stack.workers.stop_all)
        record["stopped_s"] = round(load.now(), 3)
        await asyncio.sleep(duration)
        for slot in (1, 2):
            self.stack.workers.start(slot)
        record["end_s"] = round(load.now(), 3)


def _cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


# --------------------------------------------------------------------------- the stack


class Stack:
    """PostgreSQL, Redis, SMTP, gunicorn and the job workers of the run."""

    def __init__(self, args, stack):
        from .__main__ import INSTANCE

        self.instance = INSTANCE
        os.makedirs(INSTANCE, exist_ok=True)
        self.pg = PostgresCluster(keep=args.keep)
        stack.callback(self.pg.stop)
        self.pg.start()
        self.redis = RedisServer(self.pg.base)
        stack.callback(self.redis.stop)
        self.redis.start()
        self.smtp = SmtpSink(delay=0.2)
        self.smtp.start()
        stack.callback(self.smtp.stop)
        self.database_url, self.redis_url = self.pg.url, self.redis.url
        self.workers = Workers(self.database_url, self.redis_url, INSTANCE, self.smtp.env())
        stack.callback(self.workers.stop_all)
        self.gunicorn = Gunicorn(self.database_url, self.redis_url, args.gunicorn_workers,
                                 args.gunicorn_threads)
        self.gunicorn.env.update(self.smtp.env())
        self.log_offset = None

    def generate(self, preset):
        from .__main__ import make_app
        from .generate import generate

        return generate(make_app(self.database_url, self.redis_url), preset, workers=1)

    def start_servers(self, stack):
        for slot in (1, 2):
            self.workers.start(slot)
        log_path = os.path.join(self.instance, "gunicorn.log")
        self.log_offset = os.path.getsize(log_path) if os.path.exists(log_path) else 0
        self.gunicorn.__enter__()
        stack.callback(self.gunicorn.__exit__, None, None, None)

    def gunicorn_workers(self):
        out = subprocess.run(["pgrep", "-P", str(self.gunicorn.proc.pid)],
                             capture_output=True, text=True, check=False).stdout
        return [int(pid) for pid in out.split()]

    def gunicorn_log(self):
        with open(os.path.join(self.instance, "gunicorn.log"), errors="replace") as f:
            f.seek(self.log_offset)
            return f.read()


# --------------------------------------------------------------------------- entry point


def run(args):
    from . import chaos_check

    seconds = args.minutes * 60
    scale = args.minutes / 10
    run_id = datetime.now(UTC).strftime("%H%M%S")
    started = datetime.now(UTC)
    with ExitStack() as stack:
        print("chaos: starting PostgreSQL, Redis, SMTP …", file=sys.stderr)
        servers = Stack(args, stack)
        print(f"chaos: generating preset {args.preset} into {servers.database_url}",
              file=sys.stderr)
        generated = servers.generate(args.preset)
        fixtures = Fixtures(servers.database_url, args.preset)
        baseline = chaos_check.baseline(servers.database_url)
        servers.start_servers(stack)
        identities = Identities(fixtures)
        asyncio.run(identities.login(servers.gunicorn.url))
        load = Load(servers.gunicorn.url, fixtures, identities, args, run_id)
        faults = Faults(servers, seconds, scale)
        print(f"chaos: load for {seconds:.0f} s, {args.users} users", file=sys.stderr)
        plan = asyncio.run(load.run(seconds, faults))
        print(f"chaos: load done ({len(load.requests)} requests); draining the outbox",
              file=sys.stderr)
        drain = chaos_check.drain(servers, baseline, args.drain_seconds)
        result = chaos_check.verify(servers, load, faults, baseline, drain, args)
        result.update({
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "minutes": args.minutes, "users": args.users, "plan": plan,
            "think_s": args.think, "preset": args.preset, "generated": generated,
            "gunicorn": {"workers": args.gunicorn_workers, "threads": args.gunicorn_threads},
            "note": args.note,
        })
        result["environment"] = chaos_check.environment(servers)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"chaos-{started.strftime('%Y-%m-%d-%H%M')}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2, default=str)
    summary = chaos_check.markdown(result, os.path.relpath(path, ROOT))
    print(summary)
    if args.record:
        record = os.path.join(HERE, "CHAOS.md")
        new = not os.path.exists(record)
        with open(record, "a") as f:
            if new:
                f.write(CHAOS_MD_TITLE)
            f.write("\n" + summary)
    print(f"wrote {path}", file=sys.stderr)
    return 0 if not result["broken"] else 1
