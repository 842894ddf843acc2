"""Race-safety: two claims at once, stale edits (409 in the API, a re-rendered form in the UI)."""

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cases import operations as ops
from cases.models import Case, CaseEvent
from cellule.extensions import db
from tests.servers import released_together


def _race(app, functions):
    """Run the functions in real threads (each its own app context and connection) at once."""
    def in_context(function):
        def run():
            with app.app_context():
                try:
                    return function()
                finally:
                    db.session.remove()
        return run

    return released_together([in_context(f) for f in functions], timeout=10)


def test_two_concurrent_claims_exactly_one_wins(app, triage, make_user):
    _run, case = triage("serious")
    psychologists = [make_user("psychologist"), make_user("psychologist")]
    case_id = case.id

    def claim(user_id):
        def go():
            from cellule.models import User

            user = db.session.get(User, user_id)
            won = ops.claim_case(case_id, user)
            if won:
                db.session.commit()
            return won
        return go

    for _attempt in range(3):  # the race is real: repeat it on fresh cases
        results = _race(app, [claim(p.id) for p in psychologists])
        assert sorted(results) == [False, True]
        db.session.expire_all()
        claimed = db.session.get(Case, case_id)
        winner = psychologists[results.index(True)]
        assert claimed.assignee_id == winner.id and claimed.status == "in_progress"
        events = db.session.scalars(select(CaseEvent).where(
            CaseEvent.case_id == case_id, CaseEvent.kind == "claimed")).all()
        assert [e.actor_id for e in events] == [winner.id]
        _run, case = triage("serious")
        case_id = case.id


def test_stale_close_is_409_in_the_api(api_client, triage, make_user):
    client, _user = api_client("supervisor")
    _run, case = triage("serious")
    version = case.version
    # Someone else changes the case first.
    ops.reassign_case(case, make_user("psychologist"), make_user("supervisor"), version)
    db.session.commit()
    response = client.post(f"/api/v1/cases/{case.id}/close",
                           json={"outcome": "resolved", "version": version})
    assert response.status_code == 409
    body = response.get_json()
    assert "version" in body["fields"] and body["error"]
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "in_progress"  # not closed: no lost update


def test_stale_edit_rerenders_the_form_with_the_other_change(client, login_as, triage,
                                                            make_user):
    supervisor = login_as("supervisor")
    _run, case = triage("serious")
    stale_version = case.version
    other = make_user("psychologist", name="Zoé Autre")
    ops.reassign_case(case, other, make_user("supervisor", name="Yves Superviseur"),
                      stale_version)
    db.session.commit()
    response = client.post_form(f"/cases/{case.id}/level",
                                {"level": "high", "version": str(stale_version)})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'id="conflict"' in page
    assert "Yves Superviseur" in page and "Zoé Autre" in page  # the other person's change
    assert f'name="version" value="{stale_version + 1}"' in page  # the form is current again
    db.session.expire_all()
    assert db.session.get(Case, case.id).level == "serious"
    assert supervisor.role == "supervisor"


def test_board_bulk_reassign_stale_is_409_naming_the_winner(client, login_as, triage,
                                                            make_user):
    login_as("supervisor")
    _run, case = triage("serious")
    stale = case.version
    winner = make_user("psychologist", name="Rapide")
    ops.reassign_case(case, winner, make_user("supervisor"), stale)
    db.session.commit()
    target = make_user("psychologist")
    response = client.htmx("POST", "/board/reassign",
                           {"cases": f"{case.id}:{stale}", "assignee_id": str(target.id)},
                           headers={"HX-Target": "board-results"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="board-results">') and "Rapide" in html
    response = client.htmx("POST", "/board/reassign",
                           {"cases": f"{case.id}:{stale + 1}", "assignee_id": str(target.id)},
                           headers={"HX-Target": "board-results"})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Case, case.id).assignee_id == target.id


def test_orm_version_counter_refuses_a_concurrent_write(app, triage, make_user):
    """Two sessions read version N; the second write is refused, never silently applied."""
    from sqlalchemy.orm import Session

    _run, case = triage("serious")
    with Session(db.engine) as first, Session(db.engine) as second:
        a = first.get(Case, case.id)
        b = second.get(Case, case.id)
        a.status = "waiting"
        first.commit()
        b.status = "in_progress"
        import pytest
        from sqlalchemy.orm.exc import StaleDataError

        with pytest.raises(StaleDataError):
            second.commit()


def test_concurrent_case_references_are_all_different(app):
    def allocate():
        reference = ops.allocate_reference()
        db.session.commit()
        return reference

    references = _race(app, [allocate] * 6)
    assert len(set(references)) == 6
    numbers = sorted(int(r.rsplit("-", 1)[1]) for r in references)
    assert numbers == list(range(numbers[0], numbers[0] + 6))  # no gap when nothing failed


def test_an_open_transaction_does_not_hold_up_the_next_reference(app):
    """The counter is not locked until the end of the request that opens a case (PostgreSQL)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: the reference joins the request's transaction")
    first = ops.allocate_reference()  # this session's transaction stays open
    done = {}

    def other():
        with app.app_context():
            db.session.execute(db.text("SET lock_timeout = '3s'"))
            done["reference"] = ops.allocate_reference()
            db.session.commit()
            db.session.remove()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(10)
    db.session.rollback()  # the request fails after all: its number is a gap, nobody waits
    assert done.get("reference"), "the second allocation waited on the first transaction"
    assert int(done["reference"].rsplit("-", 1)[1]) == int(first.rsplit("-", 1)[1]) + 1


def test_the_year_sequence_goes_on_from_the_counter_of_an_earlier_release(app):
    """An upgrade mid-year: the cases numbered by `case_counters` before the sequences
    existed are not numbered again (PostgreSQL)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite numbers with the counter row itself")
    from cases.models import CaseCounter

    db.session.add(CaseCounter(year=2031, last=41))
    db.session.commit()
    first = ops.allocate_reference(datetime(2031, 3, 2, tzinfo=UTC))
    second = ops.allocate_reference(datetime(2031, 3, 2, tzinfo=UTC))
    db.session.commit()
    assert (first, second) == ("CEL-2031-000042", "CEL-2031-000043")
