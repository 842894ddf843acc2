"""In Chromium (ASVS V3.4, V14.3): every main page of every role loads without a single
Content-Security-Policy violation or script error, and leaves nothing in localStorage or
sessionStorage (no health data in browser storage)."""

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.security.routes import ROLES, main_pages

pytestmark = pytest.mark.browser

CSP_WORDS = re.compile(r"content security policy|refused to (load|execute|apply|evaluate)", re.I)


# Steps that other pages redirect to, not pages anyone links to: the password asked again
# before a sensitive action (a link to such a page lands there).
REDIRECT_STEPS = {"/account/confirm"}
# Pages a role's server rules allow that its screens rightly do not offer.
NOT_OFFERED = {
    # Ambassadors hand someone over with their short form ("Refer someone"); the desk's
    # contact form opens for them only from a person they recorded ("Log a contact").
    "ambassador": {"/contacts/new"},
    # The ambassadors' short form: the cell's staff log the contact at the desk instead.
    "advisor": {"/referrals/new"},
    "psychologist": {"/referrals/new"},
    "supervisor": {"/referrals/new"},
}


def _main_links(page, targets):
    """{path: href} of the visible links to main pages (a query string may follow), and the
    navigation bar's entries, which a group's menu shows once opened (templates/base.html)."""
    hrefs = page.eval_on_selector_all(
        "a[href]", "els => els.filter(e => e.closest('header.topbar nav') ||"
                   " (e.offsetParent !== null && !e.closest('details:not([open])')))"
                   ".map(e => e.getAttribute('href'))")
    links = {}
    for href in hrefs:
        links.setdefault(urlparse(href).path, href)
    return {path: href for path, href in links.items() if path in targets}


def _open_menu_of(page, href):
    """Open the navigation group that holds a hidden link, as a person does (a click)."""
    if not page.locator(f'a[href="{href}"]:visible').count():
        page.locator("header.topbar nav details", has=page.locator(f'a[href="{href}"]')) \
            .locator("summary").first.click()


@pytest.mark.parametrize("role", ROLES)
def test_main_pages_have_no_csp_violation_and_no_browser_storage(
    app, page, live_server, make_user, browser_login, role
):
    """Every main page the role may open is reached by clicking from home (no typed URL),
    and none has a CSP violation, a script error or browser storage."""
    messages, errors = [], []
    page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda error: errors.append(str(error)))
    browser_login(make_user(role))
    targets = {p for p in main_pages(app) if p != "/login"}
    # What the role may open (asked over HTTP, not through the address bar): the pages that
    # must be reachable by clicking.
    # (200 only: a fragment polled by the pages answers 204.)
    allowed = {p for p in targets - REDIRECT_STEPS - NOT_OFFERED.get(role, set())
               if page.request.get(live_server + p, max_redirects=0).status in (200, 302)}

    def check(path):
        expect(page.locator("#main")).to_be_visible()
        storage = page.evaluate(
            "() => [window.localStorage.length, window.sessionStorage.length]"
        )
        assert storage == [0, 0], f"browser storage used on {path}: {storage}"
        # htmx really runs (so the page's interactions work under the CSP).
        assert page.evaluate("() => typeof window.htmx === 'object'"), path

    current = urlparse(page.url).path
    reached, links_on = {current}, {}
    check(current)
    while True:
        here = _main_links(page, targets)
        links_on[current] = set(here)
        todo = sorted(set(here) - reached)
        if todo:
            target = todo[0]
        else:  # back to a page linked from here that still links somewhere new
            target = next((p for p in sorted(here) if links_on.get(p, set()) - reached), None)
            if target is None:
                break
        before = page.url
        _open_menu_of(page, here[target])
        page.locator(f'a[href="{here[target]}"]:visible').first.click()
        if here[target] != urlparse(before).path:
            expect(page).not_to_have_url(before)
        page.wait_for_load_state()
        current = urlparse(page.url).path
        reached |= {target, current}
        check(current)
    missing = sorted(allowed - reached)
    assert not missing, f"{role} cannot reach these pages by clicking from home: {missing}"
    violations = [m for m in messages if CSP_WORDS.search(m)]
    assert not violations, "\n".join(violations)
    assert not errors, "\n".join(errors)


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
