"""The advisor's desk in HTML: active search, new contact, referral, inbox, contact page."""

import re
from datetime import timedelta

import pytest

from cellule.extensions import db
from cellule.types import utcnow
from contacts import person_page
from contacts.models import Contact, Person


def contact_form(**values):
    data = {"channel": "phone", "direction": "in",
            "occurred_at": (utcnow() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": "12", "reasons": ["stress", "sleep"],
            "summary": "Dort mal depuis la faillite d'un client."}
    data.update(values)
    return data


# --- Active search ---------------------------------------------------------


@pytest.fixture
def benedicte(app, make_user, make_person):
    return make_person(make_user("advisor"), name="Bénédicte Lambert", phone="0475 12 34 56")


def test_htmx_search_returns_the_fragment_and_pushes_an_opaque_url(client, login_as, benedicte):
    login_as("advisor")
    response = client.htmx("POST", "/people/search", {"q": "BENEDICTE", "mode": "people"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "<html" not in text and f"/people/{benedicte.id}" in text
    pushed = response.headers["HX-Push-Url"]
    assert re.fullmatch(r"/people\?s=[0-9a-f]{24}", pushed)
    assert "bene" not in pushed.lower()
    # The pushed URL shows the same search again (back button, reload).
    page = client.get(pushed).get_data(as_text=True)
    assert 'value="BENEDICTE"' in page and f"/people/{benedicte.id}" in page


def test_search_without_javascript_redirects_to_the_page(client, login_as, benedicte):
    login_as("advisor")
    response = client.post_form("/people/search", {"q": "lambert", "mode": "people"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/people/{benedicte.id}" in page
    assert 'aria-live="polite"' in page


def test_search_in_pick_mode_leads_to_the_contact_form(client, login_as, benedicte):
    login_as("advisor")
    response = client.htmx("POST", "/people/search", {"q": "0475 12", "mode": "pick"})
    text = response.get_data(as_text=True)
    assert f"/contacts/new?person={benedicte.id}" in text
    assert response.headers["HX-Push-Url"].startswith("/contacts/new?s=")


def test_search_key_belongs_to_its_user(client, login_as, benedicte):
    login_as("advisor")
    pushed = client.htmx("POST", "/people/search", {"q": "lambert"}).headers["HX-Push-Url"]
    client.post_form("/logout")
    login_as("advisor")
    page = client.get(pushed).get_data(as_text=True)
    assert "Bénédicte" not in page and 'value="lambert"' not in page


def test_search_still_answers_when_redis_is_down(client, login_as, benedicte, monkeypatch):
    from redis.exceptions import ConnectionError as RedisDown

    from contacts import saved_search

    class Broken:
        def set(self, *a, **k):
            raise RedisDown("down")

        get = set

    monkeypatch.setattr(saved_search, "get_redis", lambda: Broken())
    login_as("advisor")
    response = client.htmx("POST", "/people/search", {"q": "lambert"})
    assert response.status_code == 200
    assert response.headers.get("HX-Push-Url", "false") == "false"
    assert f"/people/{benedicte.id}" in response.get_data(as_text=True)
    response = client.post_form("/people/search", {"q": "lambert"})
    assert response.status_code == 200
    assert f"/people/{benedicte.id}" in response.get_data(as_text=True)


def test_search_refuses_an_overlong_query(client, login_as):
    login_as("advisor")
    response = client.htmx("POST", "/people/search", {"q": "x" * 201})
    assert response.status_code == 422


def test_search_needs_the_csrf_token(client, login_as):
    login_as("advisor")
    response = client.post("/people/search", data={"q": "x"})
    assert response.status_code == 400


def test_many_results_are_capped(client, login_as, make_person):
    advisor = login_as("advisor")
    for i in range(25):
        make_person(advisor, name=f"Janssens {i:02d}")
    text = client.htmx("POST", "/people/search", {"q": "janssens"}).get_data(as_text=True)
    assert text.count('class="result"') == 20
    assert "More than 20" in text or "Plus de 20" in text or "20" in text


# --- New contact -----------------------------------------------------------


def test_log_a_phone_contact_for_a_picked_person(client, login_as, benedicte, audit_rows):
    advisor = login_as("advisor")
    page = client.get(f"/contacts/new?person={benedicte.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Bénédicte Lambert" in text and 'name="name"' not in text  # no new-person fields
    response = client.post_form("/contacts/new", contact_form(person_id=benedicte.id))
    assert response.status_code == 303
    contact = db.session.scalar(db.select(Contact))
    assert response.headers["Location"] == f"/contacts/{contact.id}"
    assert (contact.person_id, contact.channel, contact.duration_minutes) == (
        benedicte.id, "phone", 12)
    assert contact.reasons == ["stress", "sleep"]
    assert contact.handled_by_id == advisor.id and not contact.red_flagged
    assert ("create", "contact", str(contact.id), advisor.id) in audit_rows()


def test_the_time_typed_is_brussels_time(client, login_as, benedicte):
    login_as("advisor")
    client.post_form("/contacts/new", contact_form(person_id=benedicte.id,
                                                   occurred_at="2026-01-15T10:30"))
    contact = db.session.scalar(db.select(Contact))
    assert contact.occurred_at.isoformat() == "2026-01-15T09:30:00+00:00"


def test_log_a_contact_with_a_new_person(client, login_as, counts):
    advisor = login_as("advisor")
    response = client.post_form("/contacts/new", contact_form(
        name="Pieter Van den Bossche", phone="0486/22.41.07", language="nl", sector="construction"))
    assert response.status_code == 303
    person = db.session.scalar(db.select(Person))
    assert (person.phone, person.language, person.created_by_id) == (
        "+32486224107", "nl", advisor.id)
    assert counts() == (1, 1)


def test_new_person_duplicate_warning_on_the_contact_form(client, login_as, benedicte, counts):
    login_as("advisor")
    response = client.post_form("/contacts/new", contact_form(name="B Lambert",
                                                              phone="+32 475 12 34 56"))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert 'id="duplicates"' in text and f"/contacts/new?person={benedicte.id}" in text
    assert counts() == (1, 0)
    response = client.post_form("/contacts/new", contact_form(
        name="B Lambert", phone="+32 475 12 34 56", confirm_duplicate="y"))
    assert response.status_code == 303
    assert counts() == (2, 1)


def test_anonymous_contact_from_the_form(client, login_as, counts):
    login_as("advisor")
    response = client.post_form("/contacts/new", contact_form(anonymous="y", channel="walk_in"))
    assert response.status_code == 303
    contact = db.session.scalar(db.select(Contact))
    assert contact.person_id is None and contact.channel == "walk_in"
    assert counts() == (0, 1)


def test_red_flag_in_the_summary_is_marked_and_announced(client, login_as, benedicte):
    login_as("advisor")
    response = client.post_form("/contacts/new", contact_form(
        person_id=benedicte.id, summary="Elle dit qu’elle veut EN FINIR."), follow_redirects=True)
    contact = db.session.scalar(db.select(Contact))
    assert contact.red_flagged
    assert contact.red_flags == [{"phrase": "en finir", "language": "fr", "matched": "EN FINIR"}]
    text = response.get_data(as_text=True)
    assert "badge-flag" in text and 'role="alert"' in text


@pytest.mark.parametrize(
    "values, field",
    [
        ({}, "name"),  # neither a person, nor a name, nor anonymous
        ({"anonymous": "y", "channel": "pigeon"}, "channel"),
        ({"anonymous": "y", "direction": "up"}, "direction"),
        ({"anonymous": "y", "occurred_at": ""}, "occurred_at"),
        ({"anonymous": "y", "occurred_at": "not a date"}, "occurred_at"),
        ({"anonymous": "y", "occurred_at": "2999-01-01T10:00"}, "occurred_at"),
        ({"anonymous": "y", "duration_minutes": "-3"}, "duration_minutes"),
        ({"anonymous": "y", "duration_minutes": "lots"}, "duration_minutes"),
        ({"anonymous": "y", "reasons": ["boredom"]}, "reasons"),
        ({"anonymous": "y", "summary": "x" * 20001}, "summary"),
        ({"name": "Jan", "email": "nope"}, "email"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_bad_contact_form_input(client, login_as, counts, values, field):
    login_as("advisor")
    data = contact_form(**values)
    response = client.post_form("/contacts/new", data)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    if field == "reasons":
        assert 'class="reasons has-error"' in text
    else:
        assert f'id="{field}-error"' in text
        tag = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{field}"[^>]*>', text).group()
        assert " autofocus" in tag, "the first field in error gets the focus"
    assert counts() == (0, 0)


def test_tampered_person_id_is_a_404(client, login_as, make_user, make_person, counts):
    other = make_person(make_user("ambassador"), name="Hidden")
    login_as("ambassador")
    response = client.post_form("/contacts/new", contact_form(person_id=other.id))
    assert response.status_code == 404
    assert client.get(f"/contacts/new?person={other.id}").status_code == 404
    assert counts() == (1, 0)


def test_psychologist_logs_a_contact(client, login_as, benedicte):
    psychologist = login_as("psychologist")
    response = client.post_form("/contacts/new", contact_form(person_id=benedicte.id))
    assert response.status_code == 303
    assert db.session.scalar(db.select(Contact)).created_by_id == psychologist.id
    assert client.get("/inbox").status_code == 403


# --- Internal referral -----------------------------------------------------


def test_ambassador_referral_creates_person_and_inbox_item(client, login_as, counts):
    ambassador = login_as("ambassador")
    page = client.get("/referrals/new").get_data(as_text=True)
    for name in ("name", "reach", "noticed", "consent"):
        assert f'name="{name}"' in page
    response = client.post_form("/referrals/new", {
        "name": "Marc Janssens", "reach": "0479 11 22 33",
        "noticed": "Il a dit qu'il voulait en finir.", "consent": "y", "language": "fr"})
    assert response.status_code == 303
    contact = db.session.scalar(db.select(Contact))
    assert contact.channel == "internal_referral" and contact.in_inbox
    assert contact.red_flagged and contact.consent_to_contact
    assert contact.referral_reach == "0479 11 22 33"
    assert contact.person.phone == "+32479112233"
    assert contact.person.created_by_id == ambassador.id
    # The ambassador sees what they sent.
    assert client.get(response.headers["Location"]).status_code == 200
    # A second referral of the same person reuses the record.
    client.post_form("/referrals/new", {"name": "Marc J.", "reach": "+32479112233",
                                        "noticed": "Encore inquiet.", "language": "fr"})
    assert counts() == (1, 2)


def test_referral_by_email(client, login_as):
    login_as("ambassador")
    client.post_form("/referrals/new", {"name": "Annelies", "reach": "A.De.Smet@example.be",
                                        "noticed": "Vermoeid.", "language": "nl"})
    person = db.session.scalar(db.select(Person))
    assert person.email == "a.de.smet@example.be" and person.language == "nl"
    assert not db.session.scalar(db.select(Contact)).consent_to_contact


@pytest.mark.parametrize(
    "values, field",
    [
        ({"name": ""}, "name"),
        ({"noticed": ""}, "noticed"),
        ({"reach": "bad@"}, "reach"),
        ({"reach": "x" * 255}, "reach"),
        ({"language": "xx"}, "language"),
    ],
)
def test_bad_referral_input(client, login_as, counts, values, field):
    login_as("ambassador")
    data = {"name": "Marc", "reach": "0479 11 22 33", "noticed": "Fatigué.", "language": "fr"}
    data.update(values)
    response = client.post_form("/referrals/new", data)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert counts() == (0, 0)


# --- Inbox -----------------------------------------------------------------


@pytest.fixture
def inbox_items(app, make_user, make_person, make_contact):
    advisor = make_user("advisor")
    ambassador = make_user("ambassador")
    person = make_person(advisor, name="Mehdi El Amrani")
    now = utcnow()
    old_email = make_contact(None, person, channel="email", email_subject="Aide",
                             email_body="Pouvez-vous me rappeler ?",
                             occurred_at=now - timedelta(days=2))
    new_flagged = make_contact(ambassador, None, channel="internal_referral",
                               summary="Hij wil niet meer leven.",
                               occurred_at=now - timedelta(hours=1))
    old_flagged = make_contact(None, None, channel="email", email_sender="x@example.be",
                               email_body="I want to end my life",
                               occurred_at=now - timedelta(hours=5))
    newer = make_contact(ambassador, None, channel="internal_referral", summary="Fatigué",
                         occurred_at=now - timedelta(hours=2))
    handled = make_contact(advisor, person, channel="email", handled=True)
    phone = make_contact(advisor, person, channel="phone")
    return [old_flagged, new_flagged, old_email, newer], [handled, phone]


def test_inbox_lists_red_flags_first_then_oldest(client, login_as, inbox_items, audit_rows):
    expected, absent = inbox_items
    advisor = login_as("advisor")
    text = client.get("/inbox").get_data(as_text=True)
    positions = [text.index(f'id="inbox-{c.id}"') for c in expected]
    assert positions == sorted(positions)
    for c in absent:
        assert f'id="inbox-{c.id}"' not in text
    assert text.count('class="flagged"') == 2
    listed = {row[2] for row in audit_rows("contact") if row[0] == "list" and row[3] == advisor.id}
    assert listed == {str(c.id) for c in expected}


def test_inbox_pages_with_a_cursor(client, login_as, inbox_items, monkeypatch):
    from contacts import views

    monkeypatch.setattr(views, "INBOX_PAGE", 1)
    expected, _ = inbox_items
    login_as("advisor")
    seen, url = [], "/inbox"
    while url:
        text = client.get(url).get_data(as_text=True)
        seen += [int(i) for i in re.findall(r'id="inbox-(\d+)"', text)]
        match = re.search(r'href="(/inbox\?after=[^"]+)"', text)
        url = match.group(1) if match else None
    assert seen == [c.id for c in expected]
    assert client.get("/inbox?after=garbage").status_code == 400


def test_mark_handled_with_htmx_removes_the_row(client, login_as, inbox_items, audit_rows):
    expected, _ = inbox_items
    advisor = login_as("advisor")
    target = expected[0]
    response = client.htmx("POST", f"/contacts/{target.id}/handled")
    assert response.status_code == 200
    assert 'hx-swap-oob="true"' in response.get_data(as_text=True)
    contact = db.session.get(Contact, target.id)
    assert contact.handled_by_id == advisor.id and contact.handled_at is not None
    assert ("handle", "contact", str(target.id), advisor.id) in audit_rows()
    assert f'id="inbox-{target.id}"' not in client.get("/inbox").get_data(as_text=True)


def test_mark_handled_without_javascript(client, login_as, inbox_items):
    expected, _ = inbox_items
    login_as("supervisor")
    response = client.post_form(f"/contacts/{expected[1].id}/handled")
    assert response.status_code == 303 and response.headers["Location"] == "/inbox"
    assert not db.session.get(Contact, expected[1].id).in_inbox


@pytest.mark.parametrize("role", ["ambassador", "psychologist", "admin"])
def test_only_advisors_and_supervisors_work_the_inbox(client, login_as, inbox_items, role):
    expected, _ = inbox_items
    login_as(role)
    assert client.get("/inbox").status_code == 403
    assert client.post_form(f"/contacts/{expected[0].id}/handled").status_code == 403
    assert db.session.get(Contact, expected[0].id).in_inbox


def test_mark_handled_needs_csrf(client, login_as, inbox_items):
    expected, _ = inbox_items
    login_as("advisor")
    assert client.post(f"/contacts/{expected[0].id}/handled").status_code == 400
    assert db.session.get(Contact, expected[0].id).in_inbox


# --- Contact page and hooks ------------------------------------------------


def test_contact_page_shows_the_email_and_is_audited(client, login_as, inbox_items, audit_rows):
    expected, _ = inbox_items
    advisor = login_as("advisor")
    email = expected[0]
    text = client.get(f"/contacts/{email.id}").get_data(as_text=True)
    assert "I want to end my life" in text and "x@example.be" in text
    assert "Mark handled" in text or "handled" in text
    assert ("read", "contact", str(email.id), advisor.id) in audit_rows()


def test_person_page_providers_add_sections_and_timeline(client, login_as, benedicte,
                                                         monkeypatch):
    from markupsafe import Markup

    monkeypatch.setattr(person_page, "_SECTION_PROVIDERS", [])
    monkeypatch.setattr(person_page, "_TIMELINE_PROVIDERS", list(person_page._TIMELINE_PROVIDERS))
    person_page.register_section(
        lambda person, user: person_page.Section("Open case", Markup("<p>CEL-2026-000001</p>")))
    person_page.register_timeline(lambda person, user: [person_page.TimelineEntry(
        at=utcnow() - timedelta(days=400), kind="case", title="Case opened")])
    login_as("advisor")
    text = client.get(f"/people/{benedicte.id}").get_data(as_text=True)
    assert "<p>CEL-2026-000001</p>" in text
    assert "timeline-case" in text and "Case opened" in text


def test_contact_page_sections(client, login_as, inbox_items, monkeypatch):
    from markupsafe import Markup

    monkeypatch.setattr(person_page, "_CONTACT_SECTION_PROVIDERS", [])
    person_page.register_contact_section(
        lambda contact, user: person_page.Section("Triage", Markup("<a>Run triage</a>")))
    expected, _ = inbox_items
    login_as("advisor")
    assert "<a>Run triage</a>" in client.get(f"/contacts/{expected[0].id}").get_data(as_text=True)


# --- Query budgets ---------------------------------------------------------


def test_query_budgets(client, login_as, make_person, make_contact, inbox_items, query_counter):
    advisor = login_as("advisor")
    person = make_person(advisor, name="Busy Caller")
    for _ in range(30):
        make_contact(advisor, person)
    budgets = {
        f"/people/{person.id}": 25,  # includes the cases domain's timeline providers
        "/inbox": 20,
        "/contacts/new": 15,
        f"/contacts/new?person={person.id}": 20,
    }
    for url, budget in budgets.items():
        with query_counter() as n:
            assert client.get(url).status_code == 200
        assert n[0] <= budget, (url, n[0])
    with query_counter() as n:
        client.htmx("POST", "/people/search", {"q": "busy"})
    assert n[0] <= 15


def test_demo_seeder_adds_people_and_the_inbox(app, make_user):
    from contacts.demo import seed

    users = {role: [make_user(role)] for role in ("ambassador", "advisor", "psychologist")}
    seed(users)
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(Person.id))) >= 8
    flagged = db.session.scalars(db.select(Contact).where(Contact.red_flagged)).all()
    assert [c.channel for c in flagged] == ["internal_referral"]
    assert db.session.scalar(db.select(Contact).where(Contact.channel == "email")).in_inbox


def test_contact_saved_from_a_screen_pop_keeps_the_call_id(client, login_as, benedicte):
    from contacts import operations

    advisor = login_as("advisor")
    token = operations.create_screen_pop(advisor, call_id="pbx-7", phone="+32475123456")
    db.session.commit()
    page = client.get(f"/contacts/new?pop={token}").get_data(as_text=True)
    assert "Bénédicte Lambert" in page and "+32 475 12 34 56" in page
    response = client.post_form("/contacts/new",
                                contact_form(person_id=benedicte.id, pop=token))
    assert response.status_code == 303
    assert db.session.scalar(db.select(Contact)).call_id == "pbx-7"


def test_a_forged_screen_pop_token_prefills_nothing(client, login_as, benedicte, counts):
    login_as("advisor")
    page = client.get("/contacts/new?pop=forged").get_data(as_text=True)
    assert "+32 475" not in page and "+32475" not in page and "Bénédicte" not in page
    response = client.post_form("/contacts/new", contact_form(person_id=benedicte.id,
                                                              pop="x" * 500))
    assert response.status_code == 303  # the contact is saved, without a call id
    assert db.session.scalar(db.select(Contact)).call_id is None
