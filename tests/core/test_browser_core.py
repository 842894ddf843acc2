"""Logging in through the real page and switching the language, in Chromium."""

import re
from urllib.parse import urljoin

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.mark.browser_context_args(locale="fr-BE")  # a French Belgian browser
def test_login_and_switch_language(page, live_server, make_user):
    make_user("advisor", email="ana@fund.be", name="Ana Janssens", language="fr")
    page.goto(live_server + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Adresse e-mail").fill("ana@fund.be")
    page.get_by_label("Mot de passe").fill("correct horse battery staple")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ana Janssens")
    # The select submits itself from static/js/cellule.js (deferred): wait until it has run.
    expect(page.locator("html")).to_have_class(re.compile(r"(^|\s)js(\s|$)"))

    page.get_by_label("Langue").select_option("nl")
    expect(page.get_by_role("button", name="Afmelden")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "nl")

    page.get_by_role("button", name="Afmelden").click()
    expect(page.get_by_role("heading", name="Aanmelden")).to_be_visible()


def test_quick_filter_changes_and_live_searches_log_no_console_error(page, browser_login,
                                                                     click_nav, make_user):
    """The board's and the dashboard's filters changed in quick succession, a live search:
    no console error or warning (no CSP violation, no aborted request, no favicon 404)."""
    messages, failed = [], []
    # Errors and warnings (Chromium's "info" notes, e.g. on autofocus, are no fault of a page).
    page.on("console", lambda msg: msg.type in ("error", "warning")
            and messages.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    browser_login(make_user("supervisor", language="en"))
    expect(page.locator("html.js")).to_be_attached()

    click_nav("Board")
    route = page.get_by_label("Route", exact=True)
    for value in ("coaching", "crisis", "psychologist", "", "coaching"):
        route.select_option(value)  # each change before the previous answer
    expect(page).to_have_url(re.compile(r"route=coaching"))
    expect(page.locator("#board-results")).to_be_visible()
    page.wait_for_load_state("networkidle")

    click_nav("Dashboard")
    period = page.get_by_label("Period", exact=True)
    for value in ("this_year", "last_month", "this_month"):
        period.select_option(value)
    expect(page).to_have_url(re.compile(r"preset=this_month"))
    page.wait_for_load_state("networkidle")

    click_nav("People")
    page.get_by_role("searchbox").press_sequentially("Jean", delay=30)
    expect(page.locator("#search-results")).to_contain_text(re.compile(r"\S"))
    page.wait_for_load_state("networkidle")

    assert not messages, "\n".join(messages)
    assert not failed, "\n".join(failed)
    # The icon the page declares is our SVG, cached like the other static files (fetched
    # in the page's context: a headless shell, having no tab strip, loads no icon itself).
    href = page.locator("link[rel=icon]").first.get_attribute("href")
    icon = page.request.get(urljoin(page.url, href))
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert "no-store" not in (icon.headers.get("cache-control") or "")


def test_account_page_names_its_columns_and_the_browser(page, browser_login, click_nav,
                                                        make_user):
    page.set_viewport_size({"width": 390, "height": 860})  # a phone
    user = make_user("advisor", language="en")
    browser_login(user)
    page.locator(".account").get_by_role("link", name=user.name).click()
    sessions = page.get_by_role("table", name="Open sessions")
    headers = sessions.get_by_role("columnheader").all_inner_texts()
    named = [h for h in headers if h.strip()]
    assert len(named) == len(set(named)), headers  # no two columns headed alike
    browser = sessions.get_by_role("cell", name=re.compile(r"^Chrome \d+ on Linux\b"))
    expect(browser).to_be_attached()  # whole, in a table that scrolls by itself on a phone
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_the_next_page_reuses_the_stylesheet_and_scripts(app, page, browser_login, click_nav,
                                                        make_user):
    """Static files are named by their version and kept by the browser: a person going from
    page to page fetches the stylesheet, the scripts and the icon once (cellule.static_files),
    instead of asking the server again for each at every navigation."""
    from flask import request, request_started

    asked = []

    def record(sender, **extra):
        if request.path.startswith("/static/") and request.path != "/static/favicon.svg":
            asked.append(request.full_path)

    # From the sign-in page on, each file's first request included. The icon is left out:
    # Chromium's own icon loader fetches it when it likes, at times again for a new page,
    # past the page's cache (seen here); the page's stylesheet and scripts are what it loads.
    request_started.connect(record, app)
    try:
        browser_login(make_user("advisor"))
        for entry in ("People", "Inbox", "New contact"):
            click_nav(entry)
            expect(page.locator("#main h1")).not_to_have_text("")
    finally:
        request_started.disconnect(record, app)
    again = sorted({path for path in asked if asked.count(path) > 1})
    assert asked and not again, again
    urls = page.eval_on_selector_all("link[href^='/static/'], script[src^='/static/']",
                                     "els => els.map(e => e.getAttribute('href') || e.src)")
    assert urls and all("?v=" in url for url in urls), urls
