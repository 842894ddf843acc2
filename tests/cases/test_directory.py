"""The directory of a fresh database (DESIGN §10 "Directory", issue 20): migration 0028 seeds
the Belgian crisis lines and the partners, without a second copy of a name that exists, and
`GET /api/v1/resources?kind=&language=` lists them as the contract says.

The suite's template database has its directory emptied after the migrations
(tests/conftest.py): these tests run the seed themselves."""

import importlib.util
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import func, select, text

from cases.models import Resource
from cellule import create_app
from cellule.extensions import db
from tests.conftest import base_config
from triage import crisis
from triage.loader import get_script

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / \
    "0028_directory_seed.py"
CONTRACT = {"id", "name", "kind", "phone", "url", "languages", "cost"}


def run_seed():
    """Migration 0028's upgrade on the suite's database (PostgreSQL too)."""
    spec = importlib.util.spec_from_file_location("migration_0028", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db.session.remove()
    with db.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.upgrade()


def names(body):
    return [item["name"] for item in body["items"]]


def test_a_fresh_database_holds_the_crisis_lines_and_partners(tmp_path, redis_url):
    """From nothing to 0028 on a new file: the entries are there, once each; a name an
    administrator typed before keeps its row."""
    from flask_migrate import upgrade

    url = "sqlite:///" + str(tmp_path / "fresh.db")
    app = create_app(base_config(url, redis_url), tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0027")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO resources (name, kind, phone, languages, descriptions, active,"
                " created_at, updated_at) VALUES ('Dyzo', 'coaching_partner', '0800 00 000',"
                " '[\"nl\"]', '{}', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
        upgrade(revision="0028")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT name, phone FROM resources")).all()
        db.engine.dispose()
    phones = dict(rows)
    assert len(rows) == len(phones)  # no name twice
    assert phones["Dyzo"] == "0800 00 000"  # the administrator's, kept
    assert phones["Centre de Prévention du Suicide"] == "0800 32 123"
    assert phones["Zelfmoordlijn 1813"] == "1813"
    assert phones["Télé-Accueil 107"] == "107"
    assert phones["Tele-Onthaal 106"] == "106"
    assert phones["Telefonhilfe 108"] == "108"
    assert phones["Urgences 112"] == "112"
    assert {"Un pass dans l'impasse", "Soins psychologiques de première ligne",
            "Huis van de Veerkracht"} <= set(phones)


def test_the_seed_is_the_directory_the_api_and_the_crisis_lines_give(app, api_client):
    run_seed()
    run_seed()  # again: nothing twice
    count = db.session.scalar(select(func.count(Resource.id)))
    assert count == db.session.scalar(select(func.count(func.distinct(Resource.name))))

    client, _user = api_client("advisor")
    body = client.get("/api/v1/resources").get_json()
    assert len(body["items"]) == count
    assert all(CONTRACT <= set(item) for item in body["items"])
    first_line = next(i for i in body["items"]
                      if i["name"] == "Soins psychologiques de première ligne")
    assert first_line["price_cents"] == 1100 and "4 €" in first_line["cost"]

    lines = client.get("/api/v1/resources?kind=crisis_line&language=nl").get_json()
    assert names(lines) == ["Tele-Onthaal 106", "Urgences 112", "Zelfmoordlijn 1813"]
    german = names(client.get("/api/v1/resources?language=de").get_json())
    assert "Telefonhilfe 108" in german and "Zelfmoordlijn 1813" not in german
    partners = names(client.get("/api/v1/resources?kind=coaching_partner").get_json())
    assert partners == ["Dyzo"]

    given = crisis.crisis_lines(get_script("cellule-triage"), "fr")
    assert [line.phone for line in given] == ["0800 32 123", "107", "112"]


@pytest.mark.parametrize("query, field", [("kind=hotline", "kind"), ("language=xx", "language")])
def test_a_bad_filter_is_refused_with_its_field(app, api_client, query, field):
    """A bad filter alone is named in `error` and `fields`."""
    client, _user = api_client("advisor")
    answer = client.get(f"/api/v1/resources?{query}")
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] == f"unknown {field}" and set(body["fields"]) == {field}


def test_every_signed_in_role_may_read_the_directory(app, api_client):
    run_seed()
    for role in ("ambassador", "advisor", "psychologist", "supervisor", "admin"):
        client, _user = api_client(role)
        answer = client.get("/api/v1/resources?kind=crisis_line")
        assert answer.status_code == 200 and answer.get_json()["items"], role
    assert app.test_client().get("/api/v1/resources").status_code == 401


def test_inactive_entries_are_not_listed(app, api_client):
    run_seed()
    resource = db.session.scalar(select(Resource).where(Resource.name == "Dyzo"))
    resource.active = False
    db.session.commit()
    client, _user = api_client("advisor")
    assert "Dyzo" not in names(client.get("/api/v1/resources").get_json())


def test_openapi_documents_the_directory(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/resources"]["get"]
    assert {"200", "401", "422"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} >= {"kind", "language"}
    schema = spec["components"]["schemas"]["Resource"]
    assert CONTRACT <= set(schema["properties"])
