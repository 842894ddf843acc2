"""Screen-pop links (issue 14): only for staff who may see every person, and single use
within their 30 minutes — the first opening claims the link for its session."""

import pytest

from cellule.extensions import db
from cellule.models import AuditEvent
from contacts import operations
from contacts.models import Contact, ScreenPop
from tests.contacts.test_desk import contact_form


@pytest.fixture
def benedicte(app, make_user, make_person):
    return make_person(make_user("advisor"), name="Bénédicte Lambert", phone="0475 12 34 56")


@pytest.fixture
def pop_url(app, make_user, benedicte):
    token = operations.create_screen_pop(make_user("advisor"), call_id="pbx-9",
                                         phone="+32475123456")
    db.session.commit()
    return f"/contacts/new?pop={token}"


def audit_actions(object_type="screen_pop"):
    return [(e.action, e.user_id) for e in db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.object_type == object_type)
        .order_by(AuditEvent.id))]


def the_pop():
    db.session.expire_all()
    return db.session.scalar(db.select(ScreenPop))


def test_an_ambassador_gets_a_404_and_nothing_of_the_caller(client, login_as, pop_url):
    ambassador = login_as("ambassador")
    page = client.get(pop_url)
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert "Bénédicte" not in text and "+32 475" not in text and "+32475" not in text
    assert ("denied", ambassador.id) in audit_actions()
    # Refused before any claim: the advisor who answers still opens it.
    assert the_pop().opened_at is None
    post = client.post_form("/contacts/new", contact_form(pop=pop_url.split("pop=")[1]))
    assert post.status_code == 404
    assert db.session.scalar(db.select(db.func.count(Contact.id))) == 0


def test_the_link_opens_once_for_the_advisor_who_answers(app, client, login_as, make_user,
                                                        pop_url, benedicte):
    advisor = login_as("advisor")
    page = client.get(pop_url)
    assert page.status_code == 200
    assert "Bénédicte Lambert" in page.get_data(as_text=True)
    pop = the_pop()
    assert pop.opened_by_id == advisor.id and pop.opened_at is not None
    assert ("open", advisor.id) in audit_actions()

    # Another advisor (or the same one elsewhere) is refused: a clear 410, nothing shown.
    other = app.test_client()
    second_advisor = make_user("advisor")
    assert other.login(second_advisor).status_code == 302
    second = other.get(pop_url)
    assert second.status_code == 410
    text = second.get_data(as_text=True)
    assert "already used" in text and "Bénédicte" not in text and "+32 475" not in text
    assert ("denied", second_advisor.id) in audit_actions()
    assert the_pop().opened_by_id == advisor.id

    # The session that opened it goes on: the form's own pages, then the save.
    assert client.get(pop_url + f"&person={benedicte.id}").status_code == 200
    token = pop_url.split("pop=")[1]
    saved = client.post_form("/contacts/new", contact_form(person_id=benedicte.id, pop=token))
    assert saved.status_code == 303
    assert db.session.scalar(db.select(Contact)).call_id == "pbx-9"


def test_the_same_advisor_signing_in_again_is_refused(client, make_user, pop_url):
    advisor = make_user("advisor")
    assert client.login(advisor).status_code == 302
    assert client.get(pop_url).status_code == 200
    client.post_form("/logout")
    assert client.login(advisor).status_code == 302
    assert client.get(pop_url).status_code == 410



def test_migration_0015_upgrades_and_downgrades(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    def columns():
        return {c["name"] for c in inspect(db.engine).get_columns("screen_pops")}

    db.session.remove()
    try:
        downgrade(revision="0014")
        assert "opened_at" not in columns() and "digest" in columns()
    finally:
        upgrade(revision="heads")
    assert {"opened_at", "opened_by_id"} <= columns()
