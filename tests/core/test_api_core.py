"""API authentication, JSON errors, health and the OpenAPI document."""

import pytest
from sqlalchemy import select

from cellule import create_app
from cellule.extensions import db
from cellule.models import ApiToken
from tests.conftest import base_config


def test_health_reports_ok(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.get_json()
    assert {name: body[name] for name in ("status", "database", "redis")} == {
        "status": "ok", "database": "ok", "redis": "ok"}
    assert body["mail_quarantine"] == 0  # emails awaiting an admin (issue 12)


def test_health_is_503_when_redis_is_down(database_url, tmp_path):
    app = create_app(base_config(database_url, "redis://127.0.0.1:1/0"), tmp_path)
    response = app.test_client().get("/api/v1/health")
    assert response.status_code == 503
    assert response.get_json()["redis"] == "down"
    assert response.get_json()["database"] == "ok"


def test_health_is_503_when_the_database_is_down(redis_url, tmp_path):
    url = "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=1"
    app = create_app(base_config(url, redis_url), tmp_path)
    response = app.test_client().get("/api/v1/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "down" and body["status"] == "down"


def test_api_without_token_is_401_json(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200  # the document itself is public
    response = client.post("/api/v1/health")
    assert response.status_code == 405
    assert response.get_json() == {"error": "method not allowed"}


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not found"


def test_token_is_stored_hashed(api_client):
    client, user = api_client("advisor")
    token = client.environ_base["HTTP_AUTHORIZATION"].split()[1]
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token not in (row.digest, row.prefix + "x")
    assert row.digest == ApiToken.digest_of(token)


def test_revoked_token_is_refused(app, api_client):
    from cellule.types import utcnow

    client, user = api_client("advisor")
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    row.revoked_at = utcnow()
    db.session.commit()
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["error"]


@pytest.mark.own_app  # it adds views to the app
def test_a_500_never_leaks_a_traceback(app, client):
    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals")

    @app.get("/boom")
    def boom_html():
        raise RuntimeError("secret internals")

    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal error"}
    page = client.get("/boom")
    assert page.status_code == 500
    assert "secret internals" not in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)


def test_openapi_document_lists_health(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/health" in spec["paths"]


def test_token_acts_as_its_user(api_client):
    client, user = api_client("psychologist")
    assert client.get("/api/v1/me").get_json() == {
        "id": user.id, "name": user.name, "role": "psychologist"
    }


def test_missing_or_malformed_token_is_401(client):
    assert client.get("/api/v1/me").status_code == 401
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer cel_nope"})
    assert bad.status_code == 401 and bad.get_json()["error"]
    basic = client.get("/api/v1/me", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401


def test_session_cookie_does_not_authenticate_the_api(client, login_as):
    login_as("advisor")
    assert client.get("/api/v1/me").status_code == 401


def test_oversized_body_is_413(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/api/v1/me", data="x" * 5000, content_type="application/json")
    assert response.status_code in (405, 413)
    page = client.post("/login", data={"email": "x" * 5000})
    assert page.status_code == 413


def test_a_role_refused_on_a_long_path_is_a_403_audited_with_its_path(api_client):
    """The refusal's audit row names the operation (an id holds 40 characters, a path may
    hold more) and keeps the path in its detail: a 403, never a 500."""
    from cellule.models import AuditEvent

    client, _ = api_client("ambassador")
    path = "/api/v1/cases/1234567890/caring-messages/stop"
    response = client.post(path, json={"reason": "person_asked"})
    assert response.status_code == 403, response.get_data(as_text=True)
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "denied")
                             .order_by(AuditEvent.id.desc())).first()
    assert row.object_type == "api" and len(row.object_id) <= 40
    assert path in row.detail
