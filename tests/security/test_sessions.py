"""Sessions (ASVS V7): server-side, rotated at sign-in, revocable, idle and absolute limits,
re-authentication before sensitive actions."""

from datetime import timedelta

import pytest
from flask import Blueprint
from flask_login import login_required
from sqlalchemy import func, select

from cellule import sessions
from cellule.extensions import db
from cellule.models import UserSession
from cellule.security import recent_auth_required
from cellule.types import utcnow
from tests.security.conftest import PASSWORD, page_text, reload


def session_cookie(client):
    cookie = client.get_cookie("cellule_session")
    return cookie.value if cookie else None


def test_the_cookie_carries_no_personal_data_and_the_server_keeps_a_digest(client, login_as):
    user = login_as("advisor", name="Nadia Peeters", email="nadia@fund.be")
    import base64
    import zlib

    value = session_cookie(client)
    payload = value.split(".")[1] if not value.startswith(".") else value.split(".")[1]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if value.startswith("."):
        raw = zlib.decompress(raw)
    text = raw.decode()
    assert "nadia" not in text.lower() and "Peeters" not in text
    with client.session_transaction() as session:
        token = session["sid"]
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert row.digest != token and len(row.digest) == 64


def test_sign_in_rotates_the_session(client, make_user):
    user = make_user("advisor")
    client.login(user)
    with client.session_transaction() as session:
        first = session["sid"]
    client.post_form("/logout")
    client.login(user)
    with client.session_transaction() as session:
        assert session["sid"] != first


def test_logout_ends_every_session_of_the_user(app, make_user):
    user = make_user("advisor")
    desk, laptop = app.test_client(), app.test_client()
    desk.login(user)
    laptop.login(user)
    assert desk.get("/").status_code == 200 and laptop.get("/").status_code == 200
    desk.post_form("/logout")
    assert desk.get("/").status_code == 302
    assert laptop.get("/").status_code == 302
    rows = db.session.scalars(select(UserSession)).all()
    assert rows and all(row.revoked_at is not None for row in rows)


def test_a_stolen_cookie_is_useless_after_logout(app, make_user):
    user = make_user("advisor")
    client = app.test_client()
    client.login(user)
    stolen = session_cookie(client)
    client.post_form("/logout")
    thief = app.test_client()
    thief.set_cookie("cellule_session", stolen)
    assert thief.get("/").status_code == 302


def test_password_change_ends_the_other_sessions_and_keeps_this_one(app, make_user):
    user = make_user("advisor")
    here, elsewhere = app.test_client(), app.test_client()
    here.login(user)
    elsewhere.login(user)
    response = here.post_form(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "a brand new and long passphrase",
            "confirm": "a brand new and long passphrase",
        },
    )
    assert response.status_code == 302, page_text(response)
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert reload(user).password_changed_at is not None


def test_deactivation_ends_every_session(app, make_user):
    user = make_user("advisor")
    client = app.test_client()
    client.login(user)
    reload(user).active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_one_session_can_be_ended_from_another(app, make_user):
    user = make_user("advisor")
    here, elsewhere = app.test_client(), app.test_client()
    here.login(user)
    elsewhere.login(user)
    with elsewhere.session_transaction() as session:
        digest = sessions._digest(session["sid"])
    other = db.session.scalar(select(UserSession).where(UserSession.digest == digest))
    page = here.get("/account/")
    assert page.status_code == 200 and f"/account/sessions/{other.id}/end" in page_text(page)
    assert here.post_form(f"/account/sessions/{other.id}/end").status_code == 302
    assert elsewhere.get("/").status_code == 302
    assert here.get("/").status_code == 200


def test_sessions_of_others_cannot_be_ended(app, make_user):
    alice, bob = make_user("advisor"), make_user("advisor")
    a, b = app.test_client(), app.test_client()
    a.login(alice)
    b.login(bob)
    bobs = db.session.scalar(select(UserSession).where(UserSession.user_id == bob.id))
    assert a.post_form(f"/account/sessions/{bobs.id}/end").status_code == 404
    assert b.get("/").status_code == 200


def test_end_all_other_sessions(app, make_user):
    user = make_user("advisor")
    here, one, two = app.test_client(), app.test_client(), app.test_client()
    for c in (here, one, two):
        c.login(user)
    here.post_form("/account/sessions/end-others")
    assert here.get("/").status_code == 200
    assert one.get("/").status_code == 302 and two.get("/").status_code == 302


def _age(user_id, **fields):
    db.session.execute(
        db.update(UserSession).where(UserSession.user_id == user_id).values(**fields)
    )
    db.session.commit()


def test_idle_timeout(client, app, login_as):
    user = login_as("advisor")
    idle = app.config["CELLULE_IDLE_MINUTES"]
    _age(user.id, last_seen_at=utcnow() - timedelta(minutes=idle - 1))
    assert client.get("/").status_code == 200  # activity moves the deadline
    _age(user.id, last_seen_at=utcnow() - timedelta(minutes=idle + 1))
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    with client.session_transaction() as session:
        assert "sid" not in session and "_user_id" not in session


def test_activity_is_recorded_at_most_once_a_minute(client, login_as):
    user = login_as("advisor")
    before = utcnow() - timedelta(minutes=5)
    _age(user.id, last_seen_at=before)
    client.get("/")
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert row.last_seen_at > before + timedelta(minutes=4)


def test_absolute_lifetime(client, app, login_as):
    user = login_as("advisor")
    lifetime = app.config["CELLULE_SESSION_MINUTES"]
    _age(user.id, created_at=utcnow() - timedelta(minutes=lifetime + 1))
    assert client.get("/").status_code == 302


def test_limits_are_configurable(monkeypatch, tmp_path):
    from cellule.config import build_config

    monkeypatch.setenv("CELLULE_IDLE_MINUTES", "5")
    monkeypatch.setenv("CELLULE_SESSION_MINUTES", "60")
    monkeypatch.setenv("CELLULE_REAUTH_MINUTES", "2")
    monkeypatch.setenv("SECRET_KEY", "x")
    config = build_config(str(tmp_path))
    assert config["CELLULE_IDLE_MINUTES"] == 5
    assert config["CELLULE_SESSION_MINUTES"] == 60
    assert config["CELLULE_REAUTH_MINUTES"] == 2


def test_a_required_role_session_without_second_factor_is_not_accepted(client, login_as):
    user = login_as("psychologist")
    _age(user.id, mfa=False)
    assert client.get("/").status_code == 302


def test_htmx_request_without_session_gets_hx_redirect(client):
    response = client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_session_rows_are_counted_per_sign_in(client, make_user):
    user = make_user("advisor")
    client.login(user)
    client.post_form("/logout")
    client.login(user)
    assert db.session.scalar(select(func.count(UserSession.id))) == 2


# --- Re-authentication --------------------------------------------------------


@pytest.fixture
def sensitive(app):
    """A GET and a POST view behind `recent_auth_required`, like role change or export
    (added to the app: the tests that use it are marked `own_app`)."""
    bp = Blueprint("sensitive_test", __name__)

    @bp.route("/sensitive-test", methods=["GET", "POST"])
    @login_required
    @recent_auth_required
    def view():
        return "done"

    @bp.post("/sensitive-test/short")
    @login_required
    @recent_auth_required(minutes=1)
    def short():
        return "short done"

    app.register_blueprint(bp)
    return "/sensitive-test"


def _stale(user_id, minutes):
    _age(user_id, auth_at=utcnow() - timedelta(minutes=minutes))


@pytest.mark.own_app  # `sensitive` adds views to the app
def test_recent_sign_in_passes(client, login_as, sensitive):
    login_as("advisor")
    assert client.get(sensitive).get_data(as_text=True) == "done"


@pytest.mark.own_app  # `sensitive` adds views to the app
def test_stale_sign_in_asks_again_then_returns(client, app, login_as, sensitive):
    user = login_as("advisor")
    _stale(user.id, app.config["CELLULE_REAUTH_MINUTES"] + 1)
    response = client.get(sensitive)
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/confirm?next=/sensitive-test"
    wrong = client.post_form("/account/confirm", {"password": "wrong", "next": sensitive})
    assert wrong.status_code == 401
    ok = client.post_form("/account/confirm", {"password": PASSWORD, "next": sensitive})
    assert ok.status_code == 302 and ok.headers["Location"] == sensitive
    assert client.get(sensitive).get_data(as_text=True) == "done"


@pytest.mark.own_app  # `sensitive` adds views to the app
def test_reauthentication_needs_the_code_when_enrolled(client, app, login_as, sensitive):
    from tests.security.conftest import current_totp_code

    user = login_as("supervisor")
    _stale(user.id, 60)
    without = client.post_form("/account/confirm", {"password": PASSWORD, "next": sensitive})
    assert without.status_code == 401
    with_code = client.post_form(
        "/account/confirm",
        {"password": PASSWORD, "code": current_totp_code(user), "next": sensitive},
    )
    assert with_code.status_code == 302
    assert client.get(sensitive).status_code == 200


@pytest.mark.own_app  # `sensitive` adds views to the app
def test_stale_post_is_not_run_and_htmx_gets_hx_redirect(client, login_as, sensitive):
    user = login_as("advisor")
    _stale(user.id, 60)
    response = client.post_form(sensitive, headers={"Referer": "http://localhost/account/"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/confirm?next=/account/"
    hx = client.htmx("POST", sensitive)
    assert hx.headers["HX-Redirect"].startswith("/account/confirm")
    assert "done" not in hx.get_data(as_text=True)


@pytest.mark.own_app  # `sensitive` adds views to the app
def test_custom_window(client, login_as, sensitive):
    user = login_as("advisor")
    _stale(user.id, 2)
    assert client.post_form(sensitive + "/short").status_code == 303
    assert client.post_form(sensitive).status_code == 200


def test_reauthentication_refuses_a_foreign_next(client, login_as):
    login_as("advisor")
    ok = client.post_form("/account/confirm", {"password": PASSWORD, "next": "//evil.example"})
    assert ok.headers["Location"] == "/account/"


# --- Forced password change -----------------------------------------------------


def test_temporary_password_must_be_changed_first(client, make_user):
    user = make_user("advisor", must_change_password=True)
    client.login(user)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/account/password"
    assert client.get("/account/password").status_code == 200
    client.post_form(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "my own long passphrase here",
            "confirm": "my own long passphrase here",
        },
    )
    assert reload(user).must_change_password is False
    assert client.get("/").status_code == 200
