"""Every setting in one table (issue 16): the README shows it, the code reads only it."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from cellule import create_app
from cellule.config import FIXED, ConfigError, build_config
from cellule.settings import BY_NAME, SETTINGS, readme_table
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cellule", "contacts", "triage", "cases")
# Configuration keys that are no environment setting: Flask's and its extensions' own,
# and those only tests set.
NOT_SETTINGS = {
    "TESTING", "PERMANENT_SESSION_LIFETIME", "PASSWORD_HASH_COST",
    "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS",
    "RATELIMIT_STORAGE_URI", "RATELIMIT_STORAGE_OPTIONS", "RATELIMIT_STRATEGY",
    "RATELIMIT_HEADERS_ENABLED", "RATELIMIT_SWALLOW_ERRORS", "RATELIMIT_KEY_PREFIX",
}
CONFIG_READ = re.compile(r"""config(?:\[|\.get\(|\.setdefault\()\s*["']([A-Z][A-Z0-9_]+)["']"""
                         r"""|_config\(\s*["']([A-Z][A-Z0-9_]+)["']""")
ENV_READ = re.compile(r"""(?:os\.environ\.get\(|os\.environ\[|os\.getenv\()"""
                      r"""\s*["']([A-Z][A-Z0-9_]+)["']""")


def _sources():
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def _names(pattern):
    found = {}
    for path in _sources():
        for match in pattern.finditer(path.read_text()):
            name = next(group for group in match.groups() if group)
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_readme_shows_the_table():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("| variable | default | meaning |")
    shown = readme[start:].splitlines()
    shown = shown[: next(i for i, line in enumerate(shown) if not line.startswith("|"))]
    # On a difference, run: python docs/settings.py --write
    assert shown == readme_table().splitlines()


def test_every_setting_the_code_reads_is_in_the_table():
    keys = {key for setting in SETTINGS for key in setting.config_keys}
    unknown = {
        name: files for name, files in _names(CONFIG_READ).items()
        if name not in keys | set(FIXED) | NOT_SETTINGS
    }
    assert not unknown, f"add them to cellule/settings.py SETTINGS: {unknown}"


def test_the_environment_is_read_only_for_settings_of_the_table():
    unknown = {name: files for name, files in _names(ENV_READ).items() if name not in BY_NAME}
    assert not unknown, f"add them to cellule/settings.py SETTINGS: {unknown}"


def test_every_row_of_the_table_says_what_it_is():
    assert len(BY_NAME) == len(SETTINGS)
    for setting in SETTINGS:
        assert setting.row in (None, *BY_NAME), setting.name
        assert setting.doc or setting.row, f"{setting.name} has no README text"


def test_defaults_and_values_from_the_environment(tmp_path):
    config = build_config(str(tmp_path), environ={})
    assert config["MAIL_PORT"] == 25 and config["IMAP_MAILBOX"] == "INBOX"
    assert config["CELLULE_OUTBOX_KEEP_DAYS"] == 7 and config["MAIL_TIMEOUT"] == 30.0
    assert config["CELLULE_RETENTION_YEARS"] is None and config["TRUSTED_HOSTS"] is None
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/cellule.db"
    assert (tmp_path / "secret_key").read_text() == config["SECRET_KEY"]
    config = build_config(str(tmp_path), environ={
        "MAIL_PORT": "2525", "MAIL_USE_TLS": "yes", "CELLULE_SESSION_MINUTES": "60",
        "CELLULE_TIMEZONE": "Europe/Paris", "DATABASE_URL": "postgres://db/cellule",
        "CELLULE_RELAY_INTERVAL": "0.5", "IMAP_MAILBOX": "  ", "CELLULE_ENV": "Production",
        "SECRET_KEY": "k" * 64, "TRUSTED_HOSTS": "cellule.fund.be",
    })
    assert config["MAIL_PORT"] == 2525 and config["MAIL_USE_TLS"] is True
    assert config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=60)
    assert config["BABEL_DEFAULT_TIMEZONE"] == config["CELLULE_TIMEZONE"] == "Europe/Paris"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db/cellule"
    assert config["CELLULE_RELAY_INTERVAL"] == 0.5
    assert config["IMAP_MAILBOX"] == "INBOX"  # blank: the default
    assert config["ENV_NAME"] == "production" and config["REMEMBER_COOKIE_SECURE"] is True


@pytest.mark.parametrize("name, raw", [
    ("MAIL_PORT", "twenty-five"), ("DATABASE_POOL_TIMEOUT", "soon"),
    ("MAIL_USE_TLS", "maybe"), ("CELLULE_OUTBOX_KEEP_DAYS", "7.5"),
])
def test_a_wrong_value_names_its_setting(tmp_path, name, raw):
    with pytest.raises(ConfigError, match=name) as error:
        build_config(str(tmp_path), environ={name: raw})
    assert raw not in str(error.value)  # the value may be a secret: never repeated


def test_production_requires_its_settings(tmp_path):
    production = {"CELLULE_ENV": "production", "TRUSTED_HOSTS": "cellule.fund.be"}
    with pytest.raises(ConfigError, match="SECRET_KEY must be set in production"):
        build_config(str(tmp_path), environ=production)
    assert not (tmp_path / "secret_key").exists()
    with pytest.raises(ConfigError, match="TRUSTED_HOSTS"):
        build_config(str(tmp_path), "s" * 64, environ={**production, "TRUSTED_HOSTS": " , "})
    config = build_config(str(tmp_path), "s" * 64, environ=production)
    assert config["SECRET_KEY"] == "s" * 64 and config["TRUSTED_HOSTS"] == ["cellule.fund.be"]


def test_the_app_takes_the_background_settings_from_the_environment(
    monkeypatch, database_url, redis_url, tmp_path
):
    monkeypatch.setenv("MAIL_TIMEOUT", "7")
    monkeypatch.setenv("CELLULE_SETUP_LINK_LIMIT", "5/hour")
    app = create_app({**base_config(database_url, redis_url), "CELLULE_OUTBOX_LEASE": 99},
                     tmp_path)
    assert app.config["MAIL_TIMEOUT"] == 7.0
    assert app.config["CELLULE_SETUP_LINK_LIMIT"] == "5/hour"
    assert app.config["CELLULE_OUTBOX_LEASE"] == 99  # the app's own settings win
