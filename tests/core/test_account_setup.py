"""Set-up links (issue 14): a new account's owner chooses their password with a single-use
link mailed to them; the administrator never sees a password or the link."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from cellule.extensions import db
from cellule.mailer import OutgoingMail
from cellule.models import AuditEvent, User
from cellule.types import utcnow
from tests.conftest import PASSWORD
from tests.core.mail_helpers import delivered, link_in, mailbox, path_of, text_of  # noqa: F401

NEW_PASSWORD = "violet tractor under the moon"


def in_language(language, msgid):
    """`msgid` as the catalogue of `language` has it (the mail speaks the owner's language)."""
    from flask_babel import force_locale, gettext

    with force_locale(language):
        return gettext(msgid)


def create(client, email="new.person@fund.be", role="advisor", language="en", name="New Person"):
    return client.post_form(
        "/admin/users/new",
        {"email": email, "name": name, "role": role, "language": language},
        follow_redirects=True,
    )


def user_by_email(email):
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def set_password(client, path, password=NEW_PASSWORD, confirm=None):
    """Open the mailed link and submit the form, as the owner does."""
    page = client.get(path)
    if page.status_code != 200:
        return page
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    return client.post_form(
        "/account/setup",
        {"token": token.group(1), "new_password": password, "confirm": confirm or password},
    )


@pytest.fixture
def admin(client, login_as):
    return login_as("admin")


def test_admin_creates_an_advisor_who_sets_a_password_by_the_mailed_link(
    app, client, admin, mailbox  # noqa: F811
):
    response = create(client, language="fr")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "A set-up link was sent to new.person@fund.be" in page
    assert "token=" not in page and "temporary-password" not in page

    [message] = delivered(app, mailbox, to="new.person@fund.be")
    assert message["Subject"] == in_language("fr", "Your Cellule account: choose your password")
    link = link_in(message)
    assert link.split("token=")[1] not in page  # the administrator never saw it

    owner = app.test_client()
    form = owner.get(path_of(link))
    assert form.status_code == 200 and "Choose your password" in form.get_data(as_text=True)
    assert form.headers["Referrer-Policy"] == "no-referrer"
    done = set_password(owner, path_of(link))
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    user = user_by_email("new.person@fund.be")
    signed_in = owner.login(user, password=NEW_PASSWORD)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"
    assert owner.get("/").status_code == 200  # no forced password change: it is theirs

    # The mail log's copy holds no usable link once the mail left.
    [mail] = db.session.scalars(select(OutgoingMail).where(OutgoingMail.user_id == user.id))
    assert mail.status == "sent" and "token=…" in mail.body
    assert link.split("token=")[1] not in mail.body
    # Audited: the link sent (by the admin), the password chosen (by the owner).
    actions = db.session.execute(
        select(AuditEvent.action, AuditEvent.user_id)
        .where(AuditEvent.object_type == "user", AuditEvent.object_id == str(user.id))
    ).all()
    assert ("setup_link_sent", admin.id) in actions and ("password_set", user.id) in actions


def test_the_link_works_once(app, client, admin, mailbox):  # noqa: F811
    create(client)
    path = path_of(link_in(delivered(app, mailbox)[0]))
    owner = app.test_client()
    assert set_password(owner, path).status_code == 303
    again = app.test_client()
    second = again.get(path)
    assert second.status_code == 410
    assert "This link does not work" in second.get_data(as_text=True)
    token = path.split("token=")[1]
    post = again.post_form("/account/setup", {"token": token, "new_password": "another long "
                                              "passphrase", "confirm": "another long passphrase"})
    assert post.status_code == 410
    user = user_by_email("new.person@fund.be")
    assert owner.login(user, password=NEW_PASSWORD).status_code == 302
    assert app.test_client().login(user, password="another long passphrase").status_code == 401


def test_two_tabs_cannot_both_use_the_link(app, client, admin, mailbox):  # noqa: F811
    create(client)
    path = path_of(link_in(delivered(app, mailbox)[0]))
    token = path.split("token=")[1]
    tabs = [app.test_client(), app.test_client()]
    for tab in tabs:
        assert tab.get(path).status_code == 200  # both forms open
    answers = [
        tab.post_form("/account/setup", {"token": token, "new_password": pw, "confirm": pw})
        for tab, pw in zip(tabs, ("first tab passphrase", "second tab passphrase"), strict=True)
    ]
    assert [a.status_code for a in answers] == [303, 410]
    user = user_by_email("new.person@fund.be")
    assert app.test_client().login(user, password="first tab passphrase").status_code == 302
    assert app.test_client().login(user, password="second tab passphrase").status_code == 401


def test_the_link_expires_after_24_hours(app, client, admin, mailbox):  # noqa: F811
    from cellule.setup_links import SetupLink

    create(client)
    path = path_of(link_in(delivered(app, mailbox)[0]))
    link = db.session.scalar(select(SetupLink))
    assert link.expires_at - link.created_at == timedelta(hours=24)
    # A day and a minute later:
    db.session.execute(update(SetupLink).values(
        created_at=utcnow() - timedelta(hours=24, minutes=1),
        expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert app.test_client().get(path).status_code == 410
    assert set_password(app.test_client(), path).status_code == 410


def test_a_newer_link_voids_the_older(app, client, admin, mailbox):  # noqa: F811
    create(client)
    first = path_of(link_in(delivered(app, mailbox)[0]))
    user = user_by_email("new.person@fund.be")
    client.post_form(f"/admin/users/{user.id}/reset-password")
    messages = delivered(app, mailbox)
    assert len(messages) == 2
    second = path_of(link_in(messages[1]))
    assert app.test_client().get(first).status_code == 410
    assert set_password(app.test_client(), second).status_code == 303


def test_unknown_and_malformed_links_are_404_in_the_same_words(app, client):
    for path in ("/account/setup?token=" + "A" * 43, "/account/setup?token=x",
                 "/account/setup", "/account/setup?token=%27%3B--"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "This link does not work" in response.get_data(as_text=True)


def test_the_password_rules_apply_and_the_link_survives_a_refusal(app, client, admin,
                                                                    mailbox):  # noqa: F811
    create(client)
    path = path_of(link_in(delivered(app, mailbox)[0]))
    owner = app.test_client()
    short = set_password(owner, path, password="short")
    assert short.status_code == 422
    assert "12 to 128 characters" in short.get_data(as_text=True)
    common = set_password(owner, path, password="password1234")
    assert common.status_code == 422 and "too common" in common.get_data(as_text=True)
    differ = set_password(owner, path, confirm="not the same passphrase")
    assert differ.status_code == 422 and "differ" in differ.get_data(as_text=True)
    assert set_password(owner, path).status_code == 303


def test_using_a_link_ends_every_session_of_the_user(app, make_user):
    from cellule import setup_links

    user = make_user("advisor")
    elsewhere = app.test_client()
    assert elsewhere.login(user).status_code == 302
    _row, token = setup_links.issue(user, "reset")
    db.session.commit()
    assert set_password(app.test_client(), "/account/setup?token=" + token).status_code == 303
    assert elsewhere.get("/").status_code == 302  # signed out
    assert app.test_client().login(user, password=PASSWORD).status_code == 401


def test_guessing_links_is_throttled(app, make_user):
    from cellule import setup_links

    app.config["CELLULE_SETUP_LINK_LIMIT"] = "3/hour"
    user = make_user("advisor")
    _row, token = setup_links.issue(user, "invite")
    db.session.commit()
    guesser = app.test_client()
    for n in range(3):
        assert guesser.get(f"/account/setup?token={'B' * 40}{n}").status_code == 404
    # Past the limit even a real link waits (the guesser cannot tell which one is real).
    refused = guesser.get("/account/setup?token=" + token)
    assert refused.status_code == 429 and refused.headers["Retry-After"]


def test_cli_invite_and_reset_print_a_link_that_works(app, make_user, mailbox):  # noqa: F811
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "invite", "ines@fund.be", "--name", "Inès Dupont",
                                 "--role", "advisor", "--language", "nl"])
    assert result.exit_code == 0, result.output
    printed = re.search(r"\S+/account/setup\?token=\S+", result.output).group(0)
    [message] = delivered(app, mailbox, to="ines@fund.be")
    assert link_in(message) == printed
    assert message["Subject"] == in_language("nl", "Your Cellule account: choose your password")
    assert set_password(app.test_client(), path_of(printed)).status_code == 303

    user = user_by_email("ines@fund.be")
    result = runner.invoke(args=["users", "reset-password", "ines@fund.be"])
    assert result.exit_code == 0, result.output
    assert app.test_client().login(user, password=NEW_PASSWORD).status_code == 401
    printed = re.search(r"\S+/account/setup\?token=\S+", result.output).group(0)
    notice = delivered(app, mailbox, to="ines@fund.be")[-1]
    assert link_in(notice) == printed  # the owner is told of the reset, with the link


def test_cli_create_with_a_password_still_works(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "op@fund.be", "--name", "Operator Made", "--role",
              "psychologist", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = user_by_email("op@fund.be")
    assert user.active and user.role == "psychologist"  # the operator is trusted


def test_migration_0018_upgrades_and_downgrades(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    def tables():
        return set(inspect(db.engine).get_table_names())

    db.session.remove()
    try:
        downgrade(revision="0017")
        assert not {"setup_links", "account_approvals"} & tables()
    finally:
        upgrade(revision="heads")
    assert {"setup_links", "account_approvals"} <= tables()
    columns = {c["name"] for c in inspect(db.engine).get_columns("setup_links")}
    assert {"digest", "expires_at", "used_at", "voided_at", "created_by_id"} <= columns


@pytest.mark.browser
def test_journey_a_psychologist_account_from_request_to_first_sign_in(
    app, page, live_server, make_user, click_nav, mailbox  # noqa: F811
):
    """Admin creates a psychologist by clicking from home; another supervisor approves from
    their home page; the psychologist opens the mailed link, chooses a password, signs in
    and enrols the authenticator app."""
    import pyotp
    from playwright.sync_api import expect

    from tests.conftest import sign_in

    app.config["CELLULE_BASE_URL"] = live_server  # the mailed link points here
    admin = make_user("admin", name="Ada Admin")
    supervisor = make_user("supervisor", name="Els Superviseur")

    sign_in(page, live_server, admin)
    click_nav("Users")
    page.get_by_role("link", name="New user").click()
    page.get_by_label("Email").fill("nora.psy@fund.be")
    page.get_by_label("Full name").fill("Nora Psy")
    page.get_by_label("Role").select_option("psychologist")
    page.locator("#main").get_by_label("Language").select_option("en")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#flashes")).to_contain_text("awaits a supervisor")
    expect(page.locator("#main")).not_to_contain_text("token=")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server, supervisor)
    page.get_by_role("link", name="1 account change awaits your approval").click()
    expect(page.get_by_role("heading", name="Account approvals")).to_be_visible()
    expect(page.locator("#main")).to_contain_text("Nora Psy")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#flashes")).to_contain_text("Approved")
    page.get_by_role("button", name="Sign out").click()

    [invite] = delivered(app, mailbox, to="nora.psy@fund.be")
    page.goto(link_in(invite))  # the link that arrived by email
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set my password").click()
    expect(page.locator("#flashes")).to_contain_text("Your password is set")

    page.locator("#email").fill("nora.psy@fund.be")
    page.locator("#password").fill(NEW_PASSWORD)
    page.locator("#password").press("Enter")
    expect(page).to_have_url(re.compile(r"/login/enrol$"))
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    page.locator("#code").press("Enter")
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    page.get_by_role("link", name="I have stored them").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nora Psy")
