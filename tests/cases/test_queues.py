"""Queues, the board's keyset pagination and capped counts, my tasks."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cases import operations as ops
from cases import queries
from cases.models import Case
from cellule.extensions import db


def _cases(n, level="serious", due=None):
    base = due or datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    for i in range(n):
        ops.open_case(person_id=None, level=level, route="psychologist",
                      due_at=base + timedelta(minutes=i // 2), actor=None)
    db.session.commit()


def test_keyset_pagination_walks_every_case_once(app, make_user):
    _cases(7)
    ops.open_case(person_id=None, level="low", route="information", due_at=None, actor=None)
    ops.open_case(person_id=None, level="low", route="information", due_at=None, actor=None)
    db.session.commit()
    supervisor = make_user("supervisor")
    stmt = queries.cases_query(supervisor, {"status": "active"})
    seen, cursor = [], None
    while True:
        rows, cursor = queries.keyset_page(stmt, Case, cursor, limit=3)
        seen.extend(rows)
        if cursor is None:
            break
    assert len(seen) == len({c.id for c in seen}) == 9
    dues = [c.due_at for c in seen if c.due_at]
    assert dues == sorted(dues) and seen[-1].due_at is None  # no deadline last


def test_capped_count(app, make_user):
    _cases(5)
    supervisor = make_user("supervisor")
    stmt = queries.cases_query(supervisor, {"status": "active"})
    assert queries.capped_count(stmt, Case.id, cap=3) == (3, True)
    assert queries.capped_count(stmt, Case.id, cap=10) == (5, False)


def test_board_shows_capped_count_and_paginates(client, login_as, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    login_as("supervisor")
    _cases(5)
    page = client.get("/board")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "3+" in html and "cursor=" in html
    assert html.count('id="case-row-') == 2


def test_board_filters(client, login_as, triage):
    login_as("supervisor")
    _run, serious = triage("serious")
    _run, coaching = triage("at_risk")
    html = client.get("/board?route=coaching").get_data(as_text=True)
    assert coaching.reference in html and serious.reference not in html
    html = client.get("/board?level=serious").get_data(as_text=True)
    assert serious.reference in html and coaching.reference not in html
    html = client.get("/board?overdue=true").get_data(as_text=True)
    assert serious.reference not in html


def test_a_filter_change_returns_only_the_results(client, login_as, triage):
    login_as("supervisor")
    _run, serious = triage("serious")
    _run, coaching = triage("at_risk")
    response = client.get("/board?route=coaching&level=",
                          headers={"HX-Request": "true", "HX-Target": "board-results"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="board-results">') and "<form" in html  # rows
    assert 'role="search"' not in html and "<html" not in html  # not the filters, no page
    assert coaching.reference in html and serious.reference not in html
    html = client.get("/board?level=nonsense", headers={
        "HX-Request": "true", "HX-Target": "board-results"}).get_data(as_text=True)
    assert 'role="alert"' in html and "level" in html  # said in the results, not lost


def test_psychology_queue_oldest_deadline_first(client, login_as, triage):
    login_as("psychologist")
    _r, later = triage("elevated")
    _r, sooner = triage("high")
    _r, coaching = triage("at_risk")
    html = client.get("/queues/psychology").get_data(as_text=True)
    assert html.index(sooner.reference) < html.index(later.reference)
    assert coaching.reference not in html and "badge-high" in html


def test_my_tasks_overdue_first(client, login_as, triage):
    advisor = login_as("advisor")
    now = ops.utcnow()
    later = ops.create_task(title="Plus tard", kind="callback", actor=advisor,
                            assignee=advisor, due_at=now + timedelta(days=1))
    overdue = ops.create_task(title="En retard", kind="callback", actor=advisor,
                              assignee=advisor, due_at=now - timedelta(days=1))
    db.session.commit()
    html = client.get("/my/tasks").get_data(as_text=True)
    assert html.index("En retard") < html.index("Plus tard")
    assert later.id and overdue.id
    assert db.session.scalars(select(Case)).all() == []


def test_imminent_alert_on_the_supervisor_home_page(client, login_as, triage):
    supervisor = login_as("supervisor")
    _run, case = triage("imminent")
    html = client.get("/").get_data(as_text=True)
    assert case.reference in html and "alert-panel" in html
    html = client.get("/board").get_data(as_text=True)
    assert "alert-panel" in html and case.reference in html
    assert supervisor.on_duty


@pytest.mark.parametrize("bad", ["²", "٣", "99999999999999999999", "-1", "0", " "])
def test_odd_numbers_in_case_forms_are_refused_not_a_500(client, login_as, triage, bad):
    """Unicode digits and numbers beyond the ids' range: a clear refusal, nothing written."""
    login_as("supervisor")
    _run, case = triage("serious")
    version = case.version
    response = client.post_form(f"/cases/{case.id}/reassign",
                                {"assignee_id": bad, "version": bad})
    assert response.status_code == 422
    assert "version" in response.get_data(as_text=True)
    response = client.post_form(f"/cases/{case.id}/referrals",
                                {"resource_id": bad, "version": str(version)})
    assert response.status_code in (404, 422)
    db.session.expire_all()
    assert db.session.get(Case, case.id).version == version
