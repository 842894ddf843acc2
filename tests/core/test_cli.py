"""The command line of DESIGN §6, run through Flask's CLI runner and as real processes."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from sqlalchemy import select

from cellule.extensions import db
from cellule.jobs import get_queue, ping
from cellule.models import ApiToken, AuditEvent, User

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_users_create_reads_the_password_from_stdin(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "ines@fund.be", "--name", "Inès Dupont", "--role", "advisor",
              "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "ines@fund.be"))
    assert user.role == "advisor" and user.name == "Inès Dupont"
    assert user.password_hash.startswith("$argon2id$")
    assert "a long enough password" not in result.output


@pytest.mark.parametrize(
    "args, password, message",
    [
        (["--role", "advisor"], "short", "12 to 128"),
        (["--role", "wizard"], "a long enough password", "Invalid value"),
        (["--role", "advisor"], "a long enough password", "already exists"),
    ],
)
def test_users_create_refuses_bad_input(app, make_user, args, password, message):
    make_user("advisor", email="taken@fund.be")
    email = "taken@fund.be" if "already" in message else "new@fund.be"
    result = app.test_cli_runner().invoke(
        args=["users", "create", email, "--name", "X", *args, "--password-stdin"],
        input=password + "\n",
    )
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(select(db.func.count(User.id))) == 1


def test_tokens_create_prints_a_token_that_works(app, make_user):
    user = make_user("supervisor")
    result = app.test_cli_runner().invoke(args=["tokens", "create", user.email])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()  # the expiry goes to stderr
    assert token.startswith("cel_")
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.digest != token
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["id"] == user.id


def test_tokens_create_for_unknown_user_fails(app):
    result = app.test_cli_runner().invoke(args=["tokens", "create", "nobody@fund.be"])
    assert result.exit_code != 0 and "no user" in result.output


def test_worker_runs_queued_jobs_in_burst_mode(app):
    job = get_queue().enqueue(ping, 42)
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    job.refresh()
    assert job.is_finished and job.return_value() == 42


def test_demo_seeds_users_of_every_role_and_prints_their_logins(app):
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    logins = re.findall(r"^\s+(\w+)\s+(\S+@\S+)\s+(demo-\S+)$", result.output, re.M)
    assert {role for role, _, _ in logins} == {
        "ambassador", "advisor", "psychologist", "supervisor", "admin"
    }
    client = app.test_client()
    role, email, password = logins[0]
    response = client.post_form("/login", {"email": email, "password": password})
    assert response.status_code == 302
    # Running it again resets the passwords instead of failing.
    again = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0
    assert db.session.scalar(select(db.func.count(User.id))) == len(logins)


def test_db_upgrade_is_idempotent(app):
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output


def test_audit_log_refuses_updates_and_deletes(app, make_user):
    make_user("advisor")
    from cellule import audit

    audit.record("test", "user", 1)
    db.session.commit()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(db.update(AuditEvent).values(action="forged"))
        db.session.flush()
    db.session.rollback()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(db.delete(AuditEvent))
        db.session.flush()
    db.session.rollback()


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serves_the_login_page_as_a_newcomer_would(tmp_path, redis_url):
    """Run `flask --app wsgi demo` as a process on embedded defaults and log in."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    env["CELLULE_INSTANCE_PATH"] = str(tmp_path / "inst")
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "demo", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    output = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            output.append(line)
            if "running on" in line or process.poll() is not None:
                break
        assert any("running on" in line for line in output), "".join(output)
        for _ in range(50):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        assert b'name="password"' in body
        # The demo's seeds leave background work due (a caring message's email): health is
        # "down" until the in-process worker's first heartbeat, a moment after the start.
        for _ in range(100):
            try:
                health = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health",
                                                timeout=5)
                break
            except urllib.error.HTTPError as error:
                health = error
                time.sleep(0.1)
        assert health.status == 200, health.read()
        assert any("superviseur@demo.cellule.be" in line for line in output)
    finally:
        # A warm shutdown lets the in-process worker finish its job; on a loaded CI machine
        # that can take a while (seen: over 10 s), so wait generously, then say what it did.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(45)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            rest = process.stdout.read()
            raise AssertionError("the demo did not stop within 45 s of SIGTERM:\n"
                                 + ("".join(output) + rest)[-3000:]) from None
