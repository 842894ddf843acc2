"""A token's last-used time (issue 17): written at most once a minute, in the call's own
transaction — one UPDATE, no second commit, nothing reloaded — or committed alone at the
end of a call that commits nothing else; a call whose token was used less than a minute
ago writes nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from bench.presets import LEVEL_ANSWERS
from cellule.extensions import db
from cellule.models import ApiToken
from cellule.types import utcnow


def _last_used(user):
    db.session.expire_all()
    return db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == user.id))


def _age(user, minutes):
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id)
                       .values(last_used_at=utcnow() - timedelta(minutes=minutes)))
    db.session.commit()


CALLS = {
    # A write: the touch joins its commit.
    "write": ("POST", "/api/v1/contacts", lambda p: {"person_id": p.id, "channel": "phone"},
              201),
    # A read: the touch joins the commit of its audit row.
    "read": ("GET", "/api/v1/contacts", None, 200),
    # Nothing stored: the touch is committed alone.
    "evaluate": ("POST", "/api/v1/triage/evaluate",
                 {"answers": LEVEL_ANSWERS["serious"], "language": "fr"}, 200),
    # Refused: nothing of the call is kept, the touch is.
    "not found": ("GET", "/api/v1/contacts/999999", None, 404),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_call_writes_a_stale_last_used_time_in_its_one_commit(name, api_client, make_person,
                                                                app):
    client, user = api_client("advisor")
    person = make_person()
    method, path, body, status = CALLS[name]
    body = body(person) if callable(body) else body
    _age(user, 2)
    before = _last_used(user)
    seen = {"commits": 0, "statements": []}

    def commit(*args):
        seen["commits"] += 1

    def statement(conn, cursor, sql, *args):
        seen["statements"].append(sql)

    event.listen(db.engine, "commit", commit)
    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        response = client.open(path, method=method, json=body)
    finally:
        event.remove(db.engine, "commit", commit)
        event.remove(db.engine, "before_cursor_execute", statement)
    assert response.status_code == status, response.get_json()
    assert _last_used(user) > before + timedelta(minutes=1)
    assert seen["commits"] == 1
    assert sum(s.startswith("UPDATE api_tokens") for s in seen["statements"]) == 1

    # Used a moment ago: the next call writes nothing.
    used = _last_used(user)
    seen["statements"].clear()
    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        client.open(path, method=method, json=body)
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
    assert not any(s.startswith("UPDATE api_tokens") for s in seen["statements"])
    assert _last_used(user) == used
