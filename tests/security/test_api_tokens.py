"""API tokens (issue 14, low finding): named, expiring, their last use shown to the owner
and to administrators, revocable by both; the owner's password change and deactivation
revoke them; signing out does not (cellule.tokens says why)."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from cellule.extensions import db
from cellule.models import ApiToken, AuditEvent
from cellule.types import UTCDateTime, utcnow
from tests.security.conftest import PASSWORD, page_text

NEW_PASSWORD = "a completely different passphrase 42"


def me(app, token):
    return app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def issue(user, name="telephony", days=None):
    row, token = ApiToken.issue(user, name, **({} if days is None else {"days": days}))
    db.session.add(row)
    db.session.commit()
    return row, token


def token_row(page, token_id):
    """The text of one token's row on a page."""
    match = re.search(rf'<tr id="token-{token_id}">(.*?)</tr>', page, re.S)
    assert match, f"no row for token {token_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


def make_token_on_account_page(client, name="Telephony desk", days="30"):
    response = client.post_form("/account/tokens", {"name": name, "days": days})
    assert response.status_code == 200, page_text(response)[:2000]
    page = page_text(response)
    match = re.search(r'id="new-token" value="(cel_[^"]+)"', page)
    assert match, "the new token is not shown"
    return match.group(1), page


def _stale(user, minutes=60):
    from cellule.models import UserSession

    with db.engine.begin() as conn:
        conn.execute(
            sa.update(UserSession)
            .where(UserSession.user_id == user.id)
            .values(auth_at=utcnow() - timedelta(minutes=minutes))
        )


# --- expiry ------------------------------------------------------------------------------


def test_an_expired_token_answers_401_token_expired(app, make_user):
    user = make_user("advisor")
    row, token = issue(user)
    assert me(app, token).status_code == 200
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = me(app, token)
    assert response.status_code == 401
    assert response.get_json() == {"error": "token expired"}


def test_a_new_token_lives_the_configured_term(app, make_user):
    user = make_user("advisor")
    row, _ = issue(user)
    assert abs(row.expires_at - (utcnow() + timedelta(days=180))) < timedelta(minutes=1)
    app.config["API_TOKEN_DAYS"] = 30
    row, _ = issue(user)
    assert abs(row.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)


# --- the owner's account page ------------------------------------------------------------


def test_a_token_made_on_the_account_page_works_shows_its_use_and_its_owner_revokes_it(
    app, client, login_as
):
    user = login_as("ambassador")  # any role: the token has the role's rights, no more
    token, page = make_token_on_account_page(client, "Telephony desk", "30")
    assert "it is not stored and will not be shown again" in page
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.label == "Telephony desk" and row.digest != token
    assert abs(row.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)

    account = page_text(client.get("/account/"))
    assert token not in account  # shown once, never again
    before = token_row(account, row.id)
    assert "Telephony desk" in before and token[:12] in before and "never" in before

    assert me(app, token).get_json()["id"] == user.id
    after = token_row(page_text(client.get("/account/")), row.id)
    assert "never" not in after and "active" in after

    response = client.post_form(f"/account/tokens/{row.id}/revoke")
    assert response.status_code == 302
    assert "was revoked" in page_text(client.get(response.headers["Location"]))
    answer = me(app, token)
    assert answer.status_code == 401 and answer.get_json()["error"] == "invalid or revoked token"
    assert "revoked" in token_row(page_text(client.get("/account/")), row.id)
    assert db.session.scalar(
        select(AuditEvent.user_id).where(AuditEvent.action == "api_token_revoked")
    ) == user.id


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"name": "", "days": "30"}, "This field is required."),
        ({"name": "   ", "days": "30"}, "This field is required."),
        ({"name": "x" * 101, "days": "30"}, "Field cannot be longer than 100 characters."),
        ({"name": "ok", "days": "0"}, "Choose between 1 and 365 days."),
        ({"name": "ok", "days": "366"}, "Choose between 1 and 365 days."),
        ({"name": "ok", "days": "-5"}, "Choose between 1 and 365 days."),
        ({"name": "ok", "days": "soon"}, "Choose between 1 and 365 days."),
        ({"name": "ok", "days": ""}, "Choose between 1 and 365 days."),
    ],
)
def test_the_token_form_refuses_bad_input(client, login_as, fields, message):
    login_as("advisor")
    response = client.post_form("/account/tokens", fields)
    assert response.status_code == 422
    assert message in page_text(response)
    assert db.session.scalar(select(sa.func.count(ApiToken.id))) == 0


def test_the_account_page_offers_the_configured_term(app, client, login_as):
    app.config["API_TOKEN_DAYS"] = 90
    login_as("advisor")
    page = page_text(client.get("/account/"))
    assert re.search(r'<input[^>]*name="days"[^>]*value="90"', page)


def test_making_a_token_needs_a_recent_sign_in(client, login_as):
    user = login_as("advisor")
    _stale(user)
    response = client.post_form("/account/tokens", {"name": "x", "days": "30"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/account/confirm")
    assert db.session.scalar(select(sa.func.count(ApiToken.id))) == 0


def test_at_most_twenty_live_tokens(client, login_as):
    user = login_as("advisor")
    for _ in range(20):
        issue(user)
    response = client.post_form("/account/tokens", {"name": "one more", "days": "30"})
    assert response.status_code == 422
    assert "revoke one you no longer use first" in page_text(response)


def test_an_owner_cannot_revoke_someone_elses_token(app, client, login_as, make_user):
    login_as("advisor")
    row, token = issue(make_user("advisor"))
    assert client.post_form(f"/account/tokens/{row.id}/revoke").status_code == 404
    assert me(app, token).status_code == 200


# --- administrators -----------------------------------------------------------------------


def test_an_admin_sees_and_revokes_another_users_token_and_never_sees_it(
    app, client, login_as, make_user
):
    owner = make_user("advisor", name="Anne Advisor")
    row, token = issue(owner, "Telephony desk")
    me(app, token)  # used once
    admin = login_as("admin")

    users = page_text(client.get("/admin/users/"))
    assert f'href="/admin/users/{owner.id}/tokens"' in users
    page = page_text(client.get(f"/admin/users/{owner.id}/tokens"))
    assert "Anne Advisor" in page
    text = token_row(page, row.id)
    assert "Telephony desk" in text and token[:12] in text and "never" not in text
    assert token not in page and token[12:] not in page  # never the clear token

    response = client.post_form(f"/admin/users/{owner.id}/tokens/{row.id}/revoke")
    assert response.status_code == 302
    assert me(app, token).status_code == 401
    page = page_text(client.get(f"/admin/users/{owner.id}/tokens"))
    assert "revoked" in token_row(page, row.id) and "by an administrator" in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token_revoked"))
    assert event.user_id == admin.id and event.object_id == str(row.id)


def test_an_admin_revokes_only_through_the_owners_page(client, login_as, make_user):
    login_as("admin")
    row, _ = issue(make_user("advisor"))
    other = make_user("advisor")
    assert client.post_form(f"/admin/users/{other.id}/tokens/{row.id}/revoke").status_code == 404
    assert db.session.get(ApiToken, row.id).revoked_at is None


@pytest.mark.parametrize("role", ["ambassador", "advisor", "psychologist", "supervisor"])
def test_only_admins_see_a_users_tokens(client, login_as, make_user, role):
    login_as(role)
    row, _ = issue(make_user("advisor"))
    assert client.get(f"/admin/users/{row.user_id}/tokens").status_code == 403
    assert client.post_form(f"/admin/users/{row.user_id}/tokens/{row.id}/revoke").status_code \
        == 403


# --- what revokes them all (and what does not) ----------------------------------------------


def test_the_owners_password_change_revokes_their_tokens_and_says_so(app, client, login_as):
    user = login_as("advisor")
    _, token = issue(user)
    assert me(app, token).status_code == 200
    response = client.post_form(
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert "your API token was revoked" in page_text(client.get("/account/"))
    assert me(app, token).status_code == 401


def test_deactivation_revokes_and_reactivation_does_not_bring_them_back(
    app, client, login_as, make_user
):
    owner = make_user("advisor")
    _, token = issue(owner)
    login_as("admin")
    client.post_form(f"/admin/users/{owner.id}/deactivate")
    assert me(app, token).status_code == 401
    client.post_form(f"/admin/users/{owner.id}/activate")
    assert me(app, token).status_code == 401


def test_signing_out_keeps_the_tokens(app, client, login_as):
    user = login_as("advisor")
    _, token = issue(user)
    client.post_form("/logout")
    assert me(app, token).status_code == 200


# --- command line ----------------------------------------------------------------------------


def test_cli_names_the_token_and_prints_its_expiry(app, make_user):
    user = make_user("advisor")
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", user.email, "--name", "PBX", "--days", "7"]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.label == "PBX" and row.digest == ApiToken.digest_of(token)
    assert f"{row.expires_at:%Y-%m-%d %H:%M} UTC" in result.stderr
    assert abs(row.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
    assert me(app, token).status_code == 200


def test_cli_defaults_and_the_old_label_option(app, make_user):
    user = make_user("advisor")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["tokens", "create", user.email]).exit_code == 0
    assert runner.invoke(args=["tokens", "create", user.email, "--label", "old"]).exit_code == 0
    rows = db.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
    assert [r.label for r in rows] == ["cli", "old"]
    assert abs(rows[0].expires_at - (utcnow() + timedelta(days=180))) < timedelta(minutes=1)


@pytest.mark.parametrize("args, message", [
    (["--days", "0"], "between 1 and 365"),
    (["--days", "366"], "between 1 and 365"),
    (["--name", " "], "a name of 1 to 100 characters"),
    (["--name", "x" * 101], "a name of 1 to 100 characters"),
])
def test_cli_refuses_bad_options(app, make_user, args, message):
    user = make_user("advisor")
    result = app.test_cli_runner().invoke(args=["tokens", "create", user.email, *args])
    assert result.exit_code != 0 and message in result.output
    assert db.session.scalar(select(sa.func.count(ApiToken.id))) == 0


# --- migration -------------------------------------------------------------------------------


def test_migration_0017_upgrades_and_downgrades(app, make_user):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    user_id = make_user("advisor").id
    created = utcnow().replace(microsecond=0) - timedelta(days=10)
    tokens = sa.table(
        "api_tokens", sa.column("id"), sa.column("user_id"), sa.column("digest"),
        sa.column("prefix"), sa.column("label"), sa.column("created_at", UTCDateTime()),
        sa.column("expires_at", UTCDateTime()),
    )

    def columns():
        return {c["name"]: c for c in inspect(db.engine).get_columns("api_tokens")}

    db.session.remove()
    try:
        downgrade(revision="0016")
        assert "expires_at" not in columns() and "revoked_reason" not in columns()
        with db.engine.begin() as conn:
            conn.execute(sa.insert(tokens).values(
                user_id=user_id, digest="d" * 64, prefix="cel_old", label="old",
                created_at=created,
            ))
    finally:
        upgrade(revision="heads")
    assert {"expires_at", "revoked_reason"} <= set(columns())
    assert columns()["expires_at"]["nullable"] is False
    with db.engine.connect() as conn:
        expires = conn.scalar(sa.select(tokens.c.expires_at).where(tokens.c.label == "old"))
    assert expires == created + timedelta(days=180)
