"""No pre-ping at every checkout (issue 17): a pooled connection idle for a while is pinged
before a request gets it, and replaced when the database dropped it meanwhile; one used a
moment ago is not, and the request that meets it broken answers 503 once, after which the
pool is renewed (cellule.extensions.ping_idle_connections)."""

import pytest
from sqlalchemy import create_engine, text

from cellule import extensions
from cellule.extensions import db
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="dropping pooled connections needs PostgreSQL "
    "(CELLULE_TEST_DATABASE_URL)")


@pytest.fixture(autouse=True)
def fresh_pool(app):
    """One pooled connection made by the test, none it broke left to the next tests."""
    db.session.remove()
    db.engine.dispose()
    yield
    db.session.remove()
    db.engine.dispose()


def _drop_the_pools_connections(app):
    """End, from outside, every server connection of the app's database but this one."""
    db.session.remove()  # the test's own session gives its connection back first
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=None)
    try:
        with admin.connect() as conn:
            ended = conn.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"), {"name": name})
    finally:
        admin.dispose()
    assert ended >= 1


def test_an_idle_connection_the_database_dropped_is_replaced_before_use(app, monkeypatch):
    client = app.test_client()
    assert client.get("/api/v1/health").status_code == 200  # a pooled connection now
    _drop_the_pools_connections(app)
    monkeypatch.setattr(extensions, "PING_IDLE_AFTER", 0.0)  # it has been idle long enough
    response = client.get("/api/v1/health")
    assert response.status_code == 200 and response.get_json()["database"] == "ok"


def test_a_connection_used_a_moment_ago_is_not_pinged_and_its_loss_answers_503_once(app):
    client = app.test_client()
    assert client.get("/api/v1/health").status_code == 200
    _drop_the_pools_connections(app)
    response = client.get("/api/v1/health")
    assert response.status_code == 503 and response.get_json()["database"] == "down"
    # SQLAlchemy invalidated the pool on that disconnect: the next call gets a new one.
    response = client.get("/api/v1/health")
    assert response.status_code == 200 and response.get_json()["database"] == "ok"
