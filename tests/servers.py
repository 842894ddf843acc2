"""Real processes for fault tests: gunicorn serving the test's database, and a TCP proxy
between the app and PostgreSQL that a test can cut.

    with Gunicorn(app, tmp_path) as server:          # server.url, server.pid, server.log_text()
        ...
    with TcpProxy("127.0.0.1", 5432) as proxy:       # proxy.port; proxy.cut(); proxy.restore()
        ...
"""

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def released_together(functions, timeout=60):
    """Call each of `functions` from its own thread, all released at once by a barrier;
    return their results in order (an exception in any thread fails the caller)."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)
    errors = []

    def run(index, function):
        try:
            barrier.wait(timeout=timeout)
            results[index] = function()
        except Exception:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout * 2)
    assert not errors, errors
    return results


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """`gunicorn wsgi:app` on a free loopback port, on the test app's database and Redis.

    `database_url` overrides the app's (to go through a TcpProxy, for instance); `env`
    adds settings; `config` is a `-c` settings file (the shipped `gunicorn.conf.py`). Its
    output (access and error log) is in `tmp_path/gunicorn.log`.
    """

    def __init__(self, app, tmp_path, workers=2, threads=1, database_url=None, env=None,
                 timeout=30, config=None):
        self.config = config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers, self.threads, self.timeout = workers, threads, timeout
        self.log_path = os.path.join(str(tmp_path), "gunicorn.log")
        url = database_url or app.config["SQLALCHEMY_DATABASE_URI"]
        if hasattr(url, "render_as_string"):
            url = url.render_as_string(hide_password=False)
        self.env = dict(os.environ)
        self.env.update(
            DATABASE_URL=str(url), REDIS_URL=app.config["REDIS_URL"],
            SECRET_KEY=app.config["SECRET_KEY"], CELLULE_ENV="development",
            CELLULE_INSTANCE_PATH=os.path.join(str(tmp_path), "gunicorn-instance"),
            PYTHONPATH=ROOT, **(env or {}),
        )
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def command(self):
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(self.workers),
               "-b", f"127.0.0.1:{self.port}", "--timeout", str(self.timeout),
               "--graceful-timeout", "2", "--log-level", "info"]
        if self.config:
            cmd += ["-c", self.config]
        if self.threads > 1:
            cmd += ["--threads", str(self.threads)]
        return [*cmd, "wsgi:app"]

    def __enter__(self):
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in __exit__)
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log_text())
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("gunicorn did not answer within 60 s:\n" + self.log_text())

    def worker_pids(self):
        """The pids of gunicorn's worker processes (children of the arbiter)."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                             text=True, check=False).stdout
        return [int(pid) for pid in out.split()]

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if getattr(self, "log", None):
            self.log.close()


class TcpProxy:
    """A loopback TCP proxy to `host:port` whose connections a test can cut.

    `cut()` closes every open connection and refuses new ones (they are accepted and
    closed at once, like a server that went away); `restore()` lets connections through
    again. `connections` counts the connections accepted while up.
    """

    def __init__(self, host, port):
        self.target = (host, port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.connections = 0
        self._pairs = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def url_for(self, database_url):
        """`database_url` with its host and port replaced by the proxy's."""
        from sqlalchemy.engine import make_url

        url = make_url(str(database_url)).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def __enter__(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.cut()
        self.listener.close()

    def cut(self):
        self.up = False
        with self._lock:
            pairs, self._pairs = self._pairs, set()
        for a, b in pairs:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def restore(self):
        self.up = True

    def _accept(self):
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
                self.connections += 1
            threading.Thread(target=self._pump, args=(pair,), daemon=True).start()

    def _pump(self, pair):
        a, b = pair
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 1.0)
                if self._stop.is_set():
                    break
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        raise ConnectionError
                    (b if s is a else a).sendall(data)
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            with self._lock:
                self._pairs.discard(pair)
            for s in pair:
                try:
                    s.close()
                except OSError:
                    pass
