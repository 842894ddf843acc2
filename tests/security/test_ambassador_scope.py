"""Issue 14: everything an ambassador gets back is filtered by what they may see.

(a) a merged person leads to its survivor only if the user may see the survivor;
(b) an existing case they may not see is only "a case the cell already follows";
(c) a task on a case goes only to an assignee who may see that case.
"""

from datetime import timedelta

from cases import operations as case_ops
from cases.models import Case, Task, TriageRun
from cellule.extensions import db
from cellule.types import utcnow
from contacts import operations as contact_ops
from contacts.models import Contact
from triage.examples import LEVEL_ANSWERS
from triage.loader import get_script

# --- (a) a merged person's survivor ------------------------------------------------------


def _merged_away(make_user, ambassador, number="SURV-4242"):
    """The ambassador's person, merged by an advisor into a person of the advisor's."""
    advisor = make_user("advisor")
    mine = contact_ops.create_person(ambassador, name="Alice Mine")
    theirs = contact_ops.create_person(advisor, name="Zoé Survivante",
                                       email="zoe.survivante@example.be",
                                       affiliate_number=number)
    contact_ops.merge_persons(mine, theirs, advisor)
    db.session.commit()
    return mine, theirs


def test_a_merged_person_does_not_lead_an_ambassador_to_a_survivor_they_may_not_see(
        client, login_as, api_client, make_user):
    ambassador = login_as("ambassador")
    mine, theirs = _merged_away(make_user, ambassador)
    response = client.get(f"/contacts/new?person={mine.id}")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Survivante" not in page and "SURV4242" not in page
    assert client.get(f"/people/{mine.id}").status_code == 404

    api, api_ambassador = api_client("ambassador")
    mine, theirs = _merged_away(make_user, api_ambassador, "SURV-4343")
    response = api.post("/api/v1/contacts", json={"person_id": mine.id, "channel": "phone"})
    assert response.status_code == 404
    assert "Survivante" not in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Contact.id))) == 0

    # Staff who may see the survivor still follow the pointer.
    api, _ = api_client("advisor")
    response = api.post("/api/v1/contacts", json={"person_id": mine.id, "channel": "phone"})
    assert response.status_code == 201 and response.get_json()["person_id"] == theirs.id


# --- (b) an existing case the ambassador may not see ------------------------------------

FOLLOWED = "attached to a case the cell already follows"


def _followed_by_an_advisor(make_user, ambassador):
    """The ambassador's contact, whose person has an open case an advisor opened."""
    advisor = make_user("advisor")
    make_user("supervisor")  # someone to alert
    person = contact_ops.create_person(ambassador, name="Chloé Suivie")
    contact = contact_ops.create_contact(ambassador, channel="phone", person=person)
    case = case_ops.open_case(person_id=person.id, level="at_risk", route="coaching",
                              due_at=utcnow() + timedelta(days=2), actor=advisor)
    db.session.commit()
    return contact, case


def test_b_api_triage_on_a_case_the_ambassador_may_not_see_names_no_case(
        api_client, make_user):
    api, ambassador = api_client("ambassador")
    contact, case = _followed_by_an_advisor(make_user, ambassador)
    response = api.post(f"/api/v1/contacts/{contact.id}/triage",
                        json={"answers": LEVEL_ANSWERS["serious"], "language": "fr"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["case"] == {"message": FOLLOWED}
    assert case.reference not in response.get_data(as_text=True)
    assert db.session.get(Case, case.id).level == "serious"  # attached, and raised
    assert api.get(f"/api/v1/cases/{case.id}").status_code == 404


def _section_items(section):
    return {i.id for i in get_script("cellule-triage").section(section).items}


def test_b_html_triage_on_a_case_the_ambassador_may_not_see_names_no_case(
        client, login_as, make_user):
    ambassador = login_as("ambassador")
    contact, case = _followed_by_an_advisor(make_user, ambassador)
    answers = LEVEL_ANSWERS["imminent"]
    sections = [s.id for s in get_script("cellule-triage").sections]
    response = client.post_form(f"/contacts/{contact.id}/triage", {
        k: str(v) for k, v in answers.items() if k in _section_items(sections[0])})
    assert response.status_code == 302
    run = db.session.scalars(db.select(TriageRun).order_by(TriageRun.id.desc())).first()
    for section in sections[1:]:
        response = client.post_form(f"/triage/runs/{run.id}/sections/{section}", {
            k: str(v) for k, v in answers.items() if k in _section_items(section)})
        assert response.status_code in (200, 302)
    response = client.post_form(f"/triage/runs/{run.id}/decide", {
        "level": "imminent", "route": "crisis", "resources_given": "y"},
        follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert db.session.get(TriageRun, run.id).case_id == case.id
    assert case.reference not in page and f"/cases/{case.id}" not in page
    assert "The triage was attached to a case the cell already follows." in page
    assert FOLLOWED in page


# --- (c) a task on a case only for an assignee who may see the case ----------------------


def _advisors_case(advisor):
    """A case an advisor opened, which an ambassador may not see."""
    person = contact_ops.create_person(advisor, name="Bruno Dossier")
    case = case_ops.open_case(person_id=person.id, level="at_risk", route="coaching",
                              due_at=utcnow() + timedelta(days=2), actor=advisor)
    db.session.commit()
    return case


def _tasks_of(user):
    return db.session.scalars(db.select(Task).where(Task.assignee_id == user.id)).all()


def test_c_a_task_on_a_case_is_refused_to_an_assignee_who_may_not_see_it(
        client, login_as, make_user):
    advisor = login_as("advisor")
    ambassador = make_user("ambassador")
    case = _advisors_case(advisor)
    response = client.post_form(f"/cases/{case.id}/tasks", {
        "title": "Rappeler Bruno", "kind": "callback", "assignee_id": str(ambassador.id)})
    assert response.status_code == 422
    assert "assignee_id: may not see this case" in response.get_data(as_text=True)
    assert _tasks_of(ambassador) == []

    # A colleague who may see the case still gets it.
    colleague = make_user("advisor")
    response = client.post_form(f"/cases/{case.id}/tasks", {
        "title": "Rappeler Bruno", "kind": "callback", "assignee_id": str(colleague.id)})
    assert response.status_code == 302
    assert [t.title for t in _tasks_of(colleague)] == ["Rappeler Bruno"]


def test_c_reassigning_a_task_to_an_assignee_who_may_not_see_its_case_is_refused(
        client, login_as, make_user):
    advisor = login_as("advisor")
    ambassador = make_user("ambassador")
    case = _advisors_case(advisor)
    task = case_ops.create_task(title="Rappeler Bruno", kind="callback", actor=advisor,
                                assignee=advisor, case=case)
    db.session.commit()
    response = client.post_form(f"/tasks/{task.id}/reassign",
                                {"assignee_id": str(ambassador.id)})
    assert response.status_code == 422
    assert "assignee_id: may not see this case" in response.get_data(as_text=True)
    assert _tasks_of(ambassador) == []
    assert db.session.get(Task, task.id).assignee_id == advisor.id
    # The rule is the operation's, for every caller.
    try:
        case_ops.reassign_task(db.session.get(Task, task.id), ambassador, advisor)
    except case_ops.OperationError as error:
        assert error.fields == {"assignee_id": "may not see this case"}
    else:
        raise AssertionError("reassigned to someone who may not see the case")


def test_c_an_ambassadors_interrupted_triage_task_does_not_sit_on_a_case_they_may_not_see(
        client, login_as, make_user):
    """The application's own follow-up ("complete the triage") went to the run's author on
    the case the run joined, even a case the author may not see: its reference then showed
    in their list. It now stays on their own run."""
    ambassador = login_as("ambassador")
    contact, case = _followed_by_an_advisor(make_user, ambassador)
    sections = [s.id for s in get_script("cellule-triage").sections]
    first = {k: str(v) for k, v in LEVEL_ANSWERS["serious"].items()
             if k in _section_items(sections[0])}
    response = client.post_form(f"/contacts/{contact.id}/triage", {**first, "action": "next"})
    assert response.status_code == 302
    run = db.session.scalars(db.select(TriageRun).order_by(TriageRun.id.desc())).first()
    response = client.post_form(f"/triage/runs/{run.id}/sections/{sections[1]}",
                                {"action": "hangup"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(TriageRun, run.id).case_id == case.id  # the cell follows it there
    [task] = _tasks_of(ambassador)
    assert task.kind == "complete_triage" and task.case_id is None
    assert task.triage_run_id == run.id
    page = client.get("/my/tasks").get_data(as_text=True)
    assert "Complete the interrupted triage" in page or "triage" in page.lower()
    assert case.reference not in page and f"/cases/{case.id}" not in page
