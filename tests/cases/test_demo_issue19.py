"""`flask demo` shows the consents, a caring messages series with a message sent and a
re-assessment that improved (issues 19 and 20), made by the packages' operations; and the
directory the migration seeded is not listed twice."""

from sqlalchemy import func, select

from cellule.extensions import db


def test_the_demo_shows_consents_a_caring_series_and_an_improvement(app, client, login_as):
    from cases.caring.models import CaringMessage, CaringSeries
    from cases.models import Case, Resource
    from cases.reassessment.models import Reassessment
    from contacts.consent.models import Consent
    from contacts.consent.operations import has_consent

    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output

    consents = db.session.scalars(select(Consent)).all()
    assert len({c.person_id for c in consents}) >= 3

    [series] = db.session.scalars(select(CaringSeries)).all()
    case = db.session.get(Case, series.case_id)
    assert case.status == "closed" and has_consent(case.person_id, "caring_messages")
    states = [m.state for m in db.session.scalars(select(CaringMessage).where(
        CaringMessage.series_id == series.id).order_by(CaringMessage.number))]
    assert states == ["sent"] + ["scheduled"] * 7
    assert series.state == "active"

    [reassessment] = db.session.scalars(select(Reassessment)).all()
    assert reassessment.improved is True and reassessment.change["phq2"] < 0

    assert db.session.scalar(select(func.count(Resource.id))) == db.session.scalar(
        select(func.count(func.distinct(Resource.name))))

    # What a newcomer sees: the case pages say so.
    login_as("supervisor")
    client.post_form("/language", {"language": "en"})
    page = client.get(f"/cases/{series.case_id}").get_data(as_text=True)
    assert 'id="caring-sent"' in page and "1 of 8" in page
    page = client.get(f"/cases/{reassessment.case_id}").get_data(as_text=True)
    assert "Compared to the first triage:" in page


def test_the_demo_skips_the_entries_a_fresh_database_holds(app):
    """On a database the migration seeded, the demo adds only its own entries."""
    from cases.demo import RESOURCES
    from cases.models import Resource
    from tests.cases.test_directory import run_seed

    run_seed()
    seeded = set(db.session.scalars(select(Resource.name)))
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    names = list(db.session.scalars(select(Resource.name)))
    assert len(names) == len(set(names))
    assert set(names) == seeded | {r["name"] for r in RESOURCES}
