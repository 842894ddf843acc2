"""The supervisor board (issue 18): person, age, deadline said as late or time left, the
orders (deadline, age, level) paged by keyset with cursors bound to their order, the bulk
reassign (one transaction, audited per case, 409 naming a case changed meanwhile)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from cases import operations as ops
from cases import queries
from cases.models import Case, CaseEvent
from cellule.extensions import db
from cellule.models import AuditEvent
from cellule.types import utcnow


def _open(level, due, opened=None, person_id=None):
    case = ops.open_case(person_id=person_id, level=level, route="psychologist", due_at=due,
                         actor=None)
    if opened:
        case.opened_at = opened
    return case


def _english(client):
    client.post_form("/language", {"language": "en"})


def _order(html):
    return re.findall(r'id="case-row-(\d+)"', html)


def test_the_board_names_the_person_and_says_late_and_time_left(client, login_as, triage):
    login_as("supervisor")
    _english(client)
    _run, serious = triage("serious")
    late = _open("high", utcnow() - timedelta(hours=2, minutes=5))
    db.session.commit()
    html = client.get("/board").get_data(as_text=True)
    row = html[html.index(f'id="case-row-{late.id}"'):]
    row = row[:row.index("</tr>")]
    assert 'class="flagged"' in row and "late by 2 hr" in row and "badge-flag" in row
    assert "Anonymous" in row  # no person yet
    row = html[html.index(f'id="case-row-{serious.id}"'):]
    row = row[:row.index("</tr>")]
    assert "flagged" not in row and "due in" in row
    assert serious.person.name in row
    assert 'class="reference"' in row  # references keep to one line (CSS nowrap)
    assert "<select" not in row and "<button" not in row  # a box to tick, no form per row
    assert f'value="{serious.id}:{serious.version}"' in row


@pytest.mark.parametrize("sort", ["due", "age", "level"])
def test_each_order_walks_every_case_once_by_keyset(client, login_as, monkeypatch, sort):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    login_as("supervisor")
    base = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    levels = ["serious", "imminent", "high", "serious", "elevated", "high", "low"]
    for i, level in enumerate(levels):
        _open(level, None if level == "low" or i == 3 else base + timedelta(hours=i % 3),
              opened=base - timedelta(days=i * 3 % 5, minutes=i))
    db.session.commit()
    seen, url = [], f"/board?sort={sort}"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [int(i) for i in _order(html)]
        found = re.search(r'href="(/board\?cursor=[^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
        if url:
            assert f"sort={sort}" in url  # the next page keeps the order
    cases = [db.session.get(Case, i) for i in seen]
    assert len(seen) == len(set(seen)) == len(levels)
    if sort == "age":
        keys = [(c.opened_at, c.id) for c in cases]
        assert keys == sorted(keys)
    elif sort == "level":
        far = datetime(9999, 1, 1, tzinfo=UTC)
        keys = [(-queries.LEVELS.index(c.level), c.due_at or far, c.id) for c in cases]
        assert keys == sorted(keys) and cases[0].level == "imminent"
    else:
        dated = [c.due_at for c in cases if c.due_at]
        assert dated == sorted(dated) and cases[-1].due_at is None


def test_a_cursor_only_pages_the_order_that_issued_it(client, login_as, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 1)
    login_as("supervisor")
    for i in range(3):
        _open("serious", utcnow() + timedelta(hours=i))
    db.session.commit()
    html = client.get("/board?sort=age").get_data(as_text=True)
    cursor = re.search(r"cursor=([^&\"]+)", html).group(1)
    assert client.get(f"/board?sort=age&cursor={cursor}").status_code == 200
    for other in ("due", "level"):
        assert client.get(f"/board?sort={other}&cursor={cursor}").status_code == 400
    assert client.get("/board?sort=level&cursor=WyJ4Il0.forged").status_code == 400
    assert client.get("/board?sort=nonsense").status_code == 200  # unknown: by deadline


def _bulk(client, cases, assignee, **filters):
    data = [("cases", f"{c.id}:{c.version}") for c in cases]
    data += [("assignee_id", str(assignee.id) if assignee else "")] + list(filters.items())
    data.append(("csrf_token", client.csrf_token()))
    return client.htmx("POST", "/board/reassign", data=MultiDict(data),
                       headers={"HX-Target": "board-results"})


def test_bulk_reassign_gives_every_ticked_case_audited_each(client, login_as, triage,
                                                            make_user):
    supervisor = login_as("supervisor")
    _english(client)
    cases = [triage(level)[1] for level in ("serious", "elevated", "high")]
    psychologist = make_user("psychologist", name="Dirk Psycholoog")
    response = _bulk(client, cases[:2], psychologist, sort="level")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="board-results">')
    assert "2 cases reassigned to Dirk Psycholoog." in html
    assert 'name="sort" value="level"' in html  # the board as it was shown, again
    db.session.expire_all()
    assignees = [db.session.get(Case, c.id).assignee_id for c in cases]
    assert assignees == [psychologist.id, psychologist.id, None]
    for case in cases[:2]:
        events = db.session.scalars(select(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == "reassigned")).all()
        assert [(e.actor_id, e.detail["after"]) for e in events] == [
            (supervisor.id, psychologist.id)]
        audit = db.session.scalars(select(AuditEvent).where(
            AuditEvent.object_type == "case", AuditEvent.object_id == str(case.id),
            AuditEvent.action == "update")).all()
        assert any("assignee_id" in (a.detail or "") for a in audit)


def test_bulk_reassign_names_a_case_changed_meanwhile_409(client, login_as, triage, make_user):
    login_as("supervisor")
    _english(client)
    kept, taken, closed = (triage("serious")[1] for _ in range(3))
    shown = [(c, c.version) for c in (kept, taken, closed)]
    winner = make_user("psychologist", name="Rapide Premier")
    ops.reassign_case(taken, winner, make_user("supervisor"), taken.version)
    db.session.commit()
    closer = make_user("psychologist", name="Paula Première")
    ops.close_case(closed, "resolved", closer, closed.version, safety_outcome="safety_plan",
                   default_task_status="cancelled")
    db.session.commit()
    target = make_user("psychologist", name="Dirk Psycholoog")
    data = [("cases", f"{c.id}:{v}") for c, v in shown]
    data += [("assignee_id", str(target.id)), ("csrf_token", client.csrf_token())]
    response = client.htmx("POST", "/board/reassign", data=MultiDict(data),
                           headers={"HX-Target": "board-results"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "1 case reassigned to Dirk Psycholoog." in html
    assert taken.reference in html and "now assigned to Rapide Premier" in html
    assert closed.reference in html and "closed by Paula Première at" in html
    assert "2 cases were not reassigned:" in html
    db.session.expire_all()
    assert db.session.get(Case, kept.id).assignee_id == target.id
    assert db.session.get(Case, taken.id).assignee_id == winner.id  # the other change stays


def test_bulk_reassign_refusals_are_422_and_change_nothing(client, login_as, triage,
                                                         make_user):
    login_as("supervisor")
    _english(client)
    _run, case = triage("serious")
    response = _bulk(client, [case], None)
    assert response.status_code == 422
    assert "Choose a case worker." in response.get_data(as_text=True)
    response = _bulk(client, [], make_user("psychologist"))
    assert response.status_code == 422
    assert "Select at least one case." in response.get_data(as_text=True)
    response = _bulk(client, [case], make_user("ambassador"))
    assert response.status_code == 422
    forged = client.htmx("POST", "/board/reassign", data={
        "cases": "1:x", "assignee_id": str(make_user("psychologist").id),
        "csrf_token": client.csrf_token()}, headers={"HX-Target": "board-results"})
    assert forged.status_code == 422
    db.session.expire_all()
    assert db.session.get(Case, case.id).assignee_id is None


def test_only_supervisors_bulk_reassign(client, login_as, triage, make_user):
    login_as("psychologist")
    _run, case = triage("serious")
    assert _bulk(client, [case], make_user("psychologist")).status_code == 403


def test_without_htmx_the_bulk_reassign_answers_the_whole_board(client, login_as, triage,
                                                                 make_user):
    login_as("supervisor")
    _run, case = triage("serious")
    response = client.post_form("/board/reassign", {
        "cases": f"{case.id}:{case.version}", "assignee_id": str(make_user("advisor").id)})
    assert response.status_code == 200
    assert 'role="search"' in response.get_data(as_text=True)
