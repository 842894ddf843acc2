"""The person's rights: access export (JSON, page), rectification link, erasure."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from cases.models import Case, Note
from cases.reporting.figures import build_report
from cases.rights.models import Anonymisation
from cellule.extensions import db
from cellule.models import AuditEvent, UserSession
from cellule.types import utcnow
from contacts.models import Contact, Person

from .conftest import NOW, SECRETS

ERASE = {"reason": "Request by letter of 3 April, ref. DPO-12", "confirm": "y"}


@pytest.fixture
def supervisor(login_as):
    return login_as("supervisor")


@pytest.fixture
def person(activity):
    return activity.person


def _audit(action, person_id):
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.object_type == "person",
        AuditEvent.object_id == str(person_id))).all()


def _open_case(make_case, person):
    return make_case("elevated", "coaching", "2025-04-10 10:00", "2025-04-11 10:00",
                     person=person)


def test_json_export_holds_everything_about_the_person(client, supervisor, person, activity):
    db.session.add(Note(case_id=activity.cases.k1.id, body="clinical secret body",
                        visibility="clinical"))
    db.session.commit()
    response = client.get(f"/rights/people/{person.id}/export.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="cellule-person-{person.id}.json"')
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["person"]["name"] == SECRETS["name"]
    assert data["person"]["phone"] == SECRETS["phone"]
    assert len(data["contacts"]) == 11
    summaries = {c["summary"] for c in data["contacts"]}
    assert SECRETS["summary"] in summaries
    assert any(c["email_body"] == SECRETS["email_body"] for c in data["contacts"])
    assert data["triage_runs"][0]["answers"] == {"sleep_problems": "yes"}
    assert data["triage_runs"][0]["notes"] == SECRETS["triage_note"]
    (case,) = data["cases"]
    assert case["team_notes"][0]["body"] == SECRETS["note"]
    assert case["clinical_notes"] == [{"created_at": case["clinical_notes"][0]["created_at"],
                                       "body": None, "withheld": True}]
    assert case["survey"]["comment"] == SECRETS["comment"]
    assert case["tasks"][0]["title"] == SECRETS["task_title"]
    assert data["withheld"] == {"clinical_note_bodies": 1}
    assert "clinical secret body" not in response.get_data(as_text=True)
    (event,) = _audit("export", person.id)
    assert json.loads(event.detail)["format"] == "json"


def test_printable_export_page(client, supervisor, person):
    response = client.get(f"/rights/people/{person.id}/export")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for key in ("name", "phone", "summary", "email_body", "note", "comment", "triage_note"):
        assert SECRETS[key].replace("ë", "&#235;") in page or SECRETS[key] in page, key
    assert "CEL-2025-000001" in page
    assert _audit("export", person.id)


def test_export_and_erasure_ask_for_a_recent_sign_in(client, supervisor, person):
    with db.engine.begin() as conn:
        conn.execute(update(UserSession).values(auth_at=utcnow() - timedelta(hours=2)))
    response = client.get(f"/rights/people/{person.id}/export.json")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/account/confirm?next=")
    response = client.post_form(f"/rights/people/{person.id}/erase", ERASE)
    assert response.status_code == 303
    assert "/account/confirm" in response.headers["Location"]
    db.session.expire_all()
    assert db.session.get(Person, person.id).name == SECRETS["name"]


def test_rights_page_links_rectification_and_is_linked_from_the_person_page(
        client, supervisor, person):
    page = client.get(f"/rights/people/{person.id}").get_data(as_text=True)
    assert f'href="/people/{person.id}/edit"' in page
    assert f'href="/rights/people/{person.id}/export.json"' in page
    person_page = client.get(f"/people/{person.id}").get_data(as_text=True)
    assert f'href="/rights/people/{person.id}"' in person_page


def test_erasure_is_refused_while_a_case_is_open(client, supervisor, person, make_case):
    case = _open_case(make_case, person)
    response = client.post_form(f"/rights/people/{person.id}/erase", ERASE)
    assert response.status_code == 409
    assert 'id="erase-refused"' in response.get_data(as_text=True)
    page = client.get(f"/rights/people/{person.id}").get_data(as_text=True)
    assert "(s)" not in page  # counted with ngettext, never "open case(s)"
    db.session.expire_all()
    assert db.session.get(Person, person.id).name == SECRETS["name"]
    (event,) = _audit("erase_refused", person.id)
    assert json.loads(event.detail)["open_cases"] == [case.id]
    # Forcing needs its own reason.
    response = client.post_form(f"/rights/people/{person.id}/erase", {**ERASE, "force": "y"})
    assert response.status_code == 422


def test_forced_erasure_by_a_supervisor(client, supervisor, person, make_case, activity):
    case = _open_case(make_case, person)
    report_before = build_report(_march(), now=NOW).to_dict()
    response = client.post_form(f"/rights/people/{person.id}/erase", {
        **ERASE, "force": "y", "force_reason": "The person insists; crisis line given."})
    assert response.status_code == 303
    db.session.expire_all()
    erased = db.session.get(Person, person.id)
    assert (erased.name, erased.phone, erased.email, erased.affiliate_number) == (
        "—", None, None, None)
    assert erased.language == "nl"  # statistics stay
    summaries = set(db.session.scalars(select(Contact.summary).where(
        Contact.person_id == person.id)))
    assert summaries == {""}
    row = db.session.scalar(select(Anonymisation).where(
        Anonymisation.object_type == "person", Anonymisation.object_id == person.id))
    assert (row.cause, row.forced, row.reason, row.by_id) == (
        "erasure", True, ERASE["reason"], supervisor.id)
    assert row.force_reason == "The person insists; crisis line given."
    assert db.session.get(Case, case.id).status == "open"
    # The audit log says who and what, never the reason (it may name the person).
    (event,) = _audit("anonymise", person.id)
    assert ERASE["reason"] not in event.detail and json.loads(event.detail)["forced"] is True
    # The figures do not move.
    report_after = build_report(_march(), now=NOW).to_dict()
    for section in ("contacts", "cases", "first_response", "satisfaction"):
        assert report_after[section] == report_before[section]
    # Exported again: nothing personal is left.
    text = client.get(f"/rights/people/{person.id}/export.json").get_data(as_text=True)
    for value in SECRETS.values():
        assert value not in text
    # And a second erasure is refused.
    assert client.post_form(f"/rights/people/{person.id}/erase", ERASE).status_code == 409


def _march():
    from cases.reporting.periods import parse_period

    from .conftest import MARCH

    return parse_period(MARCH, now=NOW)


@pytest.mark.parametrize(("data", "field"), [
    ({"confirm": "y"}, "reason"), ({"reason": "Request of 3 April"}, "confirm")])
def test_erasure_needs_a_reason_and_a_confirmation(client, supervisor, person, data, field):
    response = client.post_form(f"/rights/people/{person.id}/erase", data)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)


def test_administrator_erases_without_seeing_the_person(client, login_as, person, make_case):
    admin = login_as("admin")
    page = client.get(f"/rights/people/{person.id}").get_data(as_text=True)
    for value in (SECRETS["name"], SECRETS["phone"], SECRETS["email"], "CEL-2025"):
        assert value not in page
    assert f"#{person.id}" in page
    assert "/export" not in page
    assert client.get(f"/rights/people/{person.id}/export.json").status_code == 403
    assert client.get(f"/rights/people/{person.id}/export").status_code == 403
    # An open case: an administrator may not force.
    case = _open_case(make_case, person)
    response = client.post_form(f"/rights/people/{person.id}/erase", {
        **ERASE, "force": "y", "force_reason": "I am sure"})
    assert response.status_code == 409
    db.session.execute(update(Case).where(Case.id == case.id).values(
        status="closed", closed_at=utcnow(), outcome="declined"))
    db.session.commit()
    response = client.post_form(f"/rights/people/{person.id}/erase", ERASE)
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Person, person.id).name == "—"
    row = db.session.scalar(select(Anonymisation).where(Anonymisation.object_type == "person"))
    assert (row.by_id, row.forced) == (admin.id, False)


@pytest.mark.parametrize("role", ["ambassador", "advisor", "psychologist"])
def test_other_roles_have_no_rights_pages(client, login_as, person, role):
    login_as(role)
    assert client.get(f"/rights/people/{person.id}").status_code == 403
    assert client.get("/rights/").status_code == 403


def test_unknown_person_is_404(client, supervisor):
    assert client.get("/rights/people/999999").status_code == 404
    response = client.post_form("/rights/", {"person_id": "999999"})
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).status_code == 404


def test_merged_record_leads_to_the_survivor(client, supervisor, person, make_person):
    loser = make_person(name="Zoë old record", merged_into_id=person.id, merged_at=utcnow())
    response = client.get(f"/rights/people/{loser.id}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/rights/people/{person.id}"
    data = client.get(f"/rights/people/{person.id}/export.json").get_json()
    assert [m["name"] for m in data["merged_records"]] == ["Zoë old record"]
