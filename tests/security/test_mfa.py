"""The second factor (ASVS V6.5/V6.6-like): TOTP enrolment with a QR code, recovery codes,
required for psychologists, supervisors and admins, optional for the others."""

import re

import pytest
from sqlalchemy import func, select

from cellule import mfa
from cellule.extensions import db
from cellule.models import AuditEvent, RecoveryCode, User, UserSession
from tests.security.conftest import (
    PASSWORD,
    TOTP_SECRET,
    code_for,
    current_totp_code,
    page_text,
    reload,
    secret_on_page,
)


def password_step(client, user, next_url=""):
    data = {"email": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post_form("/login", data)


@pytest.mark.parametrize("role", ["psychologist", "supervisor", "admin"])
def test_required_role_without_totp_must_enrol_and_can_do_nothing_else(client, make_user, role):
    user = make_user(role, totp=False)
    response = password_step(client, user)
    assert response.status_code == 302 and response.headers["Location"] == "/login/enrol"
    # Not signed in: every page sends back to the sign-in page, no session row exists.
    for url in ("/", "/account/", "/audit", "/admin/users/"):
        assert client.get(url).status_code == 302, url
    assert db.session.scalar(select(func.count(UserSession.id))) == 0

    page = client.get("/login/enrol")
    assert page.status_code == 200
    assert "<svg" in page_text(page) and "<script" not in page_text(page).split("</head>")[1]
    secret = secret_on_page(page)
    assert reload(user).totp_secret is None and reload(user).totp_pending_secret == secret
    # The same pending secret on reload (the QR code does not change under the user's eyes).
    assert secret_on_page(client.get("/login/enrol")) == secret

    wrong = client.post_form("/login/enrol", {"code": "000000"})
    assert wrong.status_code in (401, 422)
    done = client.post_form("/login/enrol", {"code": code_for(secret)})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9-]{29})</code></li>", page_text(done))
    assert len(codes) == mfa.RECOVERY_CODE_COUNT
    user = reload(user)
    assert user.totp_secret == secret and user.totp_pending_secret is None
    assert client.get("/").status_code == 200  # signed in now
    stored = db.session.scalars(select(RecoveryCode.digest)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # only digests are stored


def test_optional_role_signs_in_with_the_password_only(client, make_user):
    user = make_user("advisor")
    assert user.totp_secret is None
    response = password_step(client, user)
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize("role", ["ambassador", "advisor", "psychologist", "supervisor", "admin"])
def test_enrolled_user_needs_the_code(client, make_user, role):
    user = make_user(role, totp=True)
    response = password_step(client, user)
    assert response.headers["Location"] == "/login/code"
    assert client.get("/").status_code == 302  # the password alone opens nothing
    wrong = client.post_form("/login/code", {"code": "123456"})
    assert wrong.status_code == 401
    ok = client.post_form("/login/code", {"code": current_totp_code(user)})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    row = db.session.scalar(select(UserSession))
    assert row.mfa is True


def test_next_survives_the_second_step_and_stays_local(client, make_user):
    user = make_user("supervisor")
    password_step(client, user, next_url="/audit?object_type=user")
    ok = client.post_form("/login/code", {"code": current_totp_code(user)})
    assert ok.headers["Location"] == "/audit?object_type=user"
    client.post_form("/logout")
    password_step(client, user, next_url="https://evil.example/")
    ok = client.post_form("/login/code", {"code": current_totp_code(user)})
    assert ok.headers["Location"] == "/"


def test_a_code_is_accepted_only_once(client, app, make_user):
    user = make_user("psychologist")
    code = current_totp_code(user)
    password_step(client, user)
    assert client.post_form("/login/code", {"code": code}).status_code == 302
    client.post_form("/logout")
    other = app.test_client()
    password_step(other, user)
    replay = other.post_form("/login/code", {"code": code})
    assert replay.status_code == 401
    assert other.get("/").status_code == 302


def test_codes_of_the_neighbouring_steps_are_accepted_but_not_further(make_user):
    user = make_user("psychologist")
    assert mfa.matching_step(TOTP_SECRET, code_for(TOTP_SECRET, -1)) is not None
    assert mfa.matching_step(TOTP_SECRET, code_for(TOTP_SECRET, 1)) is not None
    assert mfa.matching_step(TOTP_SECRET, code_for(TOTP_SECRET, 3)) is None
    assert mfa.matching_step(TOTP_SECRET, "12345") is None
    assert mfa.matching_step(TOTP_SECRET, "abcdef") is None
    assert mfa.matching_step(None, "123456") is None
    assert user.totp_enabled


def test_recovery_code_signs_in_once(client, app, make_user):
    user = make_user("supervisor")
    codes = mfa.new_recovery_codes(user)
    db.session.commit()
    password_step(client, user)
    response = client.post_form("/login/code", {"code": codes[0].upper().replace("-", " ")})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert mfa.recovery_codes_left(reload(user)) == 9
    client.post_form("/logout")
    password_step(client, user)
    assert client.post_form("/login/code", {"code": codes[0]}).status_code == 401


def test_the_second_step_expires(client, make_user):
    user = make_user("admin")
    password_step(client, user)
    with client.session_transaction() as session:
        session["auth_pending"] = {**session["auth_pending"], "at": 0}
    response = client.post_form("/login/code", {"code": current_totp_code(user)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_second_step_without_password_step_is_refused(client, make_user):
    make_user("admin")
    response = client.post_form("/login/code", {"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/login/enrol").status_code == 302


def test_deactivation_between_the_steps_stops_the_sign_in(client, make_user):
    user = make_user("admin")
    password_step(client, user)
    reload(user).active = False
    db.session.commit()
    response = client.post_form("/login/code", {"code": current_totp_code(user)})
    assert response.headers["Location"] == "/login"


def test_optional_enrolment_from_the_account_page(client, make_user):
    user = make_user("advisor")
    client.login(user)
    page = client.get("/account/totp")
    assert page.status_code == 200
    secret = secret_on_page(page)
    done = client.post_form("/account/totp", {"code": code_for(secret)})
    assert done.status_code == 200 and "recovery-codes" in page_text(done)
    assert reload(user).totp_secret == secret
    client.post_form("/logout")
    assert password_step(client, user).headers["Location"] == "/login/code"


def test_optional_second_factor_can_be_turned_off_but_not_when_required(client, make_user):
    advisor = make_user("advisor", totp=True)
    client.login(advisor)
    assert client.post_form("/account/totp/disable").status_code == 302
    assert reload(advisor).totp_secret is None
    client.post_form("/logout")
    psychologist = make_user("psychologist")
    client.login(psychologist)
    assert client.post_form("/account/totp/disable").status_code == 403
    assert reload(psychologist).totp_secret == TOTP_SECRET


def test_recovery_codes_can_be_replaced(client, make_user):
    user = make_user("supervisor")
    old = mfa.new_recovery_codes(user)
    db.session.commit()
    client.login(user)
    page = client.post_form("/account/recovery-codes")
    assert page.status_code == 200
    new = re.findall(r"<li><code>([a-z2-9-]{29})</code></li>", page_text(page))
    assert len(new) == 10 and not set(new) & set(old)
    assert db.session.scalar(select(func.count(RecoveryCode.id))) == 10


def test_qr_code_is_inline_svg_without_script_or_style():
    class U:
        email = "ana@fund.be"

    svg = str(mfa.qr_svg(mfa.provisioning_uri(U, TOTP_SECRET)))
    assert svg.startswith("<svg") and "<script" not in svg and "style=" not in svg
    uri = mfa.provisioning_uri(U, TOTP_SECRET)
    assert uri.startswith("otpauth://totp/Cellule:") and "issuer=Cellule" in uri


def test_failed_codes_are_audited(client, make_user):
    user = make_user("supervisor")
    password_step(client, user)
    client.post_form("/login/code", {"code": "000000"})
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))
    ).all()
    assert "login_failed" in actions


def test_cli_reset_totp(app, make_user):
    user = make_user("admin")
    result = app.test_cli_runner().invoke(args=["users", "reset-totp", user.email])
    assert result.exit_code == 0, result.output
    user = db.session.get(User, user.id)
    assert user.totp_secret is None
