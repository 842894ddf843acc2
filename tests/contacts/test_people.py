"""People: the person form, duplicate warnings, the person page, merging, access rules."""

import pytest

from cellule.extensions import db
from contacts import operations
from contacts.models import Contact, Person
from contacts.signals import person_merged


def new_person_form(**values):
    data = {"name": "Bénédicte Lambert", "phone": "0475 12 34 56", "email": "",
            "affiliate_number": "", "language": "fr", "sector": "horeca"}
    data.update(values)
    return data


# --- Creating and editing --------------------------------------------------


def test_advisor_creates_a_person_with_a_normalised_phone(client, login_as, counts, audit_rows):
    advisor = login_as("advisor")
    response = client.post_form("/people/new", new_person_form(email="B.Lambert@Example.be"))
    assert response.status_code == 303
    person = db.session.scalar(db.select(Person))
    assert response.headers["Location"] == f"/people/{person.id}"
    assert (person.phone, person.phone_valid) == ("+32475123456", True)
    assert person.email == "b.lambert@example.be"
    assert person.created_by_id == advisor.id
    assert person.sector == "horeca" and person.affiliate_number is None
    assert ("create", "person", str(person.id), advisor.id) in audit_rows("person")


def test_unreadable_phone_is_kept_as_typed(client, login_as):
    login_as("advisor")
    client.post_form("/people/new", new_person_form(phone="après 18 h au bureau"))
    person = db.session.scalar(db.select(Person))
    assert (person.phone, person.phone_valid) == ("après 18 h au bureau", False)


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", ""),
        ("name", "x" * 201),
        ("email", "not-an-email"),
        ("phone", "0" * 41),
        ("affiliate_number", "AB#12"),
        ("language", "xx"),
        ("sector", "piracy"),
    ],
)
def test_bad_person_input_names_the_field_and_writes_nothing(client, login_as, counts, field,
                                                              value):
    login_as("advisor")
    response = client.post_form("/people/new", new_person_form(**{field: value}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert f'id="{field}" ' in page and 'aria-invalid="true"' in page
    assert counts() == (0, 0)


def test_affiliate_number_is_unique(client, login_as, make_person, counts):
    advisor = login_as("advisor")
    make_person(advisor, name="Koen Wouters", affiliate_number="BE-310045")
    response = client.post_form(
        "/people/new", new_person_form(name="Someone Else", affiliate_number="be 310045")
    )
    assert response.status_code == 422
    assert 'id="affiliate_number-error"' in response.get_data(as_text=True)
    assert counts() == (1, 0)


def test_empty_affiliate_numbers_never_collide(client, login_as, make_person):
    advisor = login_as("advisor")
    make_person(advisor, name="A", affiliate_number="")
    make_person(advisor, name="B", affiliate_number=None)
    assert db.session.scalar(db.select(db.func.count(Person.id))) == 2


def test_editing_a_person_is_audited_with_field_names_only(client, login_as, make_person,
                                                           audit_rows):
    advisor = login_as("advisor")
    person = make_person(advisor, name="Koen Wouters", phone="09 223 45 67")
    response = client.post_form(
        f"/people/{person.id}/edit",
        new_person_form(name="Koen Wouters", phone="0471 00 11 22", sector="", language="nl"),
    )
    assert response.status_code == 303
    person = db.session.get(Person, person.id)
    assert person.phone == "+32471001122" and person.language == "nl"
    from cellule.models import AuditEvent

    event = db.session.scalar(
        db.select(AuditEvent).where(AuditEvent.action == "update").order_by(AuditEvent.id.desc())
    )
    assert "0471" not in (event.detail or "")
    assert "phone" in event.detail


# --- Duplicates ------------------------------------------------------------


def test_find_duplicates_by_phone_email_affiliate_and_name(app, make_user, make_person):
    advisor = make_user("advisor")
    a = make_person(advisor, name="Bénédicte Lambert", phone="0475 12 34 56")
    b = make_person(advisor, name="B. Lambert", email="bl@example.be")
    c = make_person(advisor, name="Other", affiliate_number="BE-1")
    d = make_person(advisor, name="BENEDICTE LAMBERT")
    found = operations.find_duplicates(
        advisor, name="Benedicte  Lambert", phone="+32 475 12 34 56", email="BL@example.be",
        affiliate_number="be1",
    )
    assert {p.id: reasons for p, reasons in found} == {
        a.id: ["phone", "name"],
        b.id: ["email"],
        c.id: ["affiliate_number"],
        d.id: ["name"],
    }
    assert operations.find_duplicates(advisor, name="Nobody", phone="0499 99 99 99") == []


def test_new_person_warns_about_a_likely_duplicate_then_allows_it(client, login_as, make_person,
                                                                  counts):
    advisor = login_as("advisor")
    known = make_person(advisor, name="Pieter Van den Bossche", phone="+32 486 22 41 07")
    response = client.post_form(
        "/people/new", new_person_form(name="Piet Van den Bossche", phone="0486/22.41.07")
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="duplicates"' in page and f"/people/{known.id}" in page
    assert 'name="confirm_duplicate"' in page
    assert counts() == (1, 0)
    response = client.post_form(
        "/people/new",
        new_person_form(name="Piet Van den Bossche", phone="0486/22.41.07", confirm_duplicate="y"),
    )
    assert response.status_code == 303
    assert counts() == (2, 0)


# --- Merging ---------------------------------------------------------------


@pytest.fixture
def two_records(app, make_user, make_person, make_contact):
    advisor = make_user("advisor")
    winner = make_person(advisor, name="Sofie Claes", phone="0496 55 44 33")
    loser = make_person(advisor, name="Sofie Claes", email="sofie@example.be",
                        affiliate_number="BE-400178", sector="care")
    for _ in range(2):
        make_contact(advisor, loser, summary="via the other record")
    make_contact(advisor, winner)
    return advisor, winner, loser


def test_merge_repoints_contacts_keeps_the_loser_as_pointer_and_signals(two_records,
                                                                        audit_rows):
    advisor, winner, loser = two_records
    received = []

    def receiver(sender, loser_id, winner_id):
        # Inside the transaction: the contacts are already re-pointed.
        moved = db.session.scalar(
            db.select(db.func.count(Contact.id)).where(Contact.person_id == winner_id)
        )
        received.append((loser_id, winner_id, moved))

    person_merged.connect(receiver)
    try:
        moved = operations.merge_persons(loser, winner, advisor)
        db.session.commit()
    finally:
        person_merged.disconnect(receiver)
    assert moved == 2
    assert received == [(loser.id, winner.id, 3)]
    db.session.expire_all()
    loser, winner = db.session.get(Person, loser.id), db.session.get(Person, winner.id)
    assert loser.merged_into_id == winner.id and loser.merged_by_id == advisor.id
    assert loser.name == "Sofie Claes"  # nothing is deleted
    assert (winner.email, winner.affiliate_number, winner.sector) == (
        "sofie@example.be", "BE400178", "care")
    assert loser.affiliate_number is None
    assert db.session.scalar(
        db.select(db.func.count(Contact.id)).where(Contact.person_id == winner.id)) == 3
    rows = audit_rows("person")
    assert ("merge", "person", str(loser.id), advisor.id) in rows
    assert ("update", "person", str(winner.id), advisor.id) in rows


def test_a_failing_receiver_rolls_the_merge_back(two_records):
    advisor, winner, loser = two_records

    def broken(sender, loser_id, winner_id):
        raise RuntimeError("cases could not follow")

    person_merged.connect(broken)
    try:
        with pytest.raises(RuntimeError):
            operations.merge_persons(loser, winner, advisor)
    finally:
        person_merged.disconnect(broken)
    db.session.rollback()
    assert db.session.get(Person, loser.id).merged_into_id is None
    assert db.session.scalar(
        db.select(db.func.count(Contact.id)).where(Contact.person_id == loser.id)) == 2


def test_merge_refuses_self_and_merged_records(two_records, make_person):
    advisor, winner, loser = two_records
    with pytest.raises(operations.MergeError):
        operations.merge_persons(winner, winner, advisor)
    operations.merge_persons(loser, winner, advisor)
    db.session.commit()
    with pytest.raises(operations.MergeError):
        operations.merge_persons(loser, winner, advisor)


def test_merge_page_for_advisors(client, login_as, make_person, make_contact, counts):
    advisor = login_as("advisor")
    winner = make_person(advisor, name="Sofie Claes", phone="0496 55 44 33")
    loser = make_person(advisor, name="Sofie  CLAES")
    make_contact(advisor, loser)
    page = client.get(f"/people/{loser.id}/merge")
    assert page.status_code == 200
    assert f"/people/{winner.id}" in page.get_data(as_text=True)  # offered as a candidate
    # Not confirmed: nothing happens.
    response = client.post_form(f"/people/{loser.id}/merge", {"winner_id": winner.id})
    assert response.status_code == 422
    assert db.session.get(Person, loser.id).merged_into_id is None
    # Into itself or a record that does not exist: refused.
    for bad in (loser.id, 999999, "abc"):
        response = client.post_form(f"/people/{loser.id}/merge",
                                    {"winner_id": bad, "confirm": "y"})
        assert response.status_code == 422
    response = client.post_form(f"/people/{loser.id}/merge",
                                {"winner_id": winner.id, "confirm": "y"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/people/{winner.id}"
    assert db.session.get(Person, loser.id).merged_into_id == winner.id
    # The loser's page now leads to the winner.
    response = client.get(f"/people/{loser.id}")
    assert response.status_code == 302 and response.headers["Location"] == f"/people/{winner.id}"


@pytest.mark.parametrize("role", ["ambassador", "psychologist", "admin"])
def test_only_advisors_and_supervisors_merge(client, login_as, make_user, make_person, role):
    owner = make_user("advisor")
    a, b = make_person(owner, name="A"), make_person(owner, name="B")
    login_as(role)
    assert client.get(f"/people/{a.id}/merge").status_code == 403
    response = client.post_form(f"/people/{a.id}/merge", {"winner_id": b.id, "confirm": "y"})
    assert response.status_code == 403
    assert db.session.get(Person, a.id).merged_into_id is None


def test_supervisor_may_merge(client, login_as, make_person):
    supervisor = login_as("supervisor")
    a, b = make_person(supervisor, name="A"), make_person(supervisor, name="B")
    response = client.post_form(f"/people/{a.id}/merge", {"winner_id": b.id, "confirm": "y"})
    assert response.status_code == 303


# --- The person page and access --------------------------------------------


def test_person_page_shows_contacts_newest_first_and_audits(client, login_as, make_person,
                                                            make_contact, audit_rows):
    from datetime import timedelta

    from cellule.types import utcnow

    advisor = login_as("advisor")
    person = make_person(advisor, name="Koen Wouters")
    old = make_contact(advisor, person, summary="first call",
                       occurred_at=utcnow() - timedelta(days=3))
    new = make_contact(advisor, person, channel="email", summary="une envie d'en finir",
                       occurred_at=utcnow() - timedelta(days=1))
    page = client.get(f"/people/{person.id}").get_data(as_text=True)
    assert page.index(f"/contacts/{new.id}") < page.index(f"/contacts/{old.id}")
    assert "badge-flag" in page
    rows = audit_rows()
    assert ("read", "person", str(person.id), advisor.id) in rows
    assert ("list", "contact", str(old.id), advisor.id) in rows


def test_ambassador_sees_only_own_people_and_own_contacts(client, login_as, make_user,
                                                          make_person, make_contact, audit_rows):
    advisor = make_user("advisor")
    theirs = make_person(advisor, name="Not Yours")
    ambassador = login_as("ambassador")
    mine = make_person(ambassador, name="Mine")
    own = make_contact(ambassador, mine, channel="internal_referral", summary="mine")
    other = make_contact(advisor, mine, summary="advisor's note")
    assert client.get(f"/people/{theirs.id}").status_code == 404
    assert client.get(f"/people/{theirs.id}/edit").status_code == 404
    assert ("denied", "person", str(theirs.id), ambassador.id) in audit_rows()
    page = client.get(f"/people/{mine.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f"/contacts/{own.id}" in text and f"/contacts/{other.id}" not in text
    assert client.get(f"/contacts/{other.id}").status_code == 404
    assert client.get(f"/contacts/{own.id}").status_code == 200


@pytest.mark.parametrize("url", ["/people", "/people/new", "/contacts/new", "/referrals/new",
                                 "/inbox", "/people/{id}", "/contacts/{cid}"])
def test_admin_sees_no_person_or_contact(client, login_as, make_user, make_person, make_contact,
                                         url):
    advisor = make_user("advisor")
    person = make_person(advisor)
    contact = make_contact(advisor, person)
    login_as("admin")
    response = client.get(url.format(id=person.id, cid=contact.id))
    assert response.status_code == 403
    assert person.name not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["advisor", "psychologist", "supervisor"])
def test_casework_roles_see_every_person(client, login_as, make_user, make_person, role):
    person = make_person(make_user("ambassador"), name="Referred Person")
    login_as(role)
    assert client.get(f"/people/{person.id}").status_code == 200


def test_anonymous_visitor_is_sent_to_login(client, make_user, make_person):
    person = make_person(make_user("advisor"))
    response = client.get(f"/people/{person.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_person_is_404(client, login_as):
    login_as("advisor")
    assert client.get("/people/999999").status_code == 404
    assert client.get("/people/99999999999999999999999").status_code == 404
