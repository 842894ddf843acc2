"""Test fixtures: a migrated database and a Redis per run, cleaned for each test.

`CELLULE_TEST_DATABASE_URL` / `CELLULE_TEST_REDIS_URL` select real servers;
without them the suite uses a SQLite file and an embedded Redis, like a
newcomer's machine.
"""

import contextlib
import copy
import hashlib
import inspect
import os
import pathlib
import re
import shutil
import socket
import sys
import tempfile
import threading

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from cellule import create_app
from cellule.config import normalise_database_url
from cellule.extensions import db
from cellule.models import User

# Compiled modules kept between runs, even where the environment asks for none
# (PYTHONDONTWRITEBYTECODE, set on the CI machines): else every xdist worker, and every
# worker or server process a test starts, compiles and assertion-rewrites the same ~450
# modules again — the collection of a worker took 11.5 s instead of 5.3 s (2026-12-06).
# Set before xdist starts its workers, which inherit the environment.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def worker_resources():
    """The database and Redis of this test process.

    Run by pytest-xdist (`-n 2`), each worker process (`gw0`, `gw1`…) has its own: the
    configured PostgreSQL database name with `_gw1`… appended (created when missing; `gw0`
    keeps the configured one) and the configured Redis database number minus the worker's
    index. The environment is rewritten so that the processes a test starts see the same."""
    database_url = os.environ.get("CELLULE_TEST_DATABASE_URL", "")
    redis_url = os.environ.get("CELLULE_TEST_REDIS_URL", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    if index and database_url:
        database_url = worker_database(database_url, index)
        os.environ["CELLULE_TEST_DATABASE_URL"] = database_url
    if index and redis_url:
        base, _, number = redis_url.rpartition("/")
        if not number.isdigit() or int(number) < index:
            raise pytest.UsageError(f"CELLULE_TEST_REDIS_URL must end in a database number"
                                    f" of at least {index} to run worker {worker}")
        redis_url = f"{base}/{int(number) - index}"
        os.environ["CELLULE_TEST_REDIS_URL"] = redis_url
    return database_url, redis_url


def worker_database(database_url, index):
    """The URL of worker `index`'s own PostgreSQL database, created beside the configured one."""
    from sqlalchemy.engine import make_url

    url = make_url(normalise_database_url(database_url))
    name = f"{url.database}_gw{index}"
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                              {"name": name}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


TEST_DATABASE_URL, TEST_REDIS_URL = worker_resources()


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: WORKERS_PER_CORE processes per core (`CELLULE_TEST_WORKERS` sets the number).

    Much of the suite waits rather than computes — Chromium rendering, real servers starting,
    workers living through outages — so more processes than cores keep the cores busy; but
    not too many: on 2 cores (2026-12-03), 4 processes instead of 3 took 282 s instead of
    295 s on the embedded defaults and 342 s instead of 319 s on PostgreSQL, whose server
    shares the cores (Chromium uses about 60 % of the run's CPU)."""
    wanted = os.environ.get("CELLULE_TEST_WORKERS", "")
    if wanted.isdigit():
        return int(wanted)
    return max(2, round(WORKERS_PER_CORE * (os.cpu_count() or 1)))


WORKERS_PER_CORE = 1.5
PASSWORD = "correct horse battery staple"
# The TOTP secret that `make_user` enrols (psychologists, supervisors and admins by default).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# Debian's Chromium for the browser tests: its headless shell (package chromium-headless-shell,
# the engine without the desktop browser around it, what Playwright itself runs headless)
# when installed, about 30 % less CPU and time than the full browser (measured on 22 tests:
# 77 against 53 s); else the browser (package chromium). CELLULE_TEST_CHROMIUM chooses.
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
CHROMIUM = os.environ.get("CELLULE_TEST_CHROMIUM") or (
    HEADLESS_SHELL if os.path.exists(HEADLESS_SHELL) else "/usr/bin/chromium"
)
# Test apps hash passwords at Argon2's lowest cost (the production cost: tests/core/test_auth).
PASSWORD_HASH_COST = {"time_cost": 1, "memory_cost": 8}


def base_config(database_url, redis_url):
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        # Argon2id at its cheapest (cellule.passwords.current_hasher; production ignores it).
        "PASSWORD_HASH_COST": PASSWORD_HASH_COST,
        # No automatic out-of-hours answer unless a test asks for one (tests/jobs/test_auto_reply).
        "CELLULE_OUT_OF_HOURS_REPLY": False,
    }


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A Redis for the run: the configured server, or an embedded one."""
    if TEST_REDIS_URL:
        return TEST_REDIS_URL
    from cellule.redis_conn import embedded_socket

    # Unix socket paths are limited to ~100 bytes: keep this one short.
    path = tmp_path_factory.mktemp("redis")
    return "unix://" + embedded_socket(str(path))


@pytest.fixture(scope="session")
def scratch_dir(tmp_path_factory):
    """Where the SQLite test databases live: in memory (/dev/shm) when the machine has it.

    A SQLite commit waits for the disk (~7 ms, a test commits a dozen times or more);
    on tmpfs it does not, and a database that outlives no test needs no durability."""
    shm = "/dev/shm"
    usable = os.path.isdir(shm) and os.access(shm, os.W_OK)
    if not usable or os.statvfs(shm).f_bavail * os.statvfs(shm).f_frsize < 2**30:
        # No tmpfs, or a small one (a container's 64 MB): the disk, slower but roomy.
        yield tmp_path_factory.mktemp("db")
        return
    path = tempfile.mkdtemp(prefix="cellule-test-", dir=shm)
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory, scratch_dir, redis_url):
    """Run every migration once; return the URL of the migrated database (template)."""
    from flask_migrate import upgrade

    if TEST_DATABASE_URL:
        url = normalise_database_url(TEST_DATABASE_URL)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
            # A commit need not wait for the WAL to reach the disk: a test database never
            # has to survive a crash of the server (the setting changes no visible result).
            name = conn.execute(text("SELECT current_database()")).scalar()
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        engine.dispose()
    else:
        url = "sqlite:///" + str(scratch_dir / "template.db")
    app = create_app(base_config(url, redis_url), tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade(revision="heads")
        # Migration 0028 seeds the directory of a fresh database (tested by
        # tests/cases/test_directory.py); the other tests build the entries they need, on
        # SQLite (a copy of this template) as on PostgreSQL (emptied between tests).
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM resources"))
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def reset_database(migrated_database):
    """Return a function that empties the PostgreSQL test database (None on SQLite); it
    takes an open DBAPI cursor to empty it inside that cursor's transaction instead."""
    if not TEST_DATABASE_URL:
        yield None
        return
    # One pooled connection: connecting costs more than the reset itself (~50-90 ms on a
    # loaded machine, for every test). Tests that cut the database's connections
    # (tests/jobs/test_worker_heals.py) leave it broken: the reset then runs again on a new
    # one (a retry, not a pre-ping: that would be one more round trip for every test).
    engine = create_engine(migrated_database, pool_size=1)
    with engine.connect() as conn:
        superuser = conn.execute(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        ).scalar()
    script = empty_postgresql_script([t.name for t in db.metadata.sorted_tables], superuser)

    def reset(cursor=None):
        if cursor is not None:
            cursor.execute(script)
            return
        for attempt in (1, 2):
            try:
                with engine.begin() as conn:
                    conn.connection.driver_connection.cursor().execute(script)
                return
            except DBAPIError as error:
                if attempt == 2 or not error.connection_invalidated:
                    raise

    yield reset
    engine.dispose()


def empty_postgresql_script(tables, superuser):
    """The SQL that deletes every row and restarts every sequence, as `TRUNCATE … RESTART
    IDENTITY` would, sent as one multi-statement string: one round trip per test.

    TRUNCATE costs ~0.4 s for the ~40 tables (files are swapped on disk) while a test fills
    a few, with a few rows: DELETE on every table costs ~2.5 ms in all, empty tables included
    (no more than finding the filled ones first, and 40 statements one by one cost ~25 ms),
    with the triggers (the audit log's append-only guard) and foreign keys off for the
    transaction, as TRUNCATE skips them too. Without the right to do that (not a
    superuser): TRUNCATE."""
    if not superuser:
        return f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"
    # Every used sequence back to its start in one statement: what `ALTER SEQUENCE …
    # RESTART` does, without its ~1 ms of catalog work per sequence.
    return ";\n".join([
        "SET LOCAL session_replication_role = replica",
        *(f'DELETE FROM "{name}"' for name in tables),
        "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value,"
        " false) FROM pg_sequences"
        " WHERE schemaname = current_schema() AND last_value IS NOT NULL",
    ])


SHARED_DATABASE = "test.db"  # the SQLite file of the session's app, under scratch_dir


@pytest.fixture(scope="session")
def shared_database_url(migrated_database, scratch_dir):
    """The database every test uses: one SQLite file (reset from the template) or the
    PostgreSQL test database (emptied)."""
    if TEST_DATABASE_URL:
        return migrated_database
    return "sqlite:///" + str(scratch_dir / SHARED_DATABASE)


# Engines that hold connections to the shared SQLite file: disposed before it is replaced.
_sqlite_engines = []


def replace_sqlite_database(template, url):
    """Put a copy of the migrated template in place of the SQLite database at `url`.

    The copy is made beside it and renamed over it: a connection some thread of an earlier
    test still holds keeps the old file and can neither see nor damage the new one."""
    for engine in _sqlite_engines:
        engine.dispose()
    path = url.removeprefix("sqlite:///")
    for suffix in ("-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")
    shutil.copy(template.removeprefix("sqlite:///"), path + ".new")
    os.replace(path + ".new", path)


@pytest.fixture
def database_url(migrated_database, shared_database_url, reset_database):
    """A clean, migrated database for one test: the URL of the shared test database, reset
    (the session's app uses it; a test's own app may too)."""
    if not TEST_DATABASE_URL:
        replace_sqlite_database(migrated_database, shared_database_url)
        yield shared_database_url
        return
    yield shared_database_url
    reset_database()


class MemoryBytecodeCache(BytecodeCache):
    """Compiled templates kept for the run: each test builds its own app, whose Jinja
    environment would parse and compile again every template it renders (~10 ms each).
    Jinja checks the source's checksum: a template edited meanwhile is compiled anew."""

    def __init__(self):
        self.codes = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.codes:
            bucket.bytecode_from_string(self.codes[bucket.key])

    def dump_bytecode(self, bucket):
        self.codes[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = MemoryBytecodeCache()


def memoise_url_builders():
    """Share Werkzeug's URL builders between the apps of the run.

    Adding a rule to an app generates and compiles two Python functions from its pattern
    (~0.2 ms each, ~45 ms for the ~120 rules of every app a test builds). A builder only
    depends on the rule's parsed pattern and defaults (the converters are looked up on the
    rule at call time), so rules that read alike share one. Test-only: the app is unchanged.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    builders = {}

    def cached(self, append_unknown=True):
        defaults = self.defaults or {}
        constants = tuple(
            self._converters[k].to_url(v) for k, v in defaults.items() if k in self._converters
        )
        key = (self.rule, append_unknown, tuple(self._trace), tuple(defaults), constants)
        if key not in builders:
            builders[key] = compile_builder(self, append_unknown)
        return builders[key]

    Rule._compile_builder = cached


memoise_url_builders()


def build_app(config, instance_path):
    """The application made from `config`, with the suite's template cache and client."""
    app = create_app(config, instance_path)
    app.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    app.test_client_class = CelluleClient
    return app


def serve_app(config, tmp_path):
    """Yield the application made from `config` inside its context, on an empty Redis
    database; dispose of its engine after (for a test's own app, with its own config)."""
    app = build_app(config, tmp_path / "instance")
    from cellule.redis_conn import get_redis

    get_redis(app).flushdb()
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


class SharedApp:
    """The session's application, and what a test may leave changed in it.

    Building an app costs ~60-100 ms (blueprints, ~120 URL rules, extensions) and the suite
    has ~2 200 tests: one app serves every test that takes the default `app` fixture, and
    `reset()` gives each test that app as it was when it was built — its configuration (tests
    assign `app.config[...]`) and the caches it keeps in `app.extensions` (the business
    calendar, the Redis client, the Fernet keys, the background banner, the paused relay,
    the database outage log). The database and Redis are emptied by the fixtures.
    """

    def __init__(self, app):
        self.app = app
        self.config = copy.deepcopy(dict(app.config))
        self.extensions = dict(app.extensions)
        self.structure = self._structure()

    def _structure(self):
        """The routes, views and hooks: a test that changes them needs an app of its own."""
        app = self.app
        # Flask's hook tables are defaultdicts that looking up fills with empty entries.
        hooks = [{k: list(v) for k, v in table.items() if v} for table in (
            app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)]
        errors = {(name, code): dict(handlers) for name, codes in app.error_handler_spec.items()
                  for code, handlers in codes.items() if handlers}
        return (len(app.url_map._rules), dict(app.view_functions),
                list(app.teardown_appcontext_funcs), hooks, errors)

    def check_structure(self):
        if self._structure() != self.structure:
            pytest.fail("the test changed the routes, views or hooks of the session's app:"
                        " mark it `@pytest.mark.own_app`", pytrace=False)

    def reset(self):
        config = self.app.config
        for key in [k for k in config if k not in self.config]:
            del config[key]
        for key, value in self.config.items():
            if key not in config or config[key] != value:
                config[key] = copy.deepcopy(value)
        extensions = self.app.extensions
        for key in [k for k in extensions if k not in self.extensions]:
            del extensions[key]
        for key, value in self.extensions.items():
            if extensions.get(key) is not value:
                extensions[key] = value
        outage = extensions["cellule_database_outage"]
        outage.since, outage.locked, outage.answered = None, False, 0


@pytest.fixture(scope="session")
def shared_app(shared_database_url, migrated_database, redis_url, tmp_path_factory):
    """The application of the session (see SharedApp), built once on the shared database."""
    from cellule.redis_conn import get_redis

    if not TEST_DATABASE_URL:
        replace_sqlite_database(migrated_database, shared_database_url)
    app = build_app(base_config(shared_database_url, redis_url),
                    tmp_path_factory.mktemp("instance"))
    get_redis(app)  # its client is part of the app as built
    with app.app_context():
        engine = db.engine
    if not TEST_DATABASE_URL:
        _sqlite_engines.append(engine)
    yield SharedApp(app)
    engine.dispose()


@pytest.fixture
def app(request, shared_app, database_url, redis_url, tmp_path):
    """The application on a clean database and an empty Redis database.

    The session's app, reset (see SharedApp); a test marked `own_app` — one that changes
    the app's routes or hooks — gets an application of its own, built as the session's."""
    if request.node.get_closest_marker("own_app"):
        yield from serve_app(base_config(database_url, redis_url), tmp_path)
        return
    from cellule.redis_conn import get_redis

    shared_app.reset()
    app = shared_app.app
    get_redis(app).flushdb()
    try:
        with app.app_context():
            yield app
            end_test_session()
    finally:
        shared_app.reset()
    shared_app.check_structure()


def end_test_session():
    """Close the test's own database session, its transaction ended by COMMIT when it can be.

    The database is emptied next anyway; a ROLLBACK would make psycopg forget the prepared
    statements of the connection (and send DEALLOCATE ALL): the next tests would plan their
    statements again (measured: a clear per test on PostgreSQL before, none after)."""
    try:
        db.session.commit()
    except Exception:  # a test that left its session failed: nothing of it is kept
        db.session.rollback()
    db.session.remove()


class DatabaseSnapshots:
    """Data that many tests start from, built once and put back for each of them.

    A test that asks for `database_snapshot(key, build)` on its clean database gets the rows
    `build()` made there when the first test of that key ran (with the same ids and sequence
    values), and the value `build()` returned then — plain data such as ids, never ORM
    objects. Putting rows back costs one file copy on SQLite (the same as the reset) and one
    COPY per filled table on PostgreSQL, where building them (people, a triage, users, a
    sign-in...) costs ~0.1-1 s a test. Redis is not part of it (it is emptied per test).
    """

    def __init__(self, scratch_dir, tables, reset_database):
        self.scratch_dir = scratch_dir
        self.tables = tables
        self.reset_database = reset_database
        self.saved = {}

    def __call__(self, key, build):
        if key in self.saved:
            value, data = self.saved[key]
            self._restore(data)
            return value
        value = build()
        db.session.commit()
        self.saved[key] = (value, self._take(len(self.saved)))
        return value

    def _take(self, number):
        if not TEST_DATABASE_URL:
            for engine in _sqlite_engines:
                engine.dispose()
            path = self.scratch_dir / f"snapshot-{number}.db"
            source = db.engine.url.database
            db.session.remove()
            db.engine.dispose()
            shutil.copy(source, path)
            return path
        with db.engine.connect() as conn:
            cursor = conn.connection.driver_connection.cursor()
            tables = {}
            for name in self.tables:
                with cursor.copy(f'COPY "{name}" TO STDOUT') as copy:
                    rows = b"".join(bytes(block) for block in copy)
                if rows:
                    tables[name] = rows
            sequences = conn.execute(text(
                "SELECT sequencename, last_value FROM pg_sequences"
                " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
            )).all()
            conn.rollback()
        return tables, sequences

    def _restore(self, data):
        db.session.remove()
        if not TEST_DATABASE_URL:
            url = str(db.engine.url)
            db.engine.dispose()
            replace_sqlite_database("sqlite:///" + str(data), url)
            return
        tables, sequences = data
        with db.engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()
            # Rows a fixture wrote first are in the snapshot too; the reset leaves the
            # triggers and foreign keys off for this transaction.
            self.reset_database(cursor)
            for name, rows in tables.items():
                with cursor.copy(f'COPY "{name}" FROM STDIN') as copy:
                    copy.write(rows)
            if sequences:  # every sequence in one statement (a round trip each cost more)
                conn.execute(text("SELECT setval(format('%I', name)::regclass, value)"
                                  " FROM unnest(CAST(:names AS text[]), CAST(:values AS bigint[]))"
                                  " AS s(name, value)"),
                             {"names": [name for name, _ in sequences],
                              "values": [value for _, value in sequences]})


@pytest.fixture(scope="session")
def database_snapshots(scratch_dir, reset_database):
    return DatabaseSnapshots(scratch_dir, [t.name for t in db.metadata.sorted_tables],
                             reset_database)


@pytest.fixture
def database_snapshot(app, database_snapshots):
    """`database_snapshot(key, build)`: see DatabaseSnapshots (`key` names what `build`
    makes, e.g. the test's parameters; rows written before it are replaced by the snapshot's,
    and objects loaded before it must be loaded again)."""
    return database_snapshots


class CelluleClient(FlaskClient):
    """A test client that knows how to log in and send CSRF tokens like a browser.

    Each request runs in a fresh application context, as in production: the
    test's own context (and its `g` and database session) is not shared.

    It asks for English (`Accept-Language: en`) so that translating the interface cannot
    break a test; a test of French or Dutch says so: `headers={"Accept-Language": "fr-BE"}`,
    `client.environ_base.pop("HTTP_ACCEPT_LANGUAGE")` or
    `client.post_form("/language", {"language": "fr"})`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response

    def csrf_token(self):
        """The CSRF token the pages of this client's session carry (`<meta name="csrf-token">`),
        made from the session as Flask-WTF makes it for a page (`generate_csrf`), without
        rendering one — a page costs more than most requests a test sends. That the pages
        carry it is the browser tests' part: htmx sends it from there."""
        app = self.application
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)

    def login(self, user, password=PASSWORD):
        """Sign `user` in; answer the second step with the current TOTP code when asked.

        Returns the last response (a 302 to the target page when the sign-in succeeded).
        """
        response = self.post_form("/login", {"email": user.email, "password": password})
        if response.status_code == 302 and response.headers["Location"] == "/login/code":
            code = current_totp_code(user, user.totp_secret or TOTP_SECRET)
            response = self.post_form("/login/code", {"code": code})
        return response

    def sign_in(self, user):
        """Sign `user` in as the login pages end (the session row, the audit row, the
        cookie: `cellule.auth._finish_sign_in`), without sending them: for the many tests
        whose subject comes after the sign-in. The pages themselves are tested through
        `login` (tests/core/test_auth.py, tests/security/: MFA, sessions, throttling,
        privacy of the logs); two requests and a password check fewer per test (~10 ms).
        A user who must still enrol a second factor goes through the pages."""
        from cellule import mfa
        from cellule.auth import _finish_sign_in

        if mfa.required_for(user) and not user.totp_enabled:
            return self.login(user)
        app = self.application
        with self.session_transaction() as stored, app.app_context(), \
                app.test_request_context("/login", method="POST",
                                         environ_base=self.environ_base):
            from flask import session

            session.update(stored)  # what this browser's session holds (its language)
            signed = db.session.get(User, user.id)
            second = {"second_factor": "totp"} if signed.totp_enabled else None
            _finish_sign_in(signed, used_mfa=bool(second), detail=second)
            stored.clear()
            stored.update(session)
        db.session.expire_all()

    def post_form(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def htmx(self, method, url, data=None, **kwargs):
        headers = {"HX-Request": "true", "X-CSRFToken": self.csrf_token()}
        headers.update(kwargs.pop("headers", {}))
        return self.open(url, method=method, data=data, headers=headers, **kwargs)


def current_totp_code(user, secret=TOTP_SECRET):
    """The code an authenticator app shows now for `user`.

    Each code is accepted once; as a test may sign the same user in several times within
    30 seconds, the user's last accepted step is forgotten first (as if time had passed).
    """
    import pyotp

    with db.engine.begin() as conn:
        conn.execute(db.update(User).where(User.id == user.id).values(totp_last_step=None))
    return pyotp.TOTP(secret).now()


def due_later_today(minutes):
    """A due time `minutes` from now, but still in the cell's day, or, in the day's last
    minutes, just past (a home lists the tasks due by the end of today and the late ones: a test
    run at 22:30 must not give a task due "in two hours", tomorrow, that no home shows)."""
    from datetime import timedelta

    from cellule.types import utcnow
    from triage.calendar import get_calendar

    now = utcnow()
    day_end = get_calendar().end_of_day(now)  # the end of the day the homes list
    # Capped at half an hour before midnight, kept in the order asked (one second a minute).
    latest = day_end - timedelta(minutes=30) + timedelta(seconds=minutes)
    return min(now + timedelta(minutes=minutes), latest)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def password_hash():
    """One Argon2id hash shared by the test users, at the test apps' cost: signing in
    verifies it at that cost and finds no need to rehash it."""
    from argon2 import PasswordHasher

    return PasswordHasher(**{"parallelism": 1, **PASSWORD_HASH_COST}).hash(PASSWORD)


@pytest.fixture
def make_user(app, password_hash):
    """Create users: `make_user("advisor")`, `make_user("psychologist", name="…")`."""
    counter = iter(range(1, 10_000))

    def factory(role, totp=None, **fields):
        """`totp`: enrol the second factor with TOTP_SECRET (default: for the roles that
        require it — psychologist, supervisor, admin)."""
        from cellule.mfa import REQUIRED_ROLES
        from cellule.types import utcnow

        n = next(counter)
        fields.setdefault("email", f"{role}{n}@test.cellule.be")
        fields.setdefault("name", f"{role.title()} {n}")
        # English like the test client: a signed-in user's own language wins over the browser's.
        fields.setdefault("language", "en")
        if totp if totp is not None else role in REQUIRED_ROLES:
            fields.setdefault("totp_secret", TOTP_SECRET)
            fields.setdefault("totp_enabled_at", utcnow())
        fields.setdefault("password_hash", password_hash)
        user = User(role=role, **fields)
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_person(app):
    """Create a person row (committed): `make_person(name="…")`, `make_person(user, …)`
    for one created by `user`. tests/contacts makes them through the operation instead."""
    from contacts.models import Person

    counter = iter(range(1, 10_000))

    def factory(created_by=None, **fields):
        n = next(counter)
        fields.setdefault("name", f"Person {n}")
        fields.setdefault("language", "fr")
        person = Person(created_by_id=created_by.id if created_by else None, **fields)
        db.session.add(person)
        db.session.commit()
        return person

    return factory


@pytest.fixture
def login_as(client, make_user):
    """Create a user of `role`, log the test client in as them, and return the user."""

    def login(role, **fields):
        user = make_user(role, **fields)
        client.sign_in(user)
        return user

    return login


@pytest.fixture
def api_client(app, make_user):
    """Return `(client, user)` for an API token of a new user of `role`."""
    from cellule.models import ApiToken

    def factory(role, **fields):
        user = make_user(role, **fields)
        row, token = ApiToken.issue(user)
        db.session.add(row)
        db.session.commit()
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client, user

    return factory


# --- Browser tests ---------------------------------------------------------

# A loaded CI machine (two suites, a database, Chromium on 2 cores) can take more than
# Playwright's default 5 s to render a heavy page; waiting longer hides no bug, since
# every expectation still has to come true.
try:
    from playwright.sync_api import expect as _expect

    _expect.set_options(timeout=15_000)
except ImportError:  # pragma: no cover - playwright is in requirements-dev.txt
    pass


# Markers set from what a test uses, so that `-m "not browser and not servers and not fuzz"`
# gives a quick loop while the README's command still runs everything.
SERVER_FIXTURES = {"worker_process", "redis_server", "smtp_server", "dovecot", "imap_server",
                   "mailbox"}
# What a test calls to start a process: a name it uses, or a pair (module, function).
STARTS_PROCESSES = ("Gunicorn", "Popen", ("subprocess", "run"))


def _names(code):
    """The global and attribute names `code` and the functions defined in it use."""
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _names(const)
    return names


def _starts_processes(item):
    """Whether the test's function calls one of STARTS_PROCESSES (read from its compiled
    code, not its source: `inspect.getsource` for each of the ~2 800 tests cost every
    xdist worker 1 to 2 s of its collection)."""
    code = getattr(getattr(item, "function", None), "__code__", None)
    if code is None:
        return False
    names = _names(code)
    return any(set(call) <= names if isinstance(call, tuple) else call in names
               for call in STARTS_PROCESSES)


def _mark_kinds(items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "page" in names:
            item.add_marker(pytest.mark.browser)
        if "fuzz" in item.path.name:
            item.add_marker(pytest.mark.fuzz)
        if names & SERVER_FIXTURES or _starts_processes(item):
            item.add_marker(pytest.mark.servers)


# Rough seconds a test of each kind takes (PostgreSQL, 3 workers on 2 cores): what the
# parallel run's order balances.
EXPECTED_SECONDS = {"browser": 8.0, "fuzz": 4.0, "servers": 4.0}
OTHER_SECONDS = 0.5


def expected_seconds(item):
    return max((s for kind, s in EXPECTED_SECONDS.items() if kind in item.keywords),
               default=OTHER_SECONDS)


def slowest_first(items, workers):
    """The order in which `--dist worksteal` gives each of `workers` processes about the same
    expected time, its long tests first: the long ones, longest first, go to the share with
    the least time so far, the others fill the shares in collection order.

    Worksteal hands the collection out in `workers` consecutive runs of equal length, and an
    idle process steals the last half of a busy one's run: the shares are laid out as those
    runs, so that what is stolen at the end is short. A `test_zz_*` summary (it reports on
    the tests before it in its process) goes last in the share with most of its module."""
    summaries = [item for item in items if item.name.startswith("test_zz_")]
    rest = [item for item in items if not item.name.startswith("test_zz_")]
    sizes, left = [], len(rest)
    for index in range(workers):
        sizes.append(left // (workers - index))
        left -= sizes[-1]
    shares = [[] for _ in range(workers)]
    totals = [0.0] * workers
    long = sorted((item for item in rest if expected_seconds(item) > OTHER_SECONDS),
                  key=expected_seconds, reverse=True)  # stable: collection order among equals
    for item in long:
        index = min((i for i in range(workers) if len(shares[i]) < sizes[i]),
                    key=lambda i: totals[i])
        shares[index].append(item)
        totals[index] += expected_seconds(item)
    placed = {id(item) for item in long}
    short = iter([item for item in rest if id(item) not in placed])
    for index, share in enumerate(shares):
        share.extend(next(short) for _ in range(sizes[index] - len(share)))
    for item in summaries:
        module = [i for i, share in enumerate(shares) for other in share
                  if other.path == item.path]
        shares[max(set(module), key=module.count) if module else -1].append(item)
    return [item for share in shares for item in share]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session):
    """In an xdist worker (each collects the same tests, then reports them in this hook, in
    the order the run hands them out; `--dist` reads "no" there): the slowest first."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if workers > 1 and hasattr(session.config, "workerinput"):
        session.items[:] = slowest_first(session.items, workers)


def pytest_collection_modifyitems(config, items):
    _mark_kinds(items)
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CELLULE_REQUIRE_BROWSER"):
        raise pytest.UsageError(f"CELLULE_REQUIRE_BROWSER is set but {CHROMIUM} is missing")
    skip = pytest.mark.skip(
        reason=f"Chromium not installed at {CHROMIUM}"
        " (apt-get install chromium-headless-shell, or chromium)"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """English pages (tests of French or Dutch open their own context: see tests/core)."""
    return {**browser_context_args, "locale": "en-GB", "timezone_id": "Europe/Brussels"}


@pytest.fixture
def live_server(app):
    """Serve the test app on a free loopback port in a background thread."""
    from werkzeug.serving import make_server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)


def follow_nav(page, name):
    """Follow the entry `name` of the main navigation bar of `page`, as a person does: open
    the phone menu and the entry's group (templates/base.html) first, if they hide it."""
    # The page as it stands once loaded (its stylesheet and scripts decide what is shown),
    # not the one a previous click is leaving.
    page.wait_for_load_state()
    nav = page.locator("header.topbar nav")
    toggle = nav.locator(".nav-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    link = nav.get_by_role("link", name=name, exact=True, include_hidden=True)
    if not link.is_visible():
        entry = page.get_by_role("link", name=name, exact=True, include_hidden=True)
        nav.locator("details", has=entry).locator("summary").click()
    link.click()
    # The page it opens, with its deferred scripts run (htmx listens from then on): a field
    # filled earlier would change without the request a person's typing sends (a loaded
    # machine showed it: the dashboard's dates filled before htmx ran).
    page.wait_for_load_state()


@pytest.fixture
def click_nav(page):
    """Follow an entry of the main navigation bar, as a person does (never a typed URL)."""

    def click(name):
        follow_nav(page, name)

    return click


def sign_in(page, base_url, user, password=PASSWORD):
    """Sign `user` in through the real login page of `base_url` in `page` (any browser
    context): the password and, for the roles that need it, the TOTP code."""
    from playwright.sync_api import expect

    page.goto(base_url + "/login")
    page.locator("#email").fill(user.email)
    page.locator("#password").fill(password)
    page.locator("#password").press("Enter")
    if user.totp_secret:
        expect(page).to_have_url(re.compile(r"/login/code$"))
        page.locator("#code").fill(current_totp_code(user, user.totp_secret))
        page.locator("#code").press("Enter")
    expect(page.locator("#main h1")).not_to_have_text("")
    expect(page).not_to_have_url(re.compile(r"/login"))
    # static/js/cellule.js (deferred) has run: autosubmit selects (language) work.
    expect(page.locator("html")).to_have_class(re.compile(r"(^|\s)js(\s|$)"))


@pytest.fixture
def browser_login(page, live_server):
    """Log `user` in through the real login page of the live server (use in browser tests)."""

    def login(user, password=PASSWORD):
        sign_in(page, live_server, user, password)

    return login
