"""Cellule: the case-management tool of a listening cell for the self-employed."""

import logging
import os

from dotenv import load_dotenv
from flask import Flask, current_app, request, session
from flask_login import current_user

# Background work (DESIGN §4): failed_jobs, idempotency (the stored answers of the API POSTs,
# purged by the jobs), jobs, mailbox and mailer hold models and jobs; importing them
# registers those.
from . import (
    approvals,
    errors,
    failed_jobs,
    home,
    idempotency,  # noqa: F401
    jobs,
    mailbox,  # noqa: F401
    mailer,  # noqa: F401
    security,
    setup_links,
    static_files,
    templating,
)
from .account import bp as account_bp
from .api import bp as api_bp
from .api import core_bp as api_core_bp
from .auth import bp as auth_bp
from .cli import register_cli
from .config import build_config, engine_options
from .extensions import (
    babel,
    csrf,
    db,
    htmx,
    login_manager,
    migrate,
    ping_idle_connections,
    tolerate_lost_connection_at_teardown,
)
from .tokens import bp as tokens_bp
from .users import bp as users_bp
from .views import bp as main_bp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def select_locale():
    """Pick the interface language: the user's choice, else the browser's, else French."""
    languages = babel_languages()
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    return request.accept_languages.best_match(languages) or "fr"


def babel_languages():
    return current_app.config["LANGUAGES"]


def create_app(test_config=None, instance_path=None):
    """Create and configure the Cellule application."""
    load_dotenv(os.path.join(ROOT, ".env"))
    instance_path = instance_path or os.environ.get("CELLULE_INSTANCE_PATH") or os.path.join(
        ROOT, "instance"
    )
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path),
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
    )
    app.config.update(build_config(app.instance_path, (test_config or {}).get("SECRET_KEY")))
    if test_config:
        app.config.update(test_config)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)  # for the final URL
    app.url_map.converters["int"] = security.IdConverter  # before any route: ids fit the database

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    db.init_app(app)
    tolerate_lost_connection_at_teardown(app)
    ping_idle_connections(app)  # instead of a pre-ping at every checkout (issue 17)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(
        app, locale_selector=select_locale, default_translation_directories="translations"
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"

    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(users_bp)
    # Set-up links and approvals of account changes (issue 14): their tables and pages.
    app.register_blueprint(setup_links.bp)
    approvals.register(app)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_core_bp)

    # Background work: outbox, jobs, mail (DESIGN §4).
    jobs.init_app(app)
    failed_jobs.register(app)
    home.register(app)  # the core's home panels: background health, accounts (issue 18)

    # The domains: the only place where the core imports them, and here rather than at the
    # top, because every domain imports the core (a module-level import would be a cycle).
    from cases.blueprint import register as register_cases
    from contacts.blueprint import register as register_contacts
    from triage.blueprint import register as register_triage

    register_contacts(app)
    register_triage(app)
    register_cases(app)

    errors.register(app)
    security.register(app)
    static_files.register(app)
    templating.register(app)
    register_cli(app)
    return app
