"""Login, logout, CSRF, sessions and role-restricted pages."""

import pytest

from cellule.extensions import db
from cellule.models import AuditEvent, User
from cellule.passwords import hasher


def test_login_page_renders_in_french_by_default(client):
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE")  # a browser that states no language
    response = client.get("/login")
    assert response.status_code == 200
    assert '<html lang="fr">' in response.get_data(as_text=True)
    assert "Se connecter" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "accept, lang, text",
    [("fr-BE,fr;q=0.9", "fr", "Se connecter"), ("nl-BE,nl;q=0.9", "nl", "Aanmelden"),
     ("de-BE,de;q=0.9", "de", "Anmelden")],
)
def test_login_page_follows_the_browser_language(client, accept, lang, text):
    page = client.get("/login", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert f'<html lang="{lang}">' in page and text in page


def test_signed_in_user_gets_their_own_language(client, make_user):
    client.login(make_user("advisor", language="fr"))  # the browser asks for English
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="fr">' in page and "Se déconnecter" in page


def test_anonymous_user_is_sent_to_login_with_next(client):
    response = client.get("/audit")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_login_then_home_shows_name_and_role(client, make_user):
    user = make_user("advisor", name="Nadia Peeters")
    response = client.login(user)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Nadia Peeters" in page


def test_wrong_password_is_refused_and_audited(client, make_user):
    user = make_user("advisor")
    response = client.login(user, password="not the password at all")
    assert response.status_code == 401
    assert client.get("/").status_code == 302  # still anonymous
    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert "login_failed" in actions


def test_unknown_email_gets_the_same_answer(client):
    response = client.post_form("/login", {"email": "nobody@x.be", "password": "whatever12345"})
    assert response.status_code == 401


def test_inactive_user_cannot_log_in(client, make_user):
    user = make_user("advisor", active=False)
    assert client.login(user).status_code == 401


def test_login_clears_the_previous_session(client, make_user):
    user = make_user("advisor")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.login(user)
    with client.session_transaction() as session:
        assert "planted" not in session


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/audit?object_type=case", "/audit?object_type=case"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_only_follows_local_paths(client, make_user, target, expected):
    user = make_user("advisor")  # one step (the second factor keeps `next`: tests/security)
    response = client.post_form(
        "/login", {"email": user.email, "password": "correct horse battery staple", "next": target}
    )
    assert response.headers["Location"] == expected


def test_logout_ends_the_session(client, login_as):
    login_as("advisor")
    assert client.get("/").status_code == 200
    response = client.post_form("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_logout_needs_post_with_csrf(client, login_as):
    login_as("advisor")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_form_without_csrf_token_is_refused(client, make_user):
    user = make_user("advisor")
    response = client.post(
        "/login", data={"email": user.email, "password": "correct horse battery staple"}
    )
    assert response.status_code == 400
    assert "expir" in response.get_data(as_text=True).lower()


def test_htmx_request_sends_csrf_in_header(client, login_as):
    login_as("advisor")
    response = client.htmx("POST", "/language", data={"language": "nl"})
    assert response.status_code == 302


def test_bumping_session_version_revokes_sessions(client, login_as):
    user = login_as("advisor")
    user.session_version += 1
    db.session.commit()
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("role", ["ambassador", "advisor", "psychologist", "admin"])
def test_audit_page_is_for_supervisors_only(client, login_as, role):
    login_as(role)
    assert client.get("/audit").status_code == 403


def test_supervisor_reads_the_audit_log_of_a_user(client, login_as, make_user):
    supervisor = login_as("supervisor")
    page = client.get(f"/audit?object_type=user&object_id={supervisor.id}")
    assert page.status_code == 200
    assert "Signed in" in page.get_data(as_text=True)  # the action by its label


def test_language_switch_changes_the_interface(client, login_as):
    user = login_as("advisor")
    client.post_form("/language", {"language": "nl", "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="nl">' in page
    assert "Afmelden" in page
    assert db.session.get(User, user.id).language == "nl"


def test_german_is_a_language_of_the_interface(client, login_as):
    login_as("advisor")
    client.post_form("/language", {"language": "de", "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="de">' in page and "Abmelden" in page


def test_english_is_available(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr-BE"
    client.post_form("/language", {"language": "en"})
    assert "Sign in" in client.get("/login").get_data(as_text=True)


def test_password_hash_is_argon2id_with_owasp_parameters(app):
    """The suite hashes cheaply (PASSWORD_HASH_COST); an app that is not under test never."""
    from cellule.passwords import hash_password, needs_rehash

    assert hasher.memory_cost >= 19 * 1024 and hasher.time_cost >= 2
    cheap = hash_password("correct horse battery staple")
    assert cheap.startswith("$argon2id$") and "m=19456" not in cheap
    app.config["TESTING"] = False
    for cost in (app.config["PASSWORD_HASH_COST"], None):
        app.config["PASSWORD_HASH_COST"] = cost
        password_hash = hash_password("correct horse battery staple")
        assert password_hash.startswith("$argon2id$") and "m=19456,t=2" in password_hash
        assert needs_rehash(cheap) and not needs_rehash(password_hash)


def test_session_cookie_flags(client, make_user, app):
    app.config["SESSION_COOKIE_SECURE"] = True
    user = make_user("advisor")
    response = client.login(user)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_pages_are_not_cached_and_carry_security_headers(client):
    response = client.get("/login")
    assert response.headers["Cache-Control"] == "no-store"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


def test_templates_translate_in_the_language_in_force_even_within_one_request(app):
    """Messages are remembered per request *and language*: a mail rendered in the person's
    language in the middle of a French page is not served the French text."""
    from flask import render_template_string
    from flask_babel import force_locale

    template = "{{ _('Serious') }}|{{ labels.LEVEL_LABELS['serious'] }}"
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        from cases import labels
        from cellule.templating import Translated

        french = render_template_string(template, labels=Translated(labels))
        with force_locale("nl"):
            dutch = render_template_string(template, labels=Translated(labels))
        again = render_template_string(template, labels=Translated(labels))
    assert french == again == "Sérieux|Sérieux"
    assert dutch == "Ernstig|Ernstig"
