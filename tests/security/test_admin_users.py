"""The administrators' user page: list, create, change role, (de)activate, resets — each
change behind a recent re-authentication, and ending the target's sessions."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cellule.extensions import db
from cellule.mailer import OutgoingMail
from cellule.models import ApiToken, AuditEvent, User, UserSession
from cellule.types import utcnow
from tests.security.conftest import page_text, reload


@pytest.fixture
def admin(client, login_as):
    return login_as("admin")


@pytest.mark.parametrize("role", ["ambassador", "advisor", "psychologist", "supervisor"])
def test_only_admins(client, login_as, role):
    login_as(role)
    assert client.get("/admin/users/").status_code == 403
    assert client.get("/admin/users/new").status_code == 403
    assert client.post_form("/admin/users/1/role", {"role": "admin"}).status_code == 403


def test_list(client, admin, make_user):
    make_user("psychologist", name="Chloé Psy")
    page = page_text(client.get("/admin/users/"))
    assert "Chloé Psy" in page and admin.name in page


def test_create_mails_a_setup_link_and_shows_no_password(app, client, admin):
    response = client.post_form(
        "/admin/users/new",
        {"email": "New.Person@fund.be", "name": "New Person", "role": "advisor",
         "language": "nl"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "A set-up link was sent to new.person@fund.be" in page_text(response)
    assert "temporary-password" not in page_text(response)
    user = db.session.scalar(select(User).where(User.email == "new.person@fund.be"))
    assert user.language == "nl" and user.active
    [mail] = db.session.scalars(select(OutgoingMail).where(OutgoingMail.user_id == user.id))
    assert "/account/setup?token=" in mail.body
    assert mail.body.split("token=")[1].split()[0] not in page_text(response)


def test_create_refuses_a_duplicate_without_half_written_rows(client, admin, make_user):
    make_user("advisor", email="taken@fund.be")
    before = db.session.scalar(select(func.count(User.id)))
    response = client.post_form(
        "/admin/users/new",
        {"email": "taken@fund.be", "name": "X", "role": "advisor", "language": "fr"},
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(User.id))) == before


def test_role_change_ends_the_users_sessions_and_is_audited(app, client, admin, make_user):
    target = make_user("advisor")
    other = app.test_client()
    other.login(target)
    # (The psychologist and supervisor roles wait for a supervisor: tests/security/
    # test_admin_credentials.py; an administrator's role takes effect at once.)
    response = client.post_form(f"/admin/users/{target.id}/role", {"role": "admin"})
    assert response.status_code == 302
    assert reload(target).role == "admin"
    assert other.get("/").status_code == 302
    # An administrator needs a second factor: the next sign-in enrols one.
    assert other.login(target).headers["Location"] == "/login/enrol"
    assert db.session.scalar(
        select(AuditEvent.detail).where(AuditEvent.action == "role_changed")
    ) == '{"from": "advisor", "to": "admin"}'


def test_role_change_needs_recent_authentication(client, admin, make_user):
    target = make_user("advisor")
    db.session.execute(
        db.update(UserSession)
        .where(UserSession.user_id == admin.id)
        .values(auth_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    response = client.post_form(f"/admin/users/{target.id}/role", {"role": "admin"})
    assert response.status_code == 303 and "/account/confirm" in response.headers["Location"]
    assert reload(target).role == "advisor"
    assert client.get("/admin/users/new").status_code == 303


def test_admins_cannot_change_or_deactivate_themselves(client, admin):
    client.post_form(f"/admin/users/{admin.id}/role", {"role": "advisor"})
    client.post_form(f"/admin/users/{admin.id}/deactivate")
    assert reload(admin).role == "admin" and reload(admin).active


def test_deactivation_ends_sessions_and_api_tokens(app, client, admin, make_user):
    target = make_user("advisor")
    row, token = ApiToken.issue(target)
    db.session.add(row)
    db.session.commit()
    other = app.test_client()
    other.login(target)
    client.post_form(f"/admin/users/{target.id}/deactivate")
    assert not reload(target).active
    assert other.get("/").status_code == 302
    api = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401
    assert db.session.get(ApiToken, row.id).revoked_at is not None
    assert app.test_client().login(target).status_code == 401
    client.post_form(f"/admin/users/{target.id}/activate")
    assert reload(target).active


def test_reset_password_and_second_factor(app, client, admin, make_user):
    target = make_user("supervisor")
    response = client.post_form(f"/admin/users/{target.id}/reset-password")
    assert response.status_code == 303
    assert app.test_client().login(target).status_code == 401  # the old password is dead
    # Removing the second factor waits for another supervisor (test_admin_credentials.py).
    client.post_form(f"/admin/users/{target.id}/reset-totp")
    assert reload(target).totp_secret is not None


@pytest.mark.parametrize("action", ["role", "deactivate", "activate", "reset-password",
                                    "reset-totp"])
def test_unknown_user_is_404(client, admin, action):
    assert client.post_form(f"/admin/users/999999/{action}", {"role": "advisor"}).status_code == 404
