"""Migration 0023 on data the old code left (issue 18): an open imminent case that was due
the instant it opened is due 15 minutes after it opened, so it is no longer late at once;
every other case keeps its deadline."""

import importlib.util
from datetime import datetime, timedelta
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import text

from cellule import create_app
from cellule.extensions import db
from tests.conftest import base_config

OPENED = datetime(2026, 3, 2, 10, 0)
MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / \
    "0023_desk_imminent_due.py"


def _case(conn, case_id, status, level, due):
    conn.execute(text(
        "INSERT INTO cases (id, reference, status, level, route, queue, opened_at, due_at,"
        " updated_at, version) VALUES (:id, :ref, :status, :level, 'crisis', 'psychology',"
        " :opened, :due, :opened, 1)"),
        {"id": case_id, "ref": f"CEL-2026-{case_id:06d}", "status": status, "level": level,
         "opened": OPENED, "due": due})


def test_0023_gives_the_old_imminent_cases_their_grace(tmp_path, redis_url):
    from flask_migrate import downgrade, upgrade

    url = "sqlite:///" + str(tmp_path / "old.db")
    app = create_app(base_config(url, redis_url), tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0022")
        with db.engine.begin() as conn:
            _case(conn, 1, "open", "imminent", OPENED)  # due now: moved
            _case(conn, 2, "in_progress", "imminent", OPENED - timedelta(seconds=1))  # moved
            _case(conn, 3, "waiting", "imminent", OPENED)  # moved
            _case(conn, 4, "closed", "imminent", OPENED)  # closed: as it was
            _case(conn, 5, "open", "imminent", OPENED + timedelta(minutes=15))  # new rule
            _case(conn, 6, "open", "high", OPENED)  # not imminent: as it was
            _case(conn, 7, "open", "imminent", OPENED + timedelta(days=1))  # raised later
        upgrade(revision="0023")
        with db.engine.connect() as conn:
            due = {row[0]: datetime.fromisoformat(row[1]) for row in conn.execute(
                text("SELECT id, due_at FROM cases"))}
        grace = OPENED + timedelta(minutes=15)
        assert due == {1: grace, 2: grace, 3: grace, 4: OPENED, 5: grace, 6: OPENED,
                       7: OPENED + timedelta(days=1)}
        downgrade(revision="0022")  # a data fix: the deadlines stay
        with db.engine.connect() as conn:
            assert datetime.fromisoformat(conn.execute(
                text("SELECT due_at FROM cases WHERE id = 1")).scalar()) == grace
        db.engine.dispose()


def test_0023_on_the_test_database_moves_a_due_now_case_only(app, triage):
    """On the suite's backend (PostgreSQL too): the case the new code made is left alone;
    one made the old way (due at its opening) is moved; a closed one is not."""
    from cases.models import Case

    _run, new = triage("imminent")
    _run, old = triage("imminent")
    _run, closed = triage("imminent")
    kept = new.due_at
    assert kept > new.opened_at
    for case in (old, closed):
        case.due_at = case.opened_at
    closed.status = "closed"
    db.session.commit()
    ids = {"new": new.id, "old": old.id, "closed": closed.id}
    opened = {name: db.session.get(Case, case_id).opened_at for name, case_id in ids.items()}
    db.session.remove()

    spec = importlib.util.spec_from_file_location("migration_0023", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with db.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.upgrade()

    due = {name: db.session.get(Case, case_id).due_at for name, case_id in ids.items()}
    assert due["new"] == kept
    assert due["old"] == opened["old"] + timedelta(minutes=15)
    assert due["closed"] == opened["closed"]
