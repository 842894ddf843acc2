"""What "late" means, imminent cases included (issue 18, docs/CONVENTIONS.md "Deadlines and
late"): one deadline rule, `triage.engine.deadline_for`, with a short grace for imminent
cases; the board, the queues, "My tasks", the dashboard and the sweeps read it the same way."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from cases import operations as ops
from cases import sweeps
from cases.models import Case
from cases.reporting import figures
from cases.reporting.periods import parse_period
from cellule.extensions import db
from cellule.types import utcnow
from triage.business_time import BusinessCalendar
from triage.calendar import get_calendar
from triage.engine import deadline_for

SATURDAY_NIGHT = datetime(2026, 3, 7, 22, 0, tzinfo=UTC)  # the cell is closed


@pytest.mark.parametrize(("grace", "expected"), [
    (15, SATURDAY_NIGHT + timedelta(minutes=15)),  # the default: clock time, any hour
    (0, SATURDAY_NIGHT),
    (45, SATURDAY_NIGHT + timedelta(minutes=45)),
])
def test_imminent_is_due_after_the_grace_in_clock_time(grace, expected):
    calendar = BusinessCalendar(imminent_grace_minutes=grace)
    assert deadline_for("imminent", SATURDAY_NIGHT, calendar) == expected
    # The other levels keep their business-time deadlines (SPEC): Monday's opening + 4 h.
    assert deadline_for("high", SATURDAY_NIGHT, calendar) == datetime(
        2026, 3, 9, 11, 30, tzinfo=UTC)


def test_a_negative_grace_is_refused():
    with pytest.raises(ValueError, match="grace"):
        BusinessCalendar(imminent_grace_minutes=-1)


def test_the_grace_is_a_setting(app):
    assert app.config["CELLULE_IMMINENT_GRACE_MINUTES"] == 15
    assert get_calendar(app).imminent_grace == timedelta(minutes=15)


def test_an_imminent_case_and_its_alerts_are_due_with_the_grace(app, triage, make_user):
    supervisor = make_user("supervisor")
    run, case = triage("imminent", at=SATURDAY_NIGHT)
    assert case.due_at == SATURDAY_NIGHT + timedelta(minutes=15)
    assert run.final_due_at == case.due_at
    alerts = [t for t in ops_tasks(case) if t.code == "imminent_alert"]
    assert [t.assignee_id for t in alerts] == [supervisor.id]
    assert alerts[0].due_at >= SATURDAY_NIGHT and not alerts[0].is_overdue(alerts[0].due_at)


def ops_tasks(case):
    from cases import queries

    return queries.case_tasks(case)


def _row(html, marker):
    """The table row naming `marker` (not the alert panel above the table)."""
    start = html.index(marker, html.index("<tbody"))
    return html[html.rindex("<tr", 0, start):html.index("</tr>", start)]


def _english(client):
    client.post_form("/language", {"language": "en"})


def test_a_fresh_imminent_case_is_not_late_anywhere(client, login_as, triage):
    login_as("supervisor")
    _english(client)
    _run, case = triage("imminent")
    for url in ("/board", "/queues/psychology"):
        row = _row(client.get(url).get_data(as_text=True), f">{case.reference}<")
        assert "flagged" not in row and "badge-flag" not in row, url
        assert re.search(r"due in 1[45] min", row), url
    row = _row(client.get("/my/tasks").get_data(as_text=True), f">{case.reference}<")
    assert "flagged" not in row and "due in" in row
    assert f'id="case-row-{case.id}"' not in client.get("/board?overdue=true").get_data(
        as_text=True)


def test_an_imminent_case_past_the_grace_is_late_everywhere_alike(client, login_as, triage):
    login_as("supervisor")
    _english(client)
    _run, case = triage("imminent", at=utcnow() - timedelta(minutes=20))
    for url in ("/board", "/queues/psychology", "/my/tasks"):
        row = _row(client.get(url).get_data(as_text=True), f">{case.reference}<")
        assert 'class="flagged"' in row and "badge-flag" in row, url
        assert re.search(r"late by [45] min", row), url
    assert f'id="case-row-{case.id}"' in client.get("/board?overdue=true").get_data(
        as_text=True)
    # The deadline sweep escalates the same case to the supervisors.
    now = utcnow()
    waiting = sweeps._waiting_cases(now - sweeps.HORIZON, now)
    assert case.id in [c.id for c in waiting]


def test_an_imminent_case_answered_within_the_grace_is_on_time_on_the_dashboard(
        app, triage, make_user):
    psychologist = make_user("psychologist")
    _r, quick = triage("imminent", at=SATURDAY_NIGHT)
    _r, slow = triage("imminent", at=SATURDAY_NIGHT + timedelta(minutes=1))
    _r, waiting = triage("imminent", at=SATURDAY_NIGHT + timedelta(minutes=2))
    ops.record_first_response(quick, psychologist, at=SATURDAY_NIGHT + timedelta(minutes=10))
    ops.record_first_response(slow, psychologist, at=SATURDAY_NIGHT + timedelta(minutes=40))
    db.session.commit()
    now = SATURDAY_NIGHT + timedelta(minutes=5)  # the third is still within its grace
    period = parse_period({"preset": "custom", "from": "2026-03-01", "to": "2026-03-31"},
                          now=now)
    line = figures.first_response_section(period, now)["levels"]["imminent"]
    assert (line["on_time"], line["late"], line["pending"]) == (1, 1, 1)
    assert line["share_on_time"] == 0.5  # not 0 % by construction
    later = figures.first_response_section(period, now + timedelta(hours=1))
    assert later["levels"]["imminent"]["late"] == 2
    assert db.session.get(Case, waiting.id).first_response_at is None
