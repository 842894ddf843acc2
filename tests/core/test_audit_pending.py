"""cellule.audit: a request's reads wait for its transaction (issue 17)."""

from sqlalchemy import func, select

from cellule import audit
from cellule.extensions import db
from cellule.models import AuditEvent, User


def _count(**where):
    query = select(func.count()).select_from(AuditEvent)
    for key, value in where.items():
        query = query.where(getattr(AuditEvent, key) == value)
    return db.session.scalar(query)


def test_reads_go_with_the_requests_own_commit(app, make_user):
    user = make_user("advisor")
    with app.test_request_context("/"):
        audit.read("person", 7)
        audit.listed("contact", [1, 2, 3])
        assert audit.pending()
        user.name = "Renamed"
        db.session.commit()  # the request's write: the reads join it
        assert not audit.pending()
    assert _count(action="read", object_id="7") == 1
    assert _count(action="list", object_type="contact") == 3


def test_a_rolled_back_write_keeps_the_reads_and_drops_itself(app, make_user):
    user = make_user("advisor")
    with app.test_request_context("/"):
        audit.read("case", 42)
        user.name = "Half written"
        db.session.flush()
        db.session.rollback()  # the request's change was refused
        assert audit.pending()
        audit.commit_pending()
    db.session.expire_all()
    assert _count(action="read", object_id="42") == 1
    assert db.session.get(User, user.id).name != "Half written"


def test_the_end_of_a_request_commits_no_change_it_left_uncommitted(app, make_user):
    """A view that returns without committing (nor rolling back) its change: the end of
    the request writes the reads alone, as the request's teardown would have dropped it."""
    user = make_user("advisor")
    with app.test_request_context("/"):
        audit.read("case", 43)
        user.name = "Never committed"
        db.session.flush()
        audit.commit_pending()
    db.session.expire_all()
    assert _count(action="read", object_id="43") == 1
    assert db.session.get(User, user.id).name != "Never committed"


def test_outside_a_request_a_read_commits_at_once(app):
    audit.read("person", 9)
    db.session.rollback()
    assert _count(action="read", object_id="9") == 1


def test_a_refusal_drops_what_the_request_wrote_before_it(app, make_user):
    user = make_user("advisor")
    with app.test_request_context("/"):
        user.name = "Written before the refusal"
        db.session.flush()
        audit.denied("case", 44)
    db.session.expire_all()
    assert _count(action="denied", object_id="44") == 1
    assert db.session.get(User, user.id).name != "Written before the refusal"
    user.name = "Pending, not flushed"
    with app.test_request_context("/"):
        audit.denied("case", 45)
    db.session.expire_all()
    assert db.session.get(User, user.id).name != "Pending, not flushed"


def test_a_refusal_that_wrote_nothing_keeps_what_the_request_loaded(app, make_user):
    """No ROLLBACK when there is nothing to roll back: the objects the request loaded (the
    signed-in user of every page) are not read again to record and show the refusal."""
    from flask_login import login_user
    from sqlalchemy import event

    user = make_user("advisor")
    sent = []

    def count(conn, cursor, statement, *args):
        sent.append(statement)

    with app.test_request_context("/"):
        login_user(user)
        assert user.name  # loaded, as the page that is refused has it
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            audit.denied("case", 46)
            assert user.name  # what the error page shows
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert [s.split()[0] for s in sent] == ["INSERT"], sent
    db.session.expire_all()
    assert _count(action="denied", object_id="46", user_id=user.id) == 1
