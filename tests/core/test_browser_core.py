"""Logging in through the real page and switching the language, in Chromium."""

import re

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
