"""Migration 0029 on the rows the old code left (issue 20): a referral was a row with a
note, so it becomes `proposed` dated at its creation; a paid one whose price the person
accepted becomes `accepted` at that consent; each gets its dated steps; no reminder is due.
The downgrade takes the new columns and table away."""

from datetime import datetime

from sqlalchemy import inspect, text

from cellule import create_app
from cellule.extensions import db
from tests.conftest import base_config

CREATED = datetime(2026, 3, 2, 10, 0)
ACCEPTED = datetime(2026, 3, 2, 10, 5)


def test_0029_gives_the_old_referrals_a_state_and_their_steps(tmp_path, redis_url):
    from flask_migrate import downgrade, upgrade

    url = "sqlite:///" + str(tmp_path / "old.db")
    app = create_app(base_config(url, redis_url), tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0028")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO resources (id, name, kind, languages, descriptions, active,"
                " created_at, updated_at) VALUES (1000, 'Partner', 'coaching_partner', '[]',"
                " '{}', 1, :at, :at)"), {"at": CREATED})
            conn.execute(text(
                "INSERT INTO referrals (id, resource_id, note, created_at) VALUES"
                " (1, 1000, 'free', :at)"), {"at": CREATED})
            conn.execute(text(
                "INSERT INTO referrals (id, resource_id, price_cents_shown, consent_at,"
                " created_at) VALUES (2, 1000, 4500, :consent, :at)"),
                {"at": CREATED, "consent": ACCEPTED})
        upgrade(revision="0029")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, state, state_at, reminder_due_at FROM referrals"
                                     " ORDER BY id")).all()
            steps = conn.execute(text("SELECT referral_id, state FROM referral_events"
                                      " ORDER BY referral_id, id")).all()
        assert [(r[0], r[1], datetime.fromisoformat(r[2]), r[3]) for r in rows] == [
            (1, "proposed", CREATED, None), (2, "accepted", ACCEPTED, None)]
        assert [tuple(s) for s in steps] == [(1, "proposed"), (2, "proposed"), (2, "accepted")]
        downgrade(revision="0028")
        names = {c["name"] for c in inspect(db.engine).get_columns("referrals")}
        assert "state" not in names and "email" not in {
            c["name"] for c in inspect(db.engine).get_columns("resources")}
        assert not inspect(db.engine).has_table("referral_events")
        db.engine.dispose()
