"""Command line: users, tokens, worker and the demo (DESIGN §6)."""

import secrets
import signal
import sys
import threading

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from . import audit, mfa, setup_links, tokens
from .approvals import mail_second_factor_removed
from .crypto import reencrypt_all
from .demo import run_seeders
from .extensions import db
from .jobs import ThreadWorker, drain, make_worker, run_worker
from .models import User
from .passwords import MAX_LENGTH, MIN_LENGTH, check_policy, hash_password
from .permissions import ROLES
from .sessions import revoke_all
from .types import utcnow

users_cli = AppGroup("users", help="Manage user accounts.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")

MIN_PASSWORD = MIN_LENGTH
MAX_PASSWORD = MAX_LENGTH


def create_user(email, name, role, password, language="fr"):
    """Create a user after checking the inputs; raise ValueError with a message.

    `password` None: the account has no usable password until its owner chooses one with
    a set-up link (cellule.setup_links).
    """
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise ValueError("a valid email address is required")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not name or len(name) > 200:
        raise ValueError("a name of at most 200 characters is required")
    if password is not None:
        check_policy(password, email, name)  # 12 to 128 characters, not a common password
    if db.session.scalar(db.select(User.id).where(User.email == email)):
        raise ValueError(f"a user with the email {email} already exists")
    if password is None:
        password_hash = setup_links.unusable_password_hash()
    else:
        password_hash = hash_password(password)
    user = User(
        email=email, name=name, role=role, password_hash=password_hash, language=language
    )
    db.session.add(user)
    db.session.flush()
    audit.record("create", "user", user.id, {"role": role})
    return user


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name shown in the interface.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--language", default="fr", type=click.Choice(["fr", "nl", "en"]))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email, name, role, language, password_stdin):
    """Create a user with one role and the password the operator types.

    The operator running commands on the server is trusted (they hold the database and its
    keys already): no supervisor's approval is asked for the role, and the operator knows
    the password they set. In the web interface an administrator never does (issue 14).
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, name, role, password, language)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@users_cli.command("rotate-data-key")
def users_rotate_data_key():
    """Re-encrypt every stored encrypted value (TOTP seeds, kept API answers, original
    emails) with the first of CELLULE_DATA_KEYS; the former keys may then be dropped."""
    count = reencrypt_all(db.session.connection(), db.metadata)
    audit.record("data_key_rotated", "user", None, {"rows": count})
    db.session.commit()
    click.echo(f"Re-encrypted the stored secrets of {count} row(s).")


def _user_by_email(email):
    user = db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user with the email {email}")
    return user


@users_cli.command("invite")
@click.argument("email")
@click.option("--name", required=True, help="Full name shown in the interface.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--language", default="fr", type=click.Choice(["fr", "nl", "en"]))
def users_invite(email, name, role, language):
    """Create a user without a password: mail them a set-up link, and print it.

    The link is printed for the operator running the command, who is trusted (see
    `users create`); no supervisor's approval is asked for the role.
    """
    try:
        user = create_user(email, name, role, None, language)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    token = setup_links.send(user, "invite")
    db.session.commit()
    click.echo(f"Created {user.role} {user.email} (id {user.id}); set-up link (mailed to them, "
               "valid once for 24 hours):")
    click.echo(setup_links.link_url(token))


@users_cli.command("reset-password")
@click.argument("email")
def users_reset_password(email):
    """Reset a user's password: it stops working, their sessions and API tokens end, they
    get a set-up link by email; the link is printed too, for the (trusted) operator."""
    user = _user_by_email(email)
    token = setup_links.reset_password(user)
    db.session.commit()
    click.echo(f"The password of user {user.id} was reset; set-up link (mailed to them, valid "
               "once for 24 hours):")
    click.echo(setup_links.link_url(token))


@users_cli.command("reset-totp")
@click.argument("email")
def users_reset_totp(email):
    """Remove a user's second factor (lost phone); they enrol again at the next sign-in.

    The operator is trusted (no supervisor's approval, unlike the web interface); the owner
    is told by email, as of every reset.
    """
    user = _user_by_email(email)
    mfa.disable(user)
    revoke_all(user)
    audit.record("mfa_reset", "user", user.id)
    mail_second_factor_removed(user)
    db.session.commit()
    click.echo(f"The second factor of user {user.id} was removed.")


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", "--label", "name", default="cli", show_default=True,
              help="What the token is for (at most 100 characters).")
@click.option("--days", type=int, default=None,
              help="How many days it works (default API_TOKEN_DAYS, 180; at most "
                   "API_TOKEN_MAX_DAYS, 365).")
def tokens_create(email, name, days):
    """Print a new API token acting as the user; it is shown only once.

    The token alone goes to standard output (TOKEN=$(flask tokens create …) keeps just
    it); its name and expiry go to standard error."""
    user = db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user with the email {email}")
    name = name.strip()
    if not name or len(name) > tokens.NAME_MAX:
        raise click.ClickException(f"a name of 1 to {tokens.NAME_MAX} characters is required")
    top = tokens.max_days()
    if days is not None and not 1 <= days <= top:
        raise click.ClickException(f"--days must be between 1 and {top}")
    row, token = tokens.create(user, name, days, via="cli")
    db.session.commit()
    click.echo(token)
    click.echo(f"Token \"{row.label}\" for user {user.id}, expires "
               f"{row.expires_at:%Y-%m-%d %H:%M} UTC.", err=True)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then stop.")
def worker_command(burst):
    """Run an RQ worker (with scheduler and outbox relay) on the configured Redis."""
    app = current_app._get_current_object()
    if burst:
        click.echo(f"{drain(app)} job(s) run.")
        return
    run_worker(app)


DEMO_USERS = [
    ("ambassador", "ambassadeur@demo.cellule.be", "Anouk Ambassadeur"),
    ("advisor", "conseiller@demo.cellule.be", "Bram Conseiller"),
    ("psychologist", "psy@demo.cellule.be", "Chloé Psychologue"),
    ("psychologist", "psy2@demo.cellule.be", "Dirk Psycholoog"),
    ("supervisor", "superviseur@demo.cellule.be", "Els Superviseur"),
    ("admin", "admin@demo.cellule.be", "Farid Admin"),
]


def seed_demo():
    """Create (or reset) the demo users and the domains' demo data; return the logins."""
    logins = []
    users_by_role = {}
    fresh = db.session.scalar(db.select(db.func.count(User.id))) == 0
    for role, email, name in DEMO_USERS:
        password = "demo-" + secrets.token_urlsafe(9)
        user = db.session.scalar(db.select(User).where(User.email == email))
        if user is None:
            user = create_user(email, name, role, password)
        else:
            user.password_hash = hash_password(password)
            user.session_version += 1
        secret = ""
        if mfa.required_for(user):
            # These roles need a second factor: a fresh TOTP secret, printed for the demo.
            mfa.disable(user)
            secret = user.totp_secret = mfa.new_secret()
            user.totp_enabled_at = utcnow()
        users_by_role.setdefault(role, []).append(user)
        logins.append((role, email, password, secret))
    if fresh:
        run_seeders(users_by_role)
    db.session.commit()
    return logins


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Migrate and seed, then stop.")
def demo_command(host, port, no_serve):
    """Migrate, seed demo data, and serve with an in-process worker."""
    app = current_app._get_current_object()
    upgrade(revision="heads")
    logins = seed_demo()
    click.echo("\nDemo logins (passwords are new at each start):")
    for role, email, password, _secret in logins:
        click.echo(f"  {role:<13} {email:<32} {password}")
    click.echo(
        "\nPsychologists, supervisors and administrators also need a code from an"
        "\nauthenticator app; add these TOTP secrets to one (or run"
        "\n`python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\"`):"
    )
    for _role, email, _password, secret in logins:
        if secret:
            click.echo(f"  {email:<32} {secret}")
    if no_serve:
        return

    def work():
        with app.app_context():
            make_worker(app, ThreadWorker, name=f"demo-{secrets.token_hex(3)}").work(
                with_scheduler=True
            )

    threading.Thread(target=work, name="rq-worker", daemon=True).start()
    click.echo(f"\nCellule is running on http://{host}:{port}/  (Ctrl+C to stop)\n", err=False)
    sys.stdout.flush()
    # SIGTERM (a service manager, a test) ends the demo like Ctrl+C, so that
    # exit handlers run and the embedded Redis server stops with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


def register_cli(app):
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(demo_command)
