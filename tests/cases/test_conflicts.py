"""One conflict mechanism for every versioned change of a case (issue 13): a change that
loses to another is a 409 carrying the case as it is now — in the API (`current`) and in
the HTML (the page or form again, "Closed by … at …") — wherever the loss surfaces: the
form's old version, the ORM's version counter at a flush or at the commit, a conditional
UPDATE. Acting on a case closed meanwhile is a 409 too, never a 403; a role that may
never act is still 403, a case one may not see still 404.

`meanwhile` makes the other person's change happen at the worst moment: after the
request read the case, before it writes — a real second session on its own connection,
committed, exactly what a concurrent request does.
"""

import threading
import traceback

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from cases import operations as ops
from cases.models import Case, CaseEvent
from cellule.extensions import db
from cellule.models import User
from tests.conftest import follow_nav


def _case(case_id):
    db.session.expire_all()
    return db.session.get(Case, case_id)


@pytest.fixture
def meanwhile(app, monkeypatch):
    """`meanwhile("close_case", change)`: the first time the request calls
    `cases.operations.<name>`, `change(case_id)` runs first, in another thread with its
    own session and connection, and commits; then the request's own call goes on with
    the case it read before."""

    def install(name, change):
        original = getattr(ops, name)
        done = []

        def wrapper(*args, **kwargs):
            if not done:
                done.append(True)
                case_id = args[0] if isinstance(args[0], int) else args[0].id
                errors = []

                def other():
                    try:
                        with app.app_context():
                            change(case_id)
                            db.session.commit()
                            db.session.remove()
                    except Exception:  # surfaced by the assertion below
                        errors.append(traceback.format_exc())

                thread = threading.Thread(target=other)
                thread.start()
                thread.join(30)
                assert not errors, errors
            return original(*args, **kwargs)

        monkeypatch.setattr(ops, name, wrapper)

    return install


def close_by(user_id):
    def change(case_id):
        case, user = db.session.get(Case, case_id), db.session.get(User, user_id)
        ops.close_case(case, "resolved", user, case.version, safety_outcome="safety_plan",
                       default_task_status="cancelled")
    return change


def claim_by(user_id):
    def change(case_id):
        assert ops.claim_case(case_id, db.session.get(User, user_id))
    return change


def reassign_by(user_id, assignee_id):
    def change(case_id):
        case = db.session.get(Case, case_id)
        ops.reassign_case(case, db.session.get(User, assignee_id),
                          db.session.get(User, user_id), case.version)
    return change


def _closed_events(case_id):
    return db.session.scalar(select(func.count(CaseEvent.id)).where(
        CaseEvent.case_id == case_id, CaseEvent.kind == "closed"))


# --------------------------------------------------------------------------- close


def test_api_close_losing_at_the_flush_is_409_with_the_winners_state(api_client, triage,
                                                                      make_user, meanwhile):
    client, _me = api_client("supervisor")
    _run, case = triage("serious")
    read = case.version
    winner = make_user("supervisor", name="Yves Premier")
    meanwhile("close_case", close_by(winner.id))
    response = client.post(f"/api/v1/cases/{case.id}/close",
                           json={"outcome": "declined", "version": read})
    assert response.status_code == 409, response.get_data(as_text=True)
    body = response.get_json()
    now = _case(case.id)
    assert "closed by Yves Premier" in body["error"]
    assert body["fields"] == {"version": f"stale: current version is {now.version}"}
    assert body["current"] == {
        "status": "closed", "version": now.version, "assignee": None,
        "closed_at": now.closed_at.isoformat(),
        "closed_by": {"id": winner.id, "name": "Yves Premier"}}
    assert now.outcome == "resolved" and _closed_events(case.id) == 1  # the winner's close


def test_html_close_losing_at_the_flush_shows_who_closed_it(client, login_as, triage,
                                                            make_user, meanwhile):
    login_as("psychologist")
    _run, case = triage("serious")
    winner = make_user("supervisor", name="Yves Premier")
    meanwhile("close_case", close_by(winner.id))
    response = client.post_form(f"/cases/{case.id}/close",
                                {"outcome": "declined", "version": str(case.version)})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'id="conflict"' in html and "Closed by Yves Premier at" in html
    assert 'name="outcome"' not in html  # nothing left to confirm: no form on a closed case
    assert _case(case.id).outcome == "resolved" and _closed_events(case.id) == 1
    # The htmx closing step gets the case page as it is now, swapped for the main region
    # (409s are swapped): not the step alone beside a header that still says "open".
    answer = client.htmx("POST", f"/cases/{case.id}/close",
                         {"outcome": "declined", "version": str(case.version)},
                         headers={"HX-Target": "close-step"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 409 and answer.headers["HX-Retarget"] == "#main"
    assert answer.headers["HX-Reselect"] == "#main"
    assert "Closed by Yves Premier at" in body and 'id="case-status"' in body


def test_a_close_losing_to_a_claim_says_who_took_it(api_client, triage, make_user,
                                                    meanwhile):
    client, _me = api_client("supervisor")
    _run, case = triage("serious")
    taker = make_user("psychologist", name="Zoé Rapide")
    meanwhile("close_case", claim_by(taker.id))
    response = client.post(f"/api/v1/cases/{case.id}/close",
                           json={"outcome": "resolved", "version": case.version})
    assert response.status_code == 409
    body = response.get_json()
    assert "taken by Zoé Rapide" in body["error"]
    assert body["current"]["status"] == "in_progress" and body["current"]["closed_by"] is None
    assert body["current"]["assignee"] == {"id": taker.id, "name": "Zoé Rapide"}
    assert _case(case.id).is_open


def test_acting_on_a_closed_case_is_409_not_403(app, client, api_client, triage, make_user,
                                                make_contact):
    """Closed meanwhile: the closer is told (409, by whom); a role that may never close is
    still refused (403), and a case one may not see stays hidden (404)."""
    api, _supervisor = api_client("supervisor")
    _run, case = triage("serious")
    read = case.version
    first = make_user("psychologist", name="Paula Première")
    close_by(first.id)(case.id)
    db.session.commit()

    response = api.post(f"/api/v1/cases/{case.id}/close",
                        json={"outcome": "resolved", "version": read})
    assert response.status_code == 409
    current = response.get_json()["current"]
    assert current["status"] == "closed" and current["closed_by"]["name"] == "Paula Première"
    assert api.post(f"/api/v1/cases/{case.id}/close",  # even with the version it has now
                    json={"outcome": "resolved", "version": current["version"]}
                    ).status_code == 409

    client.sign_in(make_user("supervisor"))
    for url, form in ((f"/cases/{case.id}/close", {"outcome": "resolved"}),
                      (f"/cases/{case.id}/level", {"level": "imminent"}),
                      (f"/cases/{case.id}/status", {"status": "waiting"}),
                      (f"/cases/{case.id}/response", {}),
                      (f"/cases/{case.id}/tasks", {"title": "Rappeler", "kind": "callback"})):
        response = client.post_form(url, {**form, "version": str(read)})
        assert response.status_code == 409, url
        assert "Closed by Paula Première at" in response.get_data(as_text=True), url
    step = client.htmx("GET", f"/cases/{case.id}/close", headers={"HX-Target": "close-step"})
    assert step.status_code == 409  # the closing step of a page shown before the close
    assert "Closed by Paula Première at" in step.get_data(as_text=True)

    advisor_api, _advisor = api_client("advisor")  # advisors never close a psychology case
    response = advisor_api.post(f"/api/v1/cases/{case.id}/close",
                                json={"outcome": "resolved", "version": current["version"]})
    assert response.status_code == 403
    assert "current" not in response.get_json()
    ambassador = make_user("ambassador")  # never closes
    other_client = app.test_client()
    other_client.sign_in(ambassador)
    assert other_client.post_form(f"/cases/{case.id}/close",
                                  {"outcome": "resolved", "version": str(read)}
                                  ).status_code == 403
    _run, own = triage("at_risk", user=ambassador, contact=make_contact(ambassador))
    other_api, _other = api_client("ambassador")
    assert other_api.get(f"/api/v1/cases/{own.id}").status_code == 404
    assert _closed_events(case.id) == 1


# --------------------------------------------------------------------------- claim


def test_claiming_a_closed_or_taken_case_is_409_with_its_state(client, api_client, login_as,
                                                               triage, make_user, meanwhile):
    _run, closed = triage("serious")
    close_by(make_user("supervisor", name="Yves Premier").id)(closed.id)
    db.session.commit()
    api, _psy = api_client("psychologist")
    response = api.post(f"/api/v1/cases/{closed.id}/claim")
    assert response.status_code == 409
    assert response.get_json()["current"]["closed_by"]["name"] == "Yves Premier"

    login_as("psychologist")
    response = client.post_form(f"/cases/{closed.id}/claim")
    assert response.status_code == 409
    assert "Closed by Yves Premier at" in response.get_data(as_text=True)

    # The case is closed between the page's load and the claim's conditional UPDATE.
    _run, racing = triage("serious")
    meanwhile("claim_case", close_by(make_user("supervisor", name="Xavier Vite").id))
    response = api.post(f"/api/v1/cases/{racing.id}/claim")
    assert response.status_code == 409
    current = response.get_json()["current"]
    assert current["status"] == "closed" and current["closed_by"]["name"] == "Xavier Vite"
    assert _case(racing.id).assignee_id is None


def test_a_claim_losing_to_another_claim_says_who_took_it(client, login_as, triage,
                                                          make_user, meanwhile):
    login_as("psychologist")
    _run, case = triage("serious")
    taker = make_user("psychologist", name="Zoé Rapide")
    meanwhile("claim_case", claim_by(taker.id))
    response = client.post_form(f"/cases/{case.id}/claim")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert f"Case {case.reference} was already taken by Zoé Rapide." in html
    assert _case(case.id).assignee_id == taker.id


# --------------------------------------------------------------------------- other changes


@pytest.mark.parametrize("operation,url,form", [
    ("reassign_case", "/cases/{id}/reassign", {"assignee_id": "{me}"}),
    ("raise_level", "/cases/{id}/level", {"level": "imminent"}),
    ("set_status", "/cases/{id}/status", {"status": "waiting"}),
    ("record_first_response", "/cases/{id}/response", {}),
    ("identify_person", "/cases/{id}/person", {"person_id": "{person}"}),
])
def test_every_versioned_change_losing_at_the_flush_is_a_409_page(
        client, login_as, triage, make_user, make_person, meanwhile, operation, url, form):
    me = login_as("supervisor")
    _run, case = triage("serious", person=None)
    other = make_user("supervisor", name="Yves Autre")
    new_assignee = make_user("psychologist", name="Zoé Autre")
    meanwhile(operation, reassign_by(other.id, new_assignee.id))
    values = {"id": case.id, "me": me.id, "person": make_person(name="Griet Claes").id}
    response = client.post_form(url.format(**values), {
        **{k: v.format(**values) for k, v in form.items()}, "version": str(case.version)})
    assert response.status_code == 409, response.get_data(as_text=True)[:500]
    html = response.get_data(as_text=True)
    assert 'id="conflict"' in html and "Taken by Zoé Autre." in html
    now = _case(case.id)
    assert f'name="version" value="{now.version}"' in html  # the forms are current again
    assert (now.assignee_id, now.level, now.status, now.first_response_at, now.person_id) == (
        new_assignee.id, "serious", "in_progress", None, None)  # only the other change


def test_board_bulk_reassign_of_a_case_closed_meanwhile_is_a_409_naming_it(
        client, login_as, triage, make_user, meanwhile):
    """Closed by someone else while the bulk reassign runs (between its read and its
    write): that case is left closed and named, the other ticked case is reassigned."""
    login_as("supervisor")
    client.post_form("/language", {"language": "en"})
    _run, case = triage("serious")
    _run, other = triage("elevated")
    meanwhile("reassign_case", close_by(make_user("psychologist", name="Paula Première").id))
    target = make_user("advisor")
    response = client.htmx("POST", "/board/reassign", MultiDict([
        ("cases", f"{case.id}:{case.version}"), ("cases", f"{other.id}:{other.version}"),
        ("assignee_id", str(target.id))]), headers={"HX-Target": "board-results"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="board-results">')
    assert case.reference in html and "closed by Paula Première at" in html
    assert f'id="pick-{case.id}"' not in html  # a closed row offers no box to tick
    assert _case(case.id).assignee_id is None and _case(case.id).status == "closed"
    assert _case(other.id).assignee_id == target.id


def test_a_triage_attaching_to_a_case_closed_meanwhile_is_409_not_500(
        api_client, triage, make_user, make_contact, meanwhile):
    """A versioned change outside the case views: the contact-triage API raises the
    person's open case, which someone closes meanwhile."""
    from triage.examples import LEVEL_ANSWERS

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: the triage holds the write lock from its "
                    "first insert, so a close waits for it (and is the one that loses)")

    client, advisor = api_client("advisor")
    contact = make_contact(advisor)
    _run, case = triage("at_risk", contact=contact)
    again = make_contact(advisor, person=contact.person)
    meanwhile("escalate", close_by(make_user("supervisor", name="Yves Premier").id))
    response = client.post(f"/api/v1/contacts/{again.id}/triage",
                           json={"answers": LEVEL_ANSWERS["serious"]})
    assert response.status_code == 409, response.get_data(as_text=True)
    assert response.get_json()["current"]["closed_by"]["name"] == "Yves Premier"
    assert _case(case.id).level == "at_risk"


def test_a_sign_off_lowering_a_case_closed_meanwhile_is_409_not_500(client, login_as, triage,
                                                                   make_user, meanwhile):
    """A versioned change made by another screen (the triage record's sign-off lowers the
    case): the conflict is still caught — a 409 page saying who closed it."""
    from cases.models import TriageRun
    from cases.routing import Decision

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: the sign-off holds the write lock from its "
                    "first update, so a close waits for it (and is the one that loses)")
    downgrade = Decision(level="at_risk", route="coaching", coaching_resource_id=0,
                         reason="Suivi déjà en place chez un coach.")
    run, case = triage("elevated", user=make_user("psychologist"), decision=downgrade)
    login_as("supervisor")
    meanwhile("add_event", close_by(make_user("psychologist", name="Paula Première").id))
    response = client.post_form(f"/triage/runs/{run.id}/signoff", {"decision": "approve"})
    assert response.status_code == 409
    assert "Closed by Paula Première at" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(TriageRun, run.id).signoff_state == "pending"  # nothing half-done
    assert _case(case.id).level == "elevated" and _closed_events(case.id) == 1


def test_the_409_and_its_current_state_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    conflict = spec["components"]["schemas"]["Conflict"]
    state = spec["components"]["schemas"]["CaseState"]
    assert set(state["required"]) == {"status", "version", "assignee", "closed_at",
                                      "closed_by"}
    assert "current" in conflict["allOf"][1]["required"]
    for path in ("/cases/{id}/claim", "/cases/{id}/close", "/contacts/{id}/triage"):
        answer = spec["paths"][path]["post"]["responses"]["409"]
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Conflict"}, path


@pytest.mark.browser
def test_in_the_browser_a_close_that_lost_shows_who_closed_it(page, browser_login, triage,
                                                              make_user):
    """The psychologist fills in the closing step; a supervisor closes the case first;
    confirming brings the case page back as it is now: closed, by whom and when."""
    from playwright.sync_api import expect

    _run, case = triage("serious")
    browser_login(make_user("psychologist"))
    follow_nav(page, "Psychology queue")
    page.get_by_role("link", name=case.reference).click()
    page.get_by_role("link", name="Close the case…").click()
    step = page.get_by_role("region", name=f"Close case {case.reference}")
    step.get_by_label("Outcome").select_option(label="Resolved")

    close_by(make_user("supervisor", name="Yves Premier").id)(case.id)  # first, elsewhere
    db.session.commit()
    step.get_by_role("button", name="Confirm and close the case").click()

    # The whole case page comes back as it is now, the conflict on top.
    expect(page.locator("#conflict")).to_contain_text("Closed by Yves Premier at")
    expect(page.locator("#case-status")).to_contain_text("Closed")
    expect(page.get_by_role("button", name="Confirm and close the case")).to_have_count(0)
    expect(page.get_by_role("button", name="Claim", exact=True)).to_have_count(0)
    expect(page.locator("main")).to_have_count(1)
