"""No personal data in URLs, logs, job arguments (ASVS V14.2, V16.2): checked over every
route and every page the roles can open, on the demo data."""

import logging
import re
from pathlib import Path

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter, PathConverter

from cellule.extensions import db
from cellule.models import ApiToken
from tests.security.conftest import PASSWORD, TOTP_SECRET
from tests.security.routes import ROLES, arg_value, html_rules, is_api

ROOT = Path(__file__).resolve().parents[2]
# String path arguments that are not personal: fixed words, opaque tokens, file names.
NON_PERSONAL_ARGUMENTS = {"action", "section_id", "token", "filename", "kind", "step", "fmt",
                          "purpose"}  # purpose: a consent purpose of a fixed list (issue 20)
PERSONAL_FIELD = re.compile(
    r"^(q|query|name|first_name|last_name|email|phone|affiliate_number|summary|body|notes?|"
    r"address|birth.*)$"
)


def test_url_rules_carry_ids_and_fixed_words_only(app):
    offenders = []
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            if isinstance(converter, (IntegerConverter, AnyConverter)):
                continue
            if isinstance(converter, PathConverter) and rule.endpoint == "static":
                continue
            if name not in NON_PERSONAL_ARGUMENTS:
                offenders.append(f"{rule.rule} <{name}>")
    assert not offenders, f"route arguments that could carry personal data: {offenders}"


def test_get_forms_carry_no_personal_fields():
    offenders = []
    for template in ROOT.rglob("templates/**/*.html"):
        text = template.read_text()
        for form in re.finditer(r"<form[^>]*method=\"get\"[^>]*>(.*?)</form>", text, re.S | re.I):
            for name in re.findall(r"name=\"([^\"]+)\"", form.group(1)):
                if PERSONAL_FIELD.match(name):
                    offenders.append(f"{template.relative_to(ROOT)}: {name}")
    assert not offenders, f"GET forms put personal data in the URL: {offenders}"


def test_htmx_gets_carry_no_personal_fields():
    """Active search must post (hx-post), not put what is typed into the URL (hx-get)."""
    offenders = []
    for template in ROOT.rglob("templates/**/*.html"):
        for tag in re.findall(r"<(?:input|textarea)[^>]*hx-get=[^>]*>", template.read_text()):
            name = re.search(r"name=\"([^\"]+)\"", tag)
            if name and PERSONAL_FIELD.match(name.group(1)):
                offenders.append(f"{template.relative_to(ROOT)}: {name.group(1)}")
    assert not offenders, offenders


@pytest.fixture
def demo_world(app, make_user):
    from cellule.demo import run_seeders

    users = {role: [make_user(role, name=f"Zoë {role.title()} Vermeulen")] for role in ROLES}
    run_seeders(users)
    db.session.commit()
    return users


def personal_values():
    """Names, emails and phones of the people and users in the database."""
    values = set()
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if column.name in {"name", "email", "phone", "email_sender", "affiliate_number"}:
                rows = db.session.execute(db.select(column).where(column.isnot(None)))
                values.update(v for (v,) in rows if isinstance(v, str) and len(v) >= 6)
    return values


def test_logs_carry_no_personal_data(app, demo_world, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = personal_values() | {PASSWORD, TOTP_SECRET}
    for role in ROLES:
        client = app.test_client()
        user = demo_world[role][0]
        client.post_form("/login", {"email": user.email, "password": "wrong password!"})
        assert client.login(user).status_code == 302
        for rule in html_rules(app):
            if "GET" not in rule.methods:
                continue
            for object_id in (1, 2, 3) if rule.arguments else (None,):
                values = {n: arg_value(c, object_id) for n, c in rule._converters.items()}
                with app.test_request_context():
                    from flask import url_for

                    client.get(url_for(rule.endpoint, **values))
        # And the API's lists and objects with this role's token.
        row, token = ApiToken.issue(user)
        db.session.add(row)
        db.session.commit()
        api = app.test_client()
        for rule in app.url_map.iter_rules():
            if is_api(rule) and "GET" in rule.methods:
                path = re.sub(r"<[^>]+>", "1", rule.rule)
                api.get(path, headers={"Authorization": f"Bearer {token}"})
    assert caplog.records
    leaked = sorted(
        {value for record in caplog.records for value in secrets if value in record.getMessage()}
    )
    assert not leaked, f"personal data in the logs: {leaked}"


def test_sql_errors_do_not_log_values(app, caplog):
    """Neither the SQL parameters nor the values PostgreSQL quotes reach the logs."""
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    from sqlalchemy.exc import IntegrityError

    from cellule.models import User

    db.session.add(User(email="dup@x.be", name="Dup", role="advisor", password_hash="x"))
    db.session.commit()
    db.session.add(User(email="dup@x.be", name="Secret Name", role="advisor", password_hash="x"))
    try:
        db.session.commit()
    except IntegrityError as error:
        logging.getLogger("cellule.test").exception("could not save: %s", error)
    db.session.rollback()
    text = caplog.text
    assert "could not save" in text and "Traceback" in text
    assert "Secret Name" not in text and "dup@x.be" not in text


def test_redaction_of_postgresql_details():
    from cellule.redaction import redact

    detail = 'DETAIL:  Key (email)=(ana@x.be) already exists.'
    assert redact(detail) == "DETAIL:  Key (email)=(…) already exists."
    row = "DETAIL:  Failing row contains (3, Ana (Anna) Peeters, null)."
    assert "Peeters" not in redact(row)
    assert redact("Key (lower(email::text))=(ana@x.be)") == "Key (lower(email::text))=(…)"


JOB_ARG = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def _id_like(value):
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and JOB_ARG.match(value) and "@" not in value
    )


def test_jobs_carry_ids_only(app, demo_world):
    """Every job requested while the demo data is made (outbox rows, RQ jobs) takes ids."""
    from rq import Queue

    from cellule.redis_conn import get_redis

    rows = []
    try:
        from cellule.outbox import OutboxMessage

        rows = db.session.scalars(db.select(OutboxMessage)).all()
    except ImportError:  # no outbox in this build
        pass
    for row in rows:
        assert all(_id_like(arg) for arg in row.args), (row.job_name, row.args)
    connection = get_redis()
    for name in app.config["RQ_QUEUES"]:
        for job in Queue(name, connection=connection).get_jobs():
            assert all(_id_like(arg) for arg in job.args), (job.func_name, job.args)
            assert not job.kwargs or all(_id_like(v) for v in job.kwargs.values())
