"""An anonymous caller says who they are: the case (and its anonymous contacts) become theirs."""

from sqlalchemy import select

from cases.models import Case, CaseEvent
from cellule.extensions import db
from cellule.models import AuditEvent
from contacts import operations as people
from contacts.models import Contact


def searchable_person(user, name):
    """A person made as the desk makes them (searchable)."""
    person = people.create_person(user, name=name)
    db.session.commit()
    return person


def test_an_anonymous_case_becomes_the_persons_with_its_contacts(client, login_as, triage):
    advisor = login_as("advisor")
    run, case = triage("serious", person=None)
    assert case.person_id is None
    person = searchable_person(advisor, "Griet Claes")

    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'href="/cases/{case.id}/person"' in page  # "Who is the caller?"
    assert client.get(f"/cases/{case.id}/person").status_code == 200
    page = client.post_form(f"/cases/{case.id}/person/search", {"q": "claes"})
    assert page.status_code == 200
    assert "Griet Claes" in page.get_data(as_text=True)

    response = client.post_form(f"/cases/{case.id}/person",
                                {"person_id": str(person.id), "version": str(case.version)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.person_id == person.id
    assert db.session.get(Contact, run.contact_id).person_id == person.id
    event = db.session.scalar(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "person_identified"))
    assert event.actor_id == advisor.id and event.detail["contacts"] == [run.contact_id]
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.object_type == "case", AuditEvent.object_id == str(case.id),
        AuditEvent.action == "update", AuditEvent.detail.contains(str(person.id))))
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Griet Claes" in page and f'href="/cases/{case.id}/person"' not in page
    assert client.get(f"/cases/{case.id}/person").status_code == 403  # no longer anonymous


def test_a_person_with_an_open_case_is_not_given_a_second_one(client, login_as, triage,
                                                               make_contact):
    advisor = login_as("advisor")
    _run, anonymous = triage("serious", person=None)
    taken = searchable_person(advisor, "Wim Goossens")
    _run, other = triage("elevated", contact=make_contact(advisor, person=taken))
    page = client.post_form(f"/cases/{anonymous.id}/person/search",
                            {"q": "goossens"}).get_data(as_text=True)
    assert other.reference in page  # "has open case …", no button for them
    response = client.post_form(f"/cases/{anonymous.id}/person",
                                {"person_id": str(other.person_id),
                                 "version": str(anonymous.version)})
    assert response.status_code == 422
    assert other.reference in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, anonymous.id).person_id is None


def test_a_stale_identification_is_refused(client, login_as, triage, make_person):
    from cases import operations as ops

    supervisor = login_as("supervisor")
    _run, case = triage("serious", person=None)
    read = case.version
    ops.set_status(case, "waiting", supervisor, read)  # someone else acts meanwhile
    db.session.commit()
    person = make_person()
    response = client.post_form(f"/cases/{case.id}/person",
                                {"person_id": str(person.id), "version": str(read)})
    assert response.status_code == 409
    response = client.post_form(f"/cases/{case.id}/person", {"version": str(case.version)})
    assert response.status_code == 422  # no person chosen
    db.session.expire_all()
    assert db.session.get(Case, case.id).person_id is None
