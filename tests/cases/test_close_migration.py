"""Migration 0012 on data the old code left: the alarms of closed crisis cases stop
ringing, hand-made sign-off tasks (nothing could ever close them) are cancelled, and
open cases keep their alerts."""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from cellule import create_app
from cellule.extensions import db
from tests.conftest import base_config

NOW = "2026-03-02 10:00:00"


def _case(conn, case_id, status, level="imminent"):
    conn.execute(text(
        "INSERT INTO cases (id, reference, status, level, route, queue, opened_at, updated_at,"
        " version) VALUES (:id, :ref, :status, :level, 'crisis', 'psychology', :now, :now, 1)"),
        {"id": case_id, "ref": f"CEL-2026-{case_id:06d}", "status": status, "level": level,
         "now": NOW})


def _task(conn, task_id, case_id, kind="custom", code=None, run_id=None):
    conn.execute(text(
        "INSERT INTO tasks (id, title, kind, code, case_id, triage_run_id, status, created_at)"
        " VALUES (:id, 'T', :kind, :code, :case_id, :run_id, 'open', :now)"),
        {"id": task_id, "kind": kind, "code": code, "case_id": case_id, "run_id": run_id,
         "now": NOW})


def test_0012_ends_the_alarms_the_old_code_left(tmp_path, redis_url):
    from flask_migrate import downgrade, upgrade

    url = "sqlite:///" + str(tmp_path / "old.db")
    app = create_app(base_config(url, redis_url), tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0011")
        with db.engine.begin() as conn:
            _case(conn, 1, "closed")
            _case(conn, 2, "in_progress")
            _task(conn, 10, 1, code="imminent_alert")  # closed case: stops ringing
            _task(conn, 11, 2, code="imminent_alert")  # open case: still rings
            _task(conn, 12, 2, kind="sign_off")  # typed by hand: no run to sign off
            _task(conn, 13, 1, kind="callback")  # ordinary work is left as it was
        upgrade(revision="0012")
        with db.engine.connect() as conn:
            status = dict(conn.execute(text("SELECT id, status FROM tasks")).all())
            assert status == {10: "cancelled", 11: "open", 12: "cancelled", 13: "open"}
            assert conn.execute(text(
                "SELECT done_at FROM tasks WHERE id = 10")).scalar() is not None
            assert conn.execute(text(
                "SELECT safety_outcome FROM cases WHERE id = 1")).scalar() is None
            # The open-case-per-person index survived the table rebuild.
            indexes = {row[1] for row in conn.execute(text("PRAGMA index_list('cases')"))}
            assert "uq_cases_open_person" in indexes
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text("UPDATE cases SET safety_outcome = 'maybe' WHERE id = 1"))
        downgrade(revision="0011")
        db.engine.dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        columns = {row[1] for row in conn.execute(text("PRAGMA table_info('cases')"))}
    engine.dispose()
    assert "safety_outcome" not in columns
