"""In Chromium (ASVS V3.4, V14.3): every main page of every role loads without a single
Content-Security-Policy violation or script error, and leaves nothing in localStorage or
sessionStorage (no health data in browser storage)."""

import re

import pytest
from playwright.sync_api import expect

from tests.security.routes import ROLES, main_pages

pytestmark = pytest.mark.browser

CSP_WORDS = re.compile(r"content security policy|refused to (load|execute|apply|evaluate)", re.I)


@pytest.mark.parametrize("role", ROLES)
def test_main_pages_have_no_csp_violation_and_no_browser_storage(
    app, page, live_server, make_user, browser_login, role
):
    messages, errors = [], []
    page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda error: errors.append(str(error)))
    browser_login(make_user(role))
    pages = [p for p in main_pages(app) if p not in ("/login",)]
    visited = 0
    for path in pages:
        response = page.goto(live_server + path)
        assert response is not None and response.status < 500, (path, response.status)
        expect(page.locator("#main")).to_be_visible()
        visited += 1
        storage = page.evaluate(
            "() => [window.localStorage.length, window.sessionStorage.length]"
        )
        assert storage == [0, 0], f"browser storage used on {path}: {storage}"
        # htmx really runs (so the page's interactions work under the CSP).
        assert page.evaluate("() => typeof window.htmx === 'object'"), path
    violations = [m for m in messages if CSP_WORDS.search(m)]
    assert not violations, "\n".join(violations)
    assert not errors, "\n".join(errors)
    assert visited == len(pages)


def test_enrolment_page_shows_the_qr_code_under_the_csp(page, live_server, make_user):
    messages = []
    page.on("console", lambda msg: messages.append(msg.text))
    user = make_user("psychologist", totp=False)
    page.goto(live_server + "/login")
    page.locator("#email").fill(user.email)
    page.locator("#password").fill("correct horse battery staple")
    page.locator("#password").press("Enter")
    expect(page).to_have_url(re.compile(r"/login/enrol$"))
    expect(page.locator("figure.qr svg")).to_be_visible()
    box = page.locator("figure.qr svg").bounding_box()
    assert box["width"] > 100 and box["height"] > 100
    assert not [m for m in messages if CSP_WORDS.search(m)]
