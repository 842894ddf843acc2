"""The triage screen from a contact: sections, skip logic, crisis panel, decision, hang-up,
sign-off — and the case timeline it leaves behind."""

import re

from sqlalchemy import select

from cases.models import Case, CaseEvent, Task, TriageRun
from cellule.extensions import db

from .conftest import LEVEL_ANSWERS

SECTIONS = ("safety", "distress", "burnout", "context", "buffers")


def _section_items(section):
    from triage.loader import get_script

    return {i.id for i in get_script("cellule-triage").section(section).items}


def _walk(client, contact, answers, stop_after=None):
    """Post every section's answers like the browser; return the last response."""
    response = client.post_form(f"/contacts/{contact.id}/triage",
                                {k: str(v) for k, v in answers.items()
                                 if k in _section_items("safety")})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    run = db.session.scalars(select(TriageRun).order_by(TriageRun.id.desc())).first()
    for section in SECTIONS[1:]:
        if stop_after == section:
            break
        data = {k: str(v) for k, v in answers.items() if k in _section_items(section)}
        response = client.post_form(f"/triage/runs/{run.id}/sections/{section}", data)
        assert response.status_code in (200, 302), response.get_data(as_text=True)[:800]
    return run, response


def test_full_walk_to_a_serious_case(client, login_as, make_contact):
    advisor = login_as("advisor")
    client.post_form("/language", {"language": "en"})
    contact = make_contact(advisor)
    page = client.get(f"/contacts/{contact.id}/triage").get_data(as_text=True)
    assert "cssrs_1_wish_dead" in page and "cssrs_3_method" not in page  # skip logic
    run, response = _walk(client, contact, LEVEL_ANSWERS["serious"])
    proposal = client.get(f"/triage/runs/{run.id}?step=proposal")
    html = proposal.get_data(as_text=True)
    assert "badge-serious" in html and "crisis-panel" in html
    # The crisis tick is required before finishing.
    response = client.post_form(f"/triage/runs/{run.id}/decide",
                                {"level": "serious", "route": "psychologist"})
    assert response.status_code == 422
    assert "crisis numbers" in response.get_data(as_text=True)
    response = client.post_form(f"/triage/runs/{run.id}/decide",
                                {"level": "serious", "route": "psychologist",
                                 "resources_given": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    run = db.session.get(TriageRun, run.id)
    assert run.state == "decided" and run.resources_given and run.case.queue == "psychology"
    assert run.answers == LEVEL_ANSWERS["serious"]
    assert run.evaluation["level"] == "serious" and run.decided_by_id == advisor.id


def test_live_preview_reveals_follow_ups_and_crisis_panel(client, login_as, make_contact):
    advisor = login_as("advisor")
    contact = make_contact(advisor)
    response = client.htmx("POST", f"/contacts/{contact.id}/triage/live",
                           {"section": "safety", "cssrs_2_thoughts": "yes"},
                           headers={"HX-Target": "triage-live"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="triage-live"' in html
    for item in ("cssrs_3_method", "cssrs_4_intent", "cssrs_5_plan", "acute_now"):
        assert f'name="{item}"' in html
    assert "crisis-panel" in html and "0800 32 123" in html and "112" in html
    response = client.htmx("POST", f"/contacts/{contact.id}/triage/live",
                           {"section": "safety", "cssrs_2_thoughts": "no"},
                           headers={"HX-Target": "triage-live"})
    html = response.get_data(as_text=True)
    assert 'name="cssrs_3_method"' not in html and "crisis-panel" not in html
    assert db.session.query(TriageRun).count() == 0  # the preview stores nothing


def test_dutch_person_gets_dutch_crisis_line(client, login_as, make_contact, make_person):
    advisor = login_as("advisor")
    contact = make_contact(advisor, person=make_person(created_by=advisor, language="nl"))
    response = client.htmx("POST", f"/contacts/{contact.id}/triage/live",
                           {"section": "safety", "cssrs_1_wish_dead": "yes"},
                           headers={"HX-Target": "triage-live"})
    html = response.get_data(as_text=True)
    assert "1813" in html and "0800 32 123" not in html


def test_validation_names_the_question(client, login_as, make_contact):
    advisor = login_as("advisor")
    client.post_form("/language", {"language": "en"})
    contact = make_contact(advisor)
    response = client.htmx("POST", f"/contacts/{contact.id}/triage",
                           {"cssrs_1_wish_dead": "yes", "action": "next"},
                           headers={"HX-Target": "triage-step"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'href="#q-cssrs_2_thoughts"' in html and 'href="#q-acute_now"' in html
    assert "Avez-vous réellement pensé à vous tuer" in html  # the question, by name
    assert 'aria-describedby="err-cssrs_2_thoughts"' in html


def test_htmx_section_swap_focuses_the_new_heading(client, login_as, make_contact):
    advisor = login_as("advisor")
    contact = make_contact(advisor)
    data = {k: v for k, v in LEVEL_ANSWERS["low"].items() if k in _section_items("safety")}
    response = client.htmx("POST", f"/contacts/{contact.id}/triage", {**data, "action": "next"},
                           headers={"HX-Target": "triage-step"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'<h2 id="step-heading" tabindex="-1" autofocus>', html)
    assert 'name="phq_1_interest"' in html
    assert response.headers.get("HX-Push-Url", "").startswith("/triage/runs/")


def test_person_hung_up_saves_an_incomplete_run_and_a_follow_up(client, login_as,
                                                                  make_contact):
    advisor = login_as("advisor")
    contact = make_contact(advisor)
    response = client.post_form(f"/contacts/{contact.id}/triage", {
        "cssrs_1_wish_dead": "yes", "cssrs_2_thoughts": "no", "action": "hangup"})
    assert response.status_code == 302
    run = db.session.scalars(select(TriageRun)).one()
    assert run.state == "incomplete" and not run.complete
    assert run.final_level == "serious"  # the level of what was answered
    assert run.case is not None and run.case.queue == "psychology"
    task = db.session.scalar(select(Task).where(Task.kind == "complete_triage"))
    assert task.assignee_id == advisor.id and task.triage_run_id == run.id
    assert task.due_at is not None and task.case_id == run.case_id


def test_sign_off_flow(client, login_as, make_contact, make_user, triage):
    from cases import routing

    advisor = make_user("advisor")
    run, case = triage("elevated", user=advisor, decision=routing.Decision(
        level="at_risk", route="coaching", reason="Suivi déjà en place chez un coach.",
        coaching_resource_id=0))
    assert case.level == "elevated" and run.signoff_state == "pending"
    psychologist = login_as("psychologist")
    tasks = client.get("/my/tasks").get_data(as_text=True)
    assert f"/triage/runs/{run.id}" in tasks  # the sign-off pool
    record = client.get(f"/triage/runs/{run.id}").get_data(as_text=True)
    assert f'action="/triage/runs/{run.id}/signoff"' in record
    response = client.post_form(f"/triage/runs/{run.id}/signoff", {"decision": "approve"})
    assert response.status_code == 302
    db.session.expire_all()
    run = db.session.get(TriageRun, run.id)
    case = db.session.get(Case, case.id)
    assert run.signoff_state == "approved" and run.signoff_by_id == psychologist.id
    assert (case.level, case.route, case.queue) == ("at_risk", "coaching", "advisors")
    event = db.session.scalar(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "level_changed"))
    assert event.detail["approved_by"] == psychologist.id
    assert db.session.scalar(select(Task).where(Task.kind == "sign_off")).status == "done"
    # Advisors may not sign off.
    client.post_form("/logout")
    login_as("advisor")
    assert client.post_form(f"/triage/runs/{run.id}/signoff",
                            {"decision": "approve"}).status_code == 403


def test_timeline_is_complete(client, login_as, make_user, triage, resources, make_contact):
    advisor = make_user("advisor")
    contact = make_contact(advisor)
    _run, case = triage("serious", user=advisor, contact=contact)
    psychologist = login_as("psychologist")
    assert client.post_form(f"/cases/{case.id}/claim", {}).status_code == 302
    client.post_form(f"/cases/{case.id}/notes", {"body": "Entretien", "visibility": "clinical"})
    client.post_form(f"/cases/{case.id}/tasks", {"title": "Rappel", "kind": "callback"})
    client.post_form(f"/cases/{case.id}/referrals",
                     {"resource_id": str(resources["Fiches « Gérer son stress »"].id)})
    client.post_form(f"/cases/{case.id}/response", {})
    outbound = make_contact(advisor, person=contact.person, direction="out")
    client.post_form(f"/cases/{case.id}/contacts", {"contact_id": str(outbound.id)})
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    client.post_form(f"/cases/{case.id}/level", {"level": "high", "version": case.version})
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    task = db.session.scalar(select(Task).where(Task.case_id == case.id,
                                                Task.kind == "callback"))  # (not a follow-up)
    client.post_form(f"/tasks/{task.id}/done", {})
    client.post_form(f"/cases/{case.id}/close", {"outcome": "resolved",
                                                 "safety_outcome": "safety_plan",
                                                 "no_safety_plan_reason": "Sur papier",
                                                 "version": case.version})
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                .order_by(CaseEvent.id)).all()
    kinds = [e.kind for e in events]
    for kind in ("opened", "routed", "triage_attached", "contact_linked", "claimed",
                 "note_added", "task_added", "referral_added", "first_response",
                 "level_changed", "task_done", "closed"):
        assert kind in kinds, (kind, kinds)
    assert all(e.at is not None for e in events)
    assert {e.actor_id for e in events if e.kind != "opened"} >= {psychologist.id}
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    start = page.index('class="timeline"')
    timeline = page[start:page.index("</ol>", start)]
    assert timeline.count("<time datetime") == len(kinds)  # every event, with who and when
