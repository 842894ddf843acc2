"""Possible duplicates (issue 14): an affiliate number, phone or email of a person the user
may not see reveals nothing — the contact is filed on a new person, marked for the
advisors' review, and the answer is the one of an unused number; advisors merge the pair
or keep it apart."""

import re

import pytest

from cellule.extensions import db
from cellule.models import AuditEvent
from contacts import operations
from contacts.models import Contact, Person
from tests.contacts.test_desk import contact_form

TAKEN, UNUSED = "BE-104233", "BE-555001"


@pytest.fixture
def advisor(app, make_user):
    return make_user("advisor", name="Ana Janssens")


@pytest.fixture
def benedicte(advisor, make_person):
    """A person the ambassadors may not see."""
    return make_person(advisor, name="Bénédicte Lambert", phone="0475 12 34 56",
                       email="benedicte@example.be", affiliate_number=TAKEN)


def person(person_id):
    db.session.expire_all()
    return db.session.get(Person, person_id)


def shape(value):
    """The keys and value types of a JSON answer, not its values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def page_text(response):
    """A page with what differs between two records blanked out: digits (ids, times,
    numbers, users' names), and the per-request nonce and CSRF token."""
    text = response.get_data(as_text=True)
    text = re.sub(r'(nonce|content|value)="[^"]*"', r'\1=""', text)
    return re.sub(r"[0-9]", "0", text)


def audit_actions(action):
    return db.session.scalars(
        db.select(AuditEvent.object_id).where(AuditEvent.action == action)
        .order_by(AuditEvent.id)).all()


# --- What the ambassador is answered ----------------------------------------------------


def test_api_taken_affiliate_number_answers_as_an_unused_one(api_client, benedicte, counts):
    taken_client, ambassador = api_client("ambassador")
    unused_client, _ = api_client("ambassador")
    body = {"person": {"name": "Marc Dubois", "affiliate_number": TAKEN}, "channel": "phone",
            "summary": "Appel."}
    taken = taken_client.post("/api/v1/contacts", json=body)
    body["person"]["affiliate_number"] = UNUSED
    unused = unused_client.post("/api/v1/contacts", json=body)

    assert (taken.status_code, unused.status_code) == (201, 201)
    assert shape(taken.get_json()) == shape(unused.get_json())
    assert sorted(taken.headers.keys()) == sorted(unused.headers.keys())
    assert counts() == (3, 2)
    new = person(taken.get_json()["person_id"])
    assert new.id != benedicte.id and new.created_by_id == ambassador.id
    contact = db.session.get(Contact, taken.get_json()["id"])
    assert contact.person_id == new.id
    # Marked for the advisors, the number the record cannot hold kept aside.
    assert (new.duplicate_status, new.possible_duplicate_of_id, new.duplicate_reasons) == (
        "pending", benedicte.id, ["affiliate_number"])
    assert (new.affiliate_number, new.claimed_affiliate_number) == (None, "BE104233")
    assert person(benedicte.id).affiliate_number == "BE104233"

    # The lookups answer them as for the unused number: their record, with what they typed.
    for client, number in ((taken_client, TAKEN), (unused_client, UNUSED)):
        found = client.post("/api/v1/persons/search", json={"affiliate_number": number})
        items = found.get_json()["items"]
        assert [(p["name"], p["affiliate_number"]) for p in items] == [
            ("Marc Dubois", number.replace("-", ""))]
        by_get = client.get(f"/api/v1/persons?affiliate_number={number}").get_json()
        assert by_get == found.get_json()
    # Filing again with the same number attaches to that record, as for an unused number.
    again = taken_client.post("/api/v1/contacts", json={
        "person": {"name": "Marc Dubois", "affiliate_number": TAKEN}, "channel": "phone"})
    assert (again.status_code, again.get_json()["person_id"]) == (201, new.id)
    assert counts() == (3, 3)


def test_html_taken_affiliate_number_answers_as_an_unused_one(app, make_user, benedicte,
                                                              counts):
    pages = {}
    for number in (TAKEN, UNUSED):
        client = app.test_client()
        assert client.login(make_user("ambassador")).status_code == 302
        response = client.post_form("/contacts/new", contact_form(
            name="Marc Dubois", affiliate_number=number))
        assert response.status_code == 303
        assert re.fullmatch(r"/contacts/\d+", response.headers["Location"])
        contact_page = client.get(response.headers["Location"])
        new_id = db.session.get(Contact, int(response.headers["Location"].split("/")[-1])
                                ).person_id
        person_page = client.get(f"/people/{new_id}")
        edit_page = client.get(f"/people/{new_id}/edit")
        assert "The contact was saved." in contact_page.get_data(as_text=True)
        assert number.replace("-", "") in person_page.get_data(as_text=True)
        pages[number] = [page_text(p) for p in (contact_page, person_page, edit_page)]
        pages[number + "status"] = [p.status_code for p in (contact_page, person_page,
                                                             edit_page)]
    assert pages[TAKEN + "status"] == pages[UNUSED + "status"] == [200, 200, 200]
    assert pages[TAKEN] == pages[UNUSED]
    new = db.session.scalar(db.select(Person).where(Person.duplicate_status == "pending"))
    assert new.claimed_affiliate_number == "BE104233"
    assert new.possible_duplicate_of_id == benedicte.id
    assert counts() == (3, 2)


def test_html_new_person_and_edit_with_a_taken_number_are_no_error(client, login_as, advisor,
                                                                  benedicte, make_person):
    ambassador = login_as("ambassador")
    response = client.post_form("/people/new", {"name": "Marc Dubois", "affiliate_number": TAKEN,
                                                "language": "fr"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert "Marc Dubois was added." in page.get_data(as_text=True)
    new = db.session.scalar(db.select(Person).where(Person.name == "Marc Dubois"))
    assert (new.duplicate_status, new.claimed_affiliate_number) == ("pending", "BE104233")

    # Their other record, edited to another hidden person's number: saved, and marked.
    make_person(advisor, name="Koen Wouters", affiliate_number="BE-310045")
    own = make_person(ambassador, name="Luc Peeters")
    response = client.post_form(f"/people/{own.id}/edit", {
        "name": "Luc Peeters", "affiliate_number": "be 310045", "language": "fr",
        "sector": ""})
    assert response.status_code == 303
    assert "Saved." in client.get(response.headers["Location"]).get_data(as_text=True)
    edited = person(own.id)
    assert (edited.affiliate_number, edited.claimed_affiliate_number) == (None, "BE310045")
    assert edited.duplicate_status == "pending"
    # Saved again as shown (the number they typed in the form): nothing to refuse or lose.
    edit_page = client.get(f"/people/{own.id}/edit").get_data(as_text=True)
    assert 'value="BE310045"' in edit_page
    response = client.post_form(f"/people/{own.id}/edit", {
        "name": "Luc Peeters", "affiliate_number": "BE310045", "language": "fr",
        "sector": "craft"})
    assert response.status_code == 303
    assert (person(own.id).claimed_affiliate_number, person(own.id).sector) == (
        "BE310045", "craft")
    # Their own records still count: the number they gave one of them is taken for them.
    response = client.post_form("/people/new", {"name": "Other", "affiliate_number": TAKEN,
                                                "language": "fr"})
    assert response.status_code == 422
    assert "This affiliate number belongs to another person." in response.get_data(
        as_text=True)


@pytest.mark.parametrize("field, typed, reason", [
    ("phone", "+32 475 12 34 56", "phone"),
    ("email", "Benedicte@Example.be", "email"),
])
def test_phone_or_email_of_a_hidden_person_is_filed_and_marked(
        api_client, client, login_as, benedicte, counts, field, typed, reason):
    api, ambassador = api_client("ambassador")
    response = api.post("/api/v1/contacts", json={
        "person": {"name": "B.", field: typed}, "channel": "phone"})
    assert response.status_code == 201
    new = person(response.get_json()["person_id"])
    assert new.id != benedicte.id
    assert (new.duplicate_status, new.possible_duplicate_of_id, new.duplicate_reasons) == (
        "pending", benedicte.id, [reason])

    # Through the form too, and the form lists no duplicate it may not show.
    login_as("ambassador")
    response = client.post_form("/contacts/new", contact_form(name="Bene L.", **{field: typed}))
    assert response.status_code == 303
    marked = db.session.scalars(db.select(Person).where(Person.duplicate_status == "pending")
                                .order_by(Person.id)).all()
    assert [p.duplicate_reasons for p in marked] == [[reason], [reason]]
    assert counts() == (3, 2)


def test_find_duplicates_shows_an_ambassador_only_their_own(app, make_user, benedicte):
    ambassador = make_user("ambassador")
    own = operations.create_person(ambassador, name="Bénédicte Lambert", phone="0475123456")
    db.session.commit()
    found = operations.find_duplicates(ambassador, name="Bénédicte Lambert",
                                       phone="0475 12 34 56", email="benedicte@example.be",
                                       affiliate_number=TAKEN)
    assert [(p.id, reasons) for p, reasons in found] == [(own.id, ["phone", "name"])]


# --- Users who see every person keep today's answers --------------------------------


def test_an_advisor_filing_a_taken_number_is_still_refused(client, login_as, api_client,
                                                           make_user, benedicte, make_person,
                                                           counts):
    login_as("advisor")
    response = client.post_form("/contacts/new", contact_form(name="Marc Dubois",
                                                              affiliate_number=TAKEN))
    assert response.status_code == 422
    assert "This affiliate number belongs to another person." in response.get_data(
        as_text=True)
    response = client.post_form("/people/new", {"name": "Marc Dubois",
                                                "affiliate_number": TAKEN, "language": "fr"})
    assert response.status_code == 422
    # The API files on the person with that number (they see it); a number left on a
    # merged record is a 409.
    api, advisor = api_client("advisor")
    response = api.post("/api/v1/contacts", json={
        "person": {"name": "Marc Dubois", "affiliate_number": TAKEN}, "channel": "phone"})
    assert (response.status_code, response.get_json()["person_id"]) == (201, benedicte.id)
    loser = make_person(advisor, name="Old", affiliate_number="BE-7")
    winner = make_person(advisor, name="New", affiliate_number="BE-8")
    operations.merge_persons(loser, winner, advisor)
    db.session.commit()
    response = api.post("/api/v1/contacts", json={
        "person": {"name": "Marc Dubois", "affiliate_number": "BE-7"}, "channel": "phone"})
    assert response.status_code == 409
    assert not db.session.scalar(db.select(Person).where(Person.duplicate_status.is_not(None)))


# --- The advisors' review -------------------------------------------------------------


@pytest.fixture
def pair(app, make_user, benedicte, make_contact):
    """An ambassador's record flagged against Bénédicte's, with one contact."""
    ambassador = make_user("ambassador", name="Sam Ambassador")
    new = operations.create_person(ambassador, name="Bene Lambert", phone="0475 12 34 56",
                                   affiliate_number=TAKEN)
    db.session.commit()
    contact = make_contact(ambassador, new, summary="Ne dort plus depuis la faillite.")
    return new, contact, ambassador


def test_an_advisor_sees_the_pair_side_by_side(client, login_as, advisor, benedicte, pair):
    new, _contact, ambassador = pair
    client.sign_in(advisor)
    home = client.get("/").get_data(as_text=True)
    assert "1 possible duplicate to review" in home and 'href="/people/duplicates"' in home
    assert 'href="/people/duplicates"' in client.get("/people").get_data(as_text=True)
    response = client.get("/people/duplicates")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for shown in ("Bene Lambert", "Bénédicte Lambert", "benedicte@example.be", "BE104233",
                  "Sam Ambassador", "Ana Janssens", "same affiliate number", "same phone"):
        assert shown in text, shown
    assert f"/people/{new.id}/merge?into={benedicte.id}" in text
    listed = db.session.scalars(db.select(AuditEvent.object_id).where(
        AuditEvent.action == "list", AuditEvent.object_type == "person",
        AuditEvent.user_id == advisor.id)).all()
    assert {str(new.id), str(benedicte.id)} <= set(listed)
    # The ambassador's own home has no such panel.
    client.post_form("/logout")
    client.sign_in(ambassador)
    assert "possible duplicate" not in client.get("/").get_data(as_text=True)


def test_merge_through_the_merge_page_moves_the_contact(client, advisor, benedicte, pair):
    new, contact, _ = pair
    client.sign_in(advisor)
    page = client.get(f"/people/{new.id}/merge?into={benedicte.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f'value="{benedicte.id}"' in text and "Bénédicte Lambert" in text
    response = client.post_form(f"/people/{new.id}/merge",
                                {"winner_id": str(benedicte.id), "confirm": "y"})
    assert (response.status_code, response.headers["Location"]) == (
        303, f"/people/{benedicte.id}")
    assert "Ne dort plus" in client.get(f"/people/{benedicte.id}").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).person_id == benedicte.id
    assert person(new.id).duplicate_status == "merged"
    assert person(benedicte.id).affiliate_number == "BE104233"  # it kept its own
    assert "No possible duplicates to review." in client.get("/people/duplicates").get_data(
        as_text=True)


def test_the_claimed_number_goes_to_a_survivor_without_one(app, advisor, benedicte, pair):
    new, _, _ = pair
    operations.update_person(benedicte, advisor, affiliate_number="")
    db.session.commit()
    operations.merge_persons(new, benedicte, advisor)
    db.session.commit()
    assert person(benedicte.id).affiliate_number == "BE104233"


def test_merging_the_twin_into_the_new_record_resolves_it_too(app, advisor, benedicte, pair):
    new, _, _ = pair
    operations.merge_persons(benedicte, new, advisor)
    db.session.commit()
    assert person(new.id).duplicate_status == "merged"
    assert person(new.id).affiliate_number == "BE104233"  # the loser's, given to the winner
    assert person(new.id).claimed_affiliate_number is None


def test_keep_apart_clears_the_mark_and_drops_the_claimed_number(client, advisor, benedicte,
                                                                pair):
    new, contact, ambassador = pair
    client.sign_in(advisor)
    response = client.post_form(f"/people/duplicates/{new.id}/keep-apart")
    assert (response.status_code, response.headers["Location"]) == (303, "/people/duplicates")
    page = client.get("/people/duplicates").get_data(as_text=True)
    assert "is kept as a separate person." in page and "No possible duplicates" in page
    kept = person(new.id)
    assert (kept.duplicate_status, kept.duplicate_reviewed_by_id) == ("kept_apart", advisor.id)
    assert kept.claimed_affiliate_number is None and "104233" not in kept.search_text
    assert db.session.get(Contact, contact.id).person_id == new.id
    assert audit_actions("keep_apart") == [str(new.id)]
    assert "possible duplicate" not in client.get("/").get_data(as_text=True)
    # Twice: nothing left to decide.
    assert client.post_form(f"/people/duplicates/{new.id}/keep-apart").status_code == 404


@pytest.mark.parametrize("role", ["ambassador", "psychologist", "admin"])
def test_others_cannot_reach_the_review(client, login_as, pair, role):
    new, _, _ = pair
    login_as(role)
    assert client.get("/people/duplicates").status_code == 403
    assert client.post_form(f"/people/duplicates/{new.id}/keep-apart").status_code == 403
    assert person(new.id).duplicate_status == "pending"


def test_keep_apart_needs_the_csrf_token_and_a_pending_record(client, advisor, benedicte,
                                                              pair):
    new, _, _ = pair
    client.sign_in(advisor)
    assert client.post(f"/people/duplicates/{new.id}/keep-apart").status_code == 400
    assert client.post_form(f"/people/duplicates/{benedicte.id}/keep-apart").status_code == 404
    assert person(new.id).duplicate_status == "pending"


def test_the_review_list_does_not_grow_with_its_rows(client, app, make_user, advisor,
                                                     make_person, query_counter):
    ambassador = make_user("ambassador")

    def add_pairs(n, start):
        for i in range(start, start + n):
            twin = make_person(advisor, name=f"Twin {i}", affiliate_number=f"BE-9{i:03}")
            twin_of = operations.create_person(ambassador, name=f"New {i}",
                                               affiliate_number=f"BE-9{i:03}")
            operations.create_contact(ambassador, person=twin_of, channel="phone")
            operations.create_contact(advisor, person=twin, channel="phone")
            db.session.commit()

    client.sign_in(advisor)
    counts = []
    for n, start in ((12, 0), (12, 12)):
        add_pairs(n, start)
        client.get("/people/duplicates")
        with query_counter() as seen:
            response = client.get("/people/duplicates")
        assert response.status_code == 200
        counts.append(seen[0])
    assert counts[0] == counts[1] <= 8, counts
    assert response.get_data(as_text=True).count("duplicate-pair") == 24


# --- Migration --------------------------------------------------------------------------


def test_migration_0016_upgrades_and_downgrades(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    def columns():
        return {c["name"] for c in inspect(db.engine).get_columns("persons")}

    def triggers():
        if db.engine.dialect.name != "sqlite":
            return None
        with db.engine.connect() as conn:
            return sorted(conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'persons'").scalars())

    before = triggers()
    db.session.remove()
    try:
        downgrade(revision="0015")
        assert "claimed_affiliate_number" not in columns() and "affiliate_number" in columns()
    finally:
        upgrade(revision="heads")
    assert {"claimed_affiliate_number", "possible_duplicate_of_id", "duplicate_reasons",
            "duplicate_status", "duplicate_flagged_at", "duplicate_reviewed_at",
            "duplicate_reviewed_by_id"} <= columns()
    indexes = {i["name"] for i in inspect(db.engine).get_indexes("persons")}
    assert {"ix_persons_duplicates_pending", "ix_persons_claimed_affiliate_number"} <= indexes
    # The search table's triggers survive (SQLite): the table was altered, not rebuilt.
    assert triggers() == before


# --- In the browser ---------------------------------------------------------------------


@pytest.mark.browser
def test_advisor_merges_a_possible_duplicate_from_home(page, browser_login, advisor,
                                                       benedicte, pair):
    from playwright.sync_api import expect

    new, contact, _ = pair
    browser_login(advisor)
    page.get_by_role("link", name="1 possible duplicate to review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Possible duplicates")
    pair_card = page.locator(".duplicate-pair")
    expect(pair_card).to_contain_text("Bene Lambert")
    expect(pair_card).to_contain_text("Bénédicte Lambert")
    pair_card.get_by_role("link", name=re.compile("^Merge")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Merge Bene Lambert")
    expect(page.get_by_label("Number of the record to keep")).to_have_value(str(benedicte.id))
    page.get_by_label("I checked: both records are the same person").check()
    page.get_by_role("button", name="Merge").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bénédicte Lambert")
    expect(page.locator(".timeline")).to_contain_text("Ne dort plus depuis la faillite.")
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).person_id == benedicte.id


def test_erasing_a_possible_duplicate_clears_the_number_typed_for_it(api_client, benedicte,
                                                                      make_user):
    """The number kept aside is personal data too: the GDPR export shows it, and the
    anonymisation clears it with the rest (and takes the record out of the review)."""
    from cases.rights import erasure
    from cases.rights.export import person_data

    client, _ = api_client("ambassador")
    answer = client.post("/api/v1/contacts", json={
        "person": {"name": "Marc Dubois", "affiliate_number": TAKEN}, "channel": "phone"})
    new = person(answer.get_json()["person_id"])
    assert person_data(new)["person"]["claimed_affiliate_number"] == "BE104233"
    erasure.anonymise_person(new, "erasure", actor=make_user("supervisor"), forced=True,
                             force_reason="test")
    db.session.commit()
    new = person(new.id)
    assert (new.claimed_affiliate_number, new.duplicate_status,
            new.possible_duplicate_of_id) == (None, None, None)
