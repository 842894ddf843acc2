"""In Chromium: a user makes an API token on their account page, sees it once, sees its last
use, revokes it; an administrator reaches a user's tokens from the users page and revokes
one (issue 14). Only clicks and typing, from the sign-in page."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def call_me(page, live_server, token):
    return page.request.get(live_server + "/api/v1/me",
                            headers={"Authorization": f"Bearer {token}"})


def test_a_user_makes_uses_and_revokes_a_token(page, live_server, make_user, browser_login):
    user = make_user("ambassador", name="Bea Ambassador")
    browser_login(user)
    page.locator("header.topbar").get_by_role("link", name="Bea Ambassador").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_label("Name").fill("Telephony desk")
    page.get_by_label("Valid for (days)").fill("30")
    page.get_by_role("button", name="Create token").click()

    token = page.get_by_label("Token").input_value()
    assert token.startswith("cel_")
    assert call_me(page, live_server, token).status == 200
    page.get_by_role("link", name=re.compile("I have copied it")).click()

    row = page.locator("table.api-tokens tbody tr", has_text="Telephony desk")
    expect(row).to_contain_text(token[:12])
    expect(row).not_to_contain_text("never")  # used just now
    expect(page.locator("#main")).not_to_contain_text(token)  # shown once only
    row.get_by_role("button", name="Revoke the token Telephony desk").click()
    expect(page.get_by_role("status").or_(page.locator(".flash"))).to_contain_text(
        "was revoked")
    expect(row).to_contain_text("revoked")
    assert call_me(page, live_server, token).status == 401


def test_an_admin_revokes_a_users_token(page, live_server, make_user, browser_login,
                                        click_nav):
    from cellule.extensions import db
    from cellule.models import ApiToken

    owner = make_user("advisor", name="Ann Advisor")
    row, token = ApiToken.issue(owner, "Nightly export")
    db.session.add(row)
    db.session.commit()
    browser_login(make_user("admin"))
    click_nav("Users")
    page.locator("tr", has_text="Ann Advisor").get_by_role(
        "link", name=re.compile("API tokens")).click()
    expect(page.get_by_role("heading", name="API tokens of Ann Advisor")).to_be_visible()
    line = page.locator("table.api-tokens tbody tr", has_text="Nightly export")
    expect(line).to_contain_text("never")
    expect(page.locator("#main")).not_to_contain_text(token)
    line.get_by_role("button", name="Revoke the token Nightly export").click()
    expect(line).to_contain_text("by an administrator")
    assert call_me(page, live_server, token).status == 401
