"""Fixtures of the contacts domain: people, contacts and counting rows and queries."""

import pytest
from sqlalchemy import event, func, select

from cellule.extensions import db
from cellule.models import AuditEvent
from contacts import operations
from contacts.models import Contact, Person


@pytest.fixture
def make_person(app):
    """Create a person as `user` (committed): `make_person(user, name="…", phone="…")`."""

    def factory(user, **values):
        values.setdefault("name", "Jeanne Martin")
        person = operations.create_person(user, **values)
        db.session.commit()
        return person

    return factory


@pytest.fixture
def make_contact(app):
    """Log a contact as `user` (committed): `make_contact(user, person, channel="phone")`."""

    def factory(user, person=None, **values):
        values.setdefault("channel", "phone")
        contact = operations.create_contact(user, person=person, **values)
        db.session.commit()
        return contact

    return factory


@pytest.fixture
def counts(app):
    """Return a function giving (persons, contacts) row counts."""

    def count():
        db.session.expire_all()
        return (
            db.session.scalar(select(func.count(Person.id))),
            db.session.scalar(select(func.count(Contact.id))),
        )

    return count


@pytest.fixture
def audit_rows(app):
    """Return a function listing (action, object_type, object_id, user_id) audit rows."""

    def rows(object_type=None):
        stmt = select(
            AuditEvent.action, AuditEvent.object_type, AuditEvent.object_id, AuditEvent.user_id
        ).order_by(AuditEvent.id)
        if object_type:
            stmt = stmt.where(AuditEvent.object_type == object_type)
        return db.session.execute(stmt).all()

    return rows


@pytest.fixture
def query_counter(app):
    """Count the SQL statements run inside a `with query_counter() as n:` block (n[0])."""
    from contextlib import contextmanager

    @contextmanager
    def counter():
        seen = [0]

        def before(conn, cursor, statement, *args):
            seen[0] += 1

        engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counter
