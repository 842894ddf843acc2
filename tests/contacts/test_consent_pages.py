"""Consent per purpose (issue 20): the person page's card, the consents page, the call's
panel, the API, and who may see them."""

import pytest

from cellule.extensions import db
from contacts.consent.models import Consent
from contacts.consent.operations import has_consent, record_consent


@pytest.fixture
def person(make_person, make_user):
    return make_person(make_user("advisor"), name="Bénédicte Lambert", language="nl")


def _english(client):
    client.post_form("/language", {"language": "en"})


def test_the_person_page_shows_each_purpose_and_links_the_forms(client, login_as, person):
    login_as("advisor")
    _english(client)
    page = client.get(f"/people/{person.id}").get_data(as_text=True)
    assert "Consents" in page and "Caring messages" in page and "not asked" in page
    assert f"/people/{person.id}/consents" in page


def test_recording_and_withdrawing_from_the_consents_page(client, login_as, person):
    advisor = login_as("advisor")
    _english(client)
    page = client.get(f"/people/{person.id}/consents").get_data(as_text=True)
    assert "luistercel" in page  # the text to read out, in the person's language
    response = client.post_form(f"/people/{person.id}/consents/survey", {
        "survey-text_version": "survey/v1", "survey-channel": "oral", "survey-agree": "y"})
    assert response.status_code == 303
    assert has_consent(person.id, "survey")
    row = db.session.scalar(db.select(Consent))
    assert (row.channel, row.recorded_by_id, row.text_version) == ("oral", advisor.id,
                                                                    "survey/v1")
    response = client.post_form(f"/people/{person.id}/consents/survey/withdraw", {
        "w-survey-channel": "written", "w-survey-withdraw": "y"})
    assert response.status_code == 303
    assert not has_consent(person.id, "survey")
    page = client.get(f"/people/{person.id}/consents").get_data(as_text=True)
    assert "withdrawn" in page and "Written" in page


def test_a_refused_form_names_the_problem(client, login_as, person):
    login_as("advisor")
    response = client.post_form(f"/people/{person.id}/consents/survey", {
        "survey-text_version": "outreach/v1", "survey-channel": "oral", "survey-agree": "y"})
    assert response.status_code == 422
    assert not db.session.scalar(db.select(db.func.count(Consent.id)))


def test_a_refusal_in_the_call_panel_is_the_panel_again_naming_it(client, login_as, person):
    login_as("advisor")
    response = client.htmx("POST", f"/people/{person.id}/consents/survey/withdraw",
                           {"w-survey-channel": "oral", "w-survey-withdraw": "y"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="consent-panel"' in page and "no consent to withdraw" in page


def test_the_call_panel_answers_htmx_and_keeps_the_call(client, login_as, person,
                                                       make_contact):
    advisor = login_as("advisor")
    contact = make_contact(advisor, person)
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert f"/people/{person.id}/consents/caring_messages?contact={contact.id}" in page
    response = client.htmx("POST", f"/people/{person.id}/consents/caring_messages"
                           f"?contact={contact.id}",
                           {"caring_messages-text_version": "caring_messages/v1",
                            "caring_messages-channel": "oral", "caring_messages-agree": "y"})
    assert response.status_code == 200
    assert 'id="consent-panel"' in response.get_data(as_text=True)
    assert has_consent(person.id, "caring_messages")
    response = client.post_form(f"/people/{person.id}/consents/outreach?contact={contact.id}",
                                {"outreach-text_version": "outreach/v1",
                                 "outreach-channel": "oral", "outreach-refuse": "y"})
    assert response.headers["Location"] == f"/contacts/{contact.id}"


@pytest.mark.parametrize("role, sees", [("ambassador", False), ("advisor", True),
                                        ("psychologist", True), ("supervisor", True),
                                        ("admin", False)])
def test_who_sees_consents(client, login_as, make_user, person, role, sees):
    login_as(role)
    page = client.get(f"/people/{person.id}/consents")
    assert page.status_code == (200 if sees else 403)
    posted = client.post_form(f"/people/{person.id}/consents/survey", {
        "survey-text_version": "survey/v1", "survey-channel": "oral", "survey-agree": "y"})
    assert posted.status_code == (303 if sees else 403)
    assert has_consent(person.id, "survey") is sees


def test_an_ambassador_does_not_see_the_card_of_their_own_person(client, login_as,
                                                                 make_person):
    ambassador = login_as("ambassador")
    _english(client)
    own = make_person(ambassador, name="Own Person")
    page = client.get(f"/people/{own.id}")
    assert page.status_code == 200
    assert "/consents" not in page.get_data(as_text=True)


# --- API ---------------------------------------------------------------------


def test_api_records_and_lists(api_client, person, audit_rows):
    client, user = api_client("advisor")
    answer = client.post(f"/api/v1/persons/{person.id}/consents", json={
        "purpose": "caring_messages", "granted": True, "channel": "web",
        "text_version": "caring_messages/v1"})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["state"], body["channel"], body["recorded_by_id"]) == ("granted", "web",
                                                                       user.id)
    listed = client.get(f"/api/v1/persons/{person.id}/consents").get_json()
    states = {item["purpose"]: (item["granted"], item["state"]) for item in listed["items"]}
    assert states["caring_messages"] == (True, "granted")
    assert states["survey"] == (False, "none")
    caring = next(i for i in listed["items"] if i["purpose"] == "caring_messages")
    assert (caring["channel"], caring["text_version"]) == ("web", "caring_messages/v1")
    assert [row["id"] for row in listed["history"]] == [body["id"]]
    withdrawn = client.post(f"/api/v1/persons/{person.id}/consents", json={
        "purpose": "caring_messages", "granted": False, "channel": "oral",
        "text_version": "caring_messages/v1"}).get_json()
    assert (withdrawn["id"], withdrawn["state"]) == (body["id"], "withdrawn")
    actions = [row[0] for row in audit_rows("person") if row[3] == user.id]
    assert actions.count("update") == 2 and "read" in actions


@pytest.mark.parametrize("body, field", [
    ({"purpose": "lottery", "granted": True, "channel": "oral", "text_version": "survey/v1"},
     "purpose"),
    ({"purpose": "survey", "granted": "yes", "channel": "oral", "text_version": "survey/v1"},
     "granted"),
    ({"purpose": "survey", "granted": True, "channel": "fax", "text_version": "survey/v1"},
     "channel"),
    ({"purpose": "survey", "granted": True, "channel": "oral", "text_version": "outreach/v1"},
     "text_version"),
    ({"purpose": "survey", "granted": True, "channel": "oral"}, "text_version"),
])
def test_api_refusals_name_the_field(api_client, person, body, field):
    client, _user = api_client("advisor")
    answer = client.post(f"/api/v1/persons/{person.id}/consents", json=body)
    assert answer.status_code == 422
    assert set(answer.get_json()["fields"]) == {field}


@pytest.mark.parametrize("role, status", [("ambassador", 403), ("admin", 403),
                                          ("psychologist", 200), ("supervisor", 200)])
def test_api_permissions(api_client, person, role, status):
    client, _user = api_client(role)
    assert client.get(f"/api/v1/persons/{person.id}/consents").status_code == status
    posted = client.post(f"/api/v1/persons/{person.id}/consents", json={
        "purpose": "survey", "granted": True, "channel": "oral", "text_version": "survey/v1"})
    assert posted.status_code == (201 if status == 200 else 403)


def test_api_unknown_person_is_404(api_client):
    client, _user = api_client("advisor")
    assert client.get("/api/v1/persons/999999/consents").status_code == 404


def test_api_idempotent_retry(api_client, person):
    client, _user = api_client("advisor")
    body = {"purpose": "survey", "granted": True, "channel": "oral", "text_version": "survey/v1"}
    headers = {"Idempotency-Key": "consent-retry-1"}
    first = client.post(f"/api/v1/persons/{person.id}/consents", json=body, headers=headers)
    again = client.post(f"/api/v1/persons/{person.id}/consents", json=body, headers=headers)
    assert again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert db.session.scalar(db.select(db.func.count(Consent.id))) == 1


def test_operation_rows_show_in_history(api_client, person, make_user):
    advisor = make_user("advisor")
    record_consent(person, "share_partner", granted=True, channel="written",
                   text_version="share_partner/v1", actor=advisor)
    db.session.commit()
    client, _user = api_client("supervisor")
    listed = client.get(f"/api/v1/persons/{person.id}/consents").get_json()
    assert listed["history"][0]["purpose"] == "share_partner"


def test_each_purpose_s_how_names_its_purpose(client, login_as, person):
    """One "How" select a purpose: each one's accessible name says which (gaps19)."""
    import html
    import re

    from flask_babel import force_locale

    from contacts.consent.forms import PURPOSE_LABELS, RECORDED_HERE

    login_as("advisor")
    _english(client)
    page = client.get(f"/people/{person.id}/consents").get_data(as_text=True)
    names = [html.unescape(n) for n in re.findall(r'<select aria-label="([^"]*)"', page)]
    with force_locale("en"):
        wanted = [f"How · {PURPOSE_LABELS[p]}" for p in RECORDED_HERE]
    assert sorted(names) == sorted(wanted)
