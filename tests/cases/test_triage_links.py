"""The triage is one click away wherever a person meets the cell (DESIGN §9): the contact
page, the red-flag message, the person page, the inbox rows, the ambassador's referral
confirmation and the case page's re-assessment — for the roles that may triage only."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from cases.models import Case, CaseContact, CaseEvent, TriageRun
from cellule.extensions import db
from cellule.types import utcnow
from contacts import operations as contact_ops


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "a" and dict(attrs).get("href"):
            self._open = [dict(attrs)["href"], ""]

    def handle_data(self, data):
        if self._open is not None:
            self._open[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            label = " ".join(self._open[1].split())
            self.links.append((self._open[0], label))
            self._open = None


def links(response):
    parser = _Links()
    parser.feed(response.get_data(as_text=True))
    return parser.links


def hrefs_named(response, text):
    return [href for href, label in links(response) if label.startswith(text)]


def triage_url(contact):
    return f"/contacts/{contact.id}/triage"


@pytest.fixture
def english(client):
    def switch():
        client.post_form("/language", {"language": "en"})
    return switch


def test_contact_page_offers_run_then_resume_then_the_record(client, login_as, english,
                                                             make_contact, triage):
    advisor = login_as("advisor")
    english()
    contact = make_contact(advisor)
    page = client.get(f"/contacts/{contact.id}")
    assert hrefs_named(page, "Run the triage") == [triage_url(contact)]
    # The first section posted: a draft of this advisor's, which the button resumes.
    client.post_form(triage_url(contact), {"cssrs_1_wish_dead": "no", "cssrs_2_thoughts": "no"})
    page = client.get(f"/contacts/{contact.id}")
    assert hrefs_named(page, "Resume the triage") == [triage_url(contact)]
    assert hrefs_named(page, "Run the triage") == []
    draft = db.session.scalar(select(TriageRun).where(TriageRun.contact_id == contact.id))
    assert client.get(triage_url(contact)).headers["Location"].endswith(
        f"/triage/runs/{draft.id}")

    other = make_contact(advisor)
    run, _case = triage("serious", user=advisor, contact=other)
    page = client.get(f"/contacts/{other.id}")
    assert hrefs_named(page, "See the triage record") == [f"/triage/runs/{run.id}"]
    assert hrefs_named(page, "Run the triage") == []


def test_red_flag_message_after_saving_has_the_safety_questions_button(client, login_as,
                                                                        english):
    login_as("advisor")
    english()
    response = client.post_form("/contacts/new", {
        "anonymous": "y", "channel": "phone", "direction": "in",
        "occurred_at": utcnow().strftime("%Y-%m-%dT%H:%M"),
        "summary": "Je veux en finir, je pense au suicide.",
    }, follow_redirects=True)
    assert response.status_code == 200
    contact = db.session.scalars(select(contact_ops.Contact)).one()
    assert contact.red_flagged
    assert hrefs_named(response, "Run the safety questions now") == [triage_url(contact)]


def test_inbox_rows_have_a_triage_button(client, login_as, english):
    login_as("advisor")
    english()
    email = contact_ops.create_contact(None, channel="email", email_subject="Help",
                                       email_body="Plus la force.", email_sender="a@b.be")
    db.session.commit()
    page = client.get("/inbox")
    assert hrefs_named(page, "Run the triage") == [triage_url(email)]


def test_person_page_triages_the_exchange_under_way_or_logs_it_first(client, login_as,
                                                                      english, make_person,
                                                                      make_contact):
    advisor = login_as("advisor")
    english()
    person = make_person(advisor)
    make_contact(advisor, person=person, occurred_at=utcnow() - timedelta(days=3))
    page = client.get(f"/people/{person.id}")
    [log_first] = hrefs_named(page, "Log this exchange and run the triage")
    assert log_first == f"/contacts/new?person={person.id}&then=triage"
    # Saving that form goes straight to the triage of the contact just logged.
    form = client.get(log_first)
    assert 'name="then" type="hidden" value="triage"' in form.get_data(as_text=True)
    response = client.post_form("/contacts/new", {
        "person_id": str(person.id), "then": "triage", "channel": "phone", "direction": "in",
        "occurred_at": utcnow().strftime("%Y-%m-%dT%H:%M")})
    latest = db.session.scalars(select(contact_ops.Contact).order_by(
        contact_ops.Contact.id.desc())).first()
    assert response.status_code == 303
    assert response.headers["Location"].endswith(triage_url(latest))
    # Now the latest contact is today's: the page runs the triage on it.
    page = client.get(f"/people/{person.id}")
    assert hrefs_named(page, "Run the triage") == [triage_url(latest)]


def test_ambassador_referral_confirmation_offers_the_triage(client, login_as, english):
    login_as("ambassador")
    english()
    response = client.post_form("/referrals/new", {
        "name": "Marc Dubois", "reach": "0475 11 22 33", "language": "fr", "consent": "y",
        "noticed": "Il dit qu'il veut en finir avec la vie."},
        follow_redirects=True)
    assert "Thank you: the listening cell will take it from here." in response.get_data(
        as_text=True)
    contact = db.session.scalars(select(contact_ops.Contact)).one()
    assert hrefs_named(response, "Run the triage") == [triage_url(contact)]
    assert hrefs_named(response, "Run the safety questions now") == [triage_url(contact)]


def test_ambassador_sees_no_triage_of_someone_elses_contact(client, login_as, make_user,
                                                            make_contact):
    other = make_contact(make_user("advisor"))
    login_as("ambassador")
    assert client.get(f"/contacts/{other.id}").status_code == 404
    assert client.get(triage_url(other)).status_code == 404


def test_admin_gets_no_triage_anywhere(client, login_as, make_user, make_contact, triage):
    advisor = make_user("advisor")
    contact = make_contact(advisor)
    _run, case = triage("serious", user=advisor)
    login_as("admin")
    for url in (f"/contacts/{contact.id}", f"/people/{contact.person_id}", "/inbox",
                f"/cases/{case.id}"):
        response = client.get(url)
        assert response.status_code in (403, 404), url
        assert "/triage" not in response.get_data(as_text=True), url
    assert client.get(triage_url(contact)).status_code in (403, 404)
    assert client.post_form(f"/cases/{case.id}/reassess",
                            {"exchange": "phone_out"}).status_code in (403, 404)


def test_reassess_attaches_a_new_run_to_an_anonymous_case_and_raises_it(client, login_as,
                                                                        english, triage):
    advisor = login_as("advisor")
    english()
    _run, case = triage("at_risk", user=advisor, person=None)
    assert case.person_id is None and case.level == "at_risk"
    page = client.get(f"/cases/{case.id}")
    assert f'action="/cases/{case.id}/reassess"' in page.get_data(as_text=True)
    response = client.post_form(f"/cases/{case.id}/reassess",
                                {"exchange": "phone_out", "summary": "Rappel de suivi."})
    assert response.status_code == 303
    contact = db.session.scalars(select(contact_ops.Contact).order_by(
        contact_ops.Contact.id.desc())).first()
    assert response.headers["Location"].endswith(triage_url(contact))
    assert (contact.person_id, contact.direction, contact.summary) == (None, "out",
                                                                       "Rappel de suivi.")
    assert db.session.scalar(select(CaseContact).where(CaseContact.contact_id == contact.id,
                                                       CaseContact.case_id == case.id))
    run, attached = triage("serious", user=advisor, contact=contact)
    assert attached.id == case.id and run.case_id == case.id
    db.session.expire_all()
    assert db.session.scalar(select(Case.id).where(Case.id != case.id)) is None  # no new case
    assert db.session.get(Case, case.id).level == "serious"
    kinds = db.session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert "triage_attached" in kinds and "level_changed" in kinds


def test_reassess_is_validated(client, login_as, triage):
    advisor = login_as("advisor")
    _run, case = triage("serious", user=advisor)
    response = client.post_form(f"/cases/{case.id}/reassess", {"exchange": "telepathy"})
    assert response.status_code == 422
    assert "exchange" in response.get_data(as_text=True)
    response = client.post_form(f"/cases/{case.id}/reassess",
                                {"exchange": "phone_in", "summary": "x" * 20_001})
    assert response.status_code == 422
    assert db.session.scalar(select(CaseContact.id).where(CaseContact.case_id == case.id)
                             .offset(1)) is None  # only the triage's own contact


def test_an_ambassador_cannot_reassess_the_case_they_opened(client, make_user, triage):
    ambassador = make_user("ambassador")
    _run, case = triage("serious", user=ambassador)
    assert client.login(ambassador).status_code == 302
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    assert "/reassess" not in page.get_data(as_text=True)
    assert client.post_form(f"/cases/{case.id}/reassess",
                            {"exchange": "phone_out"}).status_code == 403
