"""The re-assessments in the reports (issue 19): the share of re-assessed cases that improved,
per route, on the dashboard, in the API summary and the CSV, with the small-count
suppression of every other figure."""

import json

import pytest

from cases.reporting.anonymise import anonymised
from cases.reporting.export import csv_rows
from cases.reporting.figures import build_report
from cases.reporting.periods import parse_period
from cellule.extensions import db

from .conftest import MARCH, NOW, at


@pytest.fixture
def reassessed(app, make_user, make_case):
    """March 2025: 6 psychology cases re-assessed (5 improved), 7 coaching ones (6 improved,
    one of them re-assessed twice: the last one counts), one before March."""
    from cases.reassessment.models import Reassessment

    advisor = make_user("advisor")

    def add(case, improved, when):
        row = Reassessment(case_id=case.id, script_id="cellule-triage", script_version=1,
                           language="fr", occasion="other", route=case.route,
                           improved=improved, created_by_id=advisor.id, created_at=at(when))
        row.store({}, {}, {}, {})
        db.session.add(row)

    for i, route, better in [(i, "psychologist", i < 5) for i in range(6)] + [
            (i, "coaching", i < 6) for i in range(7)]:
        case = make_case(route=route, opened="2025-02-20 10:00")
        add(case, not better, "2025-03-02 10:00")  # the earlier one of the month: not counted
        add(case, better, f"2025-03-{10 + i:02d} 10:00")
    add(make_case(route="crisis", opened="2025-01-01 10:00"), True, "2025-02-10 10:00")
    db.session.commit()


def _report():
    period = parse_period({"from": "2025-03-01", "to": "2025-03-31"}, now=NOW)
    return build_report(period, now=NOW, sections=("reassessment",)).to_dict()


def test_the_share_improved_per_route(reassessed):
    section = _report()["reassessment"]
    assert section["by_route"]["psychologist"] == {
        "reassessed": 6, "compared": 6, "improved": 5, "share_improved": 0.8333}
    assert section["by_route"]["coaching"]["improved"] == 6
    assert section["by_route"]["crisis"]["reassessed"] == 0  # February's
    assert section["all"] == {"reassessed": 13, "compared": 13, "improved": 11,
                              "share_improved": 0.8462}


def test_small_counts_are_suppressed(reassessed, app):
    report = _report()
    published = anonymised(report, k=7)
    routes = published["reassessment"]["by_route"]
    # 6 psychology cases < 7; the coaching 7 goes too (the total would give the 6 back).
    assert routes["psychologist"]["reassessed"] is None
    assert routes["coaching"]["reassessed"] is None
    assert routes["psychologist"]["share_improved"] is None
    assert published["reassessment"]["all"]["reassessed"] == 13
    assert published["reassessment"]["all"]["share_improved"] == 0.8462
    rows = csv_rows(report, k=7)
    line = next(r for r in rows if r[0] == "reassessment" and r[3] == "psychologist"
                and r[4] == "share_improved")
    assert (line[5], line[6]) == ("", "suppressed (fewer than 7)")
    assert ("reassessment", "2025-03-01", "2025-03-31", "all", "reassessed", 13, "") in rows


def test_the_api_and_the_dashboard_show_it(reassessed, api_client, login_as, client):
    api, _user = api_client("supervisor")
    body = api.get("/api/v1/reports/summary?from=2025-03-01&to=2025-03-31").get_json()
    assert body["reassessment"]["all"]["improved"] == 11
    assert "Zoë" not in json.dumps(body)
    login_as("supervisor")
    page = client.get("/reports/", query_string=MARCH).get_data(as_text=True)
    assert 'id="report-reassessment"' in page and 'id="reassessment-share"' in page
