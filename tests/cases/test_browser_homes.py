"""In Chromium (issue 18): each role's home is its work — every journey starts at the login
page and only clicks and types; the grouped navigation holds on one row at 1366 px and
folds into a menu on a 390 px phone; the keyboard shortcuts and their "?" help.

Screenshots of every home at both widths go to /tmp/shots_homes18/ (not committed)."""

import os
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from cases import operations as ops
from cellule.extensions import db
from cellule.types import utcnow
from contacts import operations as contacts_ops
from tests.conftest import follow_nav

pytestmark = pytest.mark.browser

SHOTS = "/tmp/shots_homes18"
WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def shoot(page, name):
    """Screenshots of the page as it is, at 1366 and 390 px (back to 1366 after)."""
    os.makedirs(SHOTS, exist_ok=True)
    for size in (WIDE, PHONE):
        page.set_viewport_size(size)
        page.screenshot(path=f"{SHOTS}/{name}-{size['width']}.png", full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= size["width"], f"{name} overflows at {size['width']} px"
    page.set_viewport_size(WIDE)


def panel(page, name):
    return page.get_by_role("region", name=re.compile(rf"^{re.escape(name)}"))


def one_row(page):
    """The tops of the bar's entries (links and group menus) at this width."""
    return set(page.evaluate("""Array.from(document.querySelectorAll(
        '.mainnav .nav-list > li > a, .mainnav .nav-list > li > details > summary'))
        .map(e => Math.round(e.getBoundingClientRect().top))"""))


def test_the_advisor_starts_from_the_red_flag_and_their_late_task(page, browser_login,
                                                                  make_user, triage):
    advisor = make_user("advisor", name="Ada Conseil", language="en")
    person = contacts_ops.create_person(advisor, name="Jeanne Lambert")
    email = contacts_ops.create_contact(
        None, person=person, channel="email", email_sender="j@example.be",
        email_subject="Je n'en peux plus", email_body="Je veux mourir.", mailbox="INBOX",
        mailbox_uidvalidity=1, mailbox_uid=1, email_message_id="<a@example.be>")
    _run, case = triage("elevated", user=advisor)
    ops.reassign_case(case, advisor, advisor, case.version)
    ops.create_task(title="Rappeler Jeanne", kind="callback", actor=advisor, assignee=advisor,
                    case=case, due_at=utcnow() - timedelta(hours=3))
    db.session.commit()
    page.set_viewport_size(WIDE)
    browser_login(advisor)
    # "New contact" first, as the page's first button; then the inbox, red flag first.
    expect(page.locator("#main .button").first).to_have_text("New contact")
    inbox = panel(page, "Inbox")
    expect(inbox.get_by_role("link").first).to_contain_text("Jeanne Lambert")
    expect(inbox).to_contain_text("red flag")
    tasks = panel(page, "My tasks due today or late")
    expect(tasks).to_contain_text("late by")
    expect(panel(page, "My open cases")).to_contain_text(case.reference)
    expect(page.locator(".tiles")).to_have_count(0)
    shoot(page, "advisor-home")
    inbox.get_by_role("link", name=re.compile("Jeanne Lambert")).click()
    expect(page).to_have_url(re.compile(rf"/contacts/{email.id}$"))
    follow_nav(page, "Home")
    panel(page, "My tasks due today or late").get_by_role(
        "link", name=re.compile("Rappeler Jeanne")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)


def test_the_psychologist_sees_the_queue_head_with_its_age_and_claims_from_it(
        page, browser_login, make_user, triage):
    psychologist = make_user("psychologist", name="Pia Psy", language="en")
    _run, case = triage("serious", at=utcnow() - timedelta(hours=2))
    page.set_viewport_size(WIDE)
    browser_login(psychologist)
    queue = panel(page, "Psychology queue")
    row = queue.get_by_role("link", name=re.compile(case.reference))
    expect(row).to_contain_text("waiting")
    expect(row).to_contain_text(re.compile("due in|late by"))
    expect(panel(page, "My open cases")).to_contain_text("No open case is assigned to you.")
    shoot(page, "psychologist-home")
    row.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)


def test_the_supervisor_sees_late_work_queues_health_and_reaches_the_board(
        page, browser_login, make_user, triage):
    supervisor = make_user("supervisor", name="Els Toezicht", language="en")
    _run, late = triage("serious", at=utcnow() - timedelta(days=10))
    _run, high = triage("high")
    page.set_viewport_size(WIDE)
    browser_login(supervisor)
    assert len(one_row(page)) == 1, "the supervisor's bar wraps at 1366 px"
    expect(panel(page, "Late cases")).to_contain_text(late.reference)
    expect(panel(page, "High level, not answered yet")).to_contain_text(high.reference)
    queues = panel(page, "Queues")
    expect(queues.get_by_role("link", name=re.compile("Psychology queue"))).to_contain_text(
        "2 waiting")
    expect(panel(page, "Background work and mailbox")).to_contain_text("Background work")
    shoot(page, "supervisor-home")
    # A group of the bar opens as a menu; Escape closes it.
    nav = page.get_by_role("navigation", name="Main navigation")
    nav.get_by_text("Team", exact=True).click()
    expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/supervisor-team-menu-1366.png")
    page.keyboard.press("Escape")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_hidden()
    page.get_by_role("link", name="Open the board").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Board")


def test_the_ambassador_refers_someone_and_follows_the_referral(page, browser_login,
                                                                make_user):
    ambassador = make_user("ambassador", name="Bea Ambassador", language="en")
    page.set_viewport_size(WIDE)
    browser_login(ambassador)
    expect(panel(page, "My referrals")).to_contain_text("You have not referred anyone yet.")
    page.locator("#main").get_by_role("link", name="Refer someone").click()
    page.get_by_label("Who is it?").fill("Marc Dubois")
    page.get_by_label("How to reach them").fill("0475 11 22 33")
    page.get_by_label("What did you notice?").fill("Il semble épuisé.")
    page.get_by_role("button", name="Send to the cell").click()
    expect(page.locator("#flashes")).to_contain_text("Thank you")
    follow_nav(page, "Home")
    referrals = panel(page, "My referrals")
    expect(referrals.get_by_role("link", name=re.compile("Marc Dubois"))).to_contain_text(
        "Received, waiting for an advisor")
    shoot(page, "ambassador-home")
    referrals.get_by_role("link", name="All my referrals").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My referrals")
    expect(page.get_by_role("table")).to_contain_text("Marc Dubois")
    shoot(page, "ambassador-referrals")
    follow_nav(page, "Home")
    follow_nav(page, "My referrals")
    expect(page.get_by_role("heading", level=1)).to_have_text("My referrals")


def test_the_admin_home_holds_accounts_resources_and_mail(page, browser_login, make_user):
    admin = make_user("admin", name="Adam Admin", language="en")
    page.set_viewport_size(WIDE)
    browser_login(admin)
    assert len(one_row(page)) == 1, "the admin's bar wraps at 1366 px"
    expect(panel(page, "Accounts")).to_contain_text("active account")
    expect(panel(page, "Mail")).to_contain_text("nothing waits")
    shoot(page, "admin-home")
    panel(page, "Resource directory").get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Resource")
    follow_nav(page, "Home")
    panel(page, "Accounts").get_by_role("link", name=re.compile("^Users")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")


def test_on_a_phone_the_bar_is_one_menu(page, browser_login, make_user):
    supervisor = make_user("supervisor", name="Els Toezicht", language="en")
    page.set_viewport_size(PHONE)
    browser_login(supervisor)
    nav = page.get_by_role("navigation", name="Main navigation")
    menu = nav.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Home", exact=True)).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    # Every group is unfolded in the phone menu: one tap to any entry.
    expect(nav.get_by_role("link", name="Board", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Failed jobs")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/supervisor-menu-390.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    menu.press("Enter")
    nav.get_by_role("link", name="Board", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Board")


def test_keyboard_shortcuts_and_their_help(page, browser_login, make_user):
    advisor = make_user("advisor", name="Ada Conseil", language="en")
    page.set_viewport_size(WIDE)
    browser_login(advisor)
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_hidden()
    page.keyboard.press("?")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("New contact")
    expect(help_dialog).to_contain_text("Search a person")
    page.screenshot(path=f"{SHOTS}/shortcuts-help-1366.png")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    page.keyboard.press("n")
    expect(page.get_by_role("heading", level=1)).to_have_text("New contact")
    expect(page.locator("html")).to_have_class(re.compile(r"(^|\s)js(\s|$)"))
    search = page.get_by_role("searchbox", name="Search a person")
    page.get_by_role("heading", level=1).click()  # out of the field the page focused
    expect(search).not_to_be_focused()
    page.keyboard.press("/")
    expect(search).to_be_focused()
    expect(search).to_have_value("")
    # Typing in a field never fires a shortcut.
    search.type("n?/")
    expect(search).to_have_value("n?/")
    expect(page.get_by_role("heading", level=1)).to_have_text("New contact")
    expect(help_dialog).to_be_hidden()
    # From the home, "/" opens the people search.
    follow_nav(page, "Home")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Good day")
    expect(page.locator("html")).to_have_class(re.compile(r"(^|\s)js(\s|$)"))
    page.keyboard.press("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("People")


@pytest.mark.parametrize("language", ["fr", "nl", "de"])
def test_the_longest_bars_hold_on_one_row_in_every_language(page, browser_login, make_user,
                                                            language):
    page.set_viewport_size(WIDE)
    for role in ("supervisor", "admin"):
        browser_login(make_user(role, language=language))
        expect(page.locator("html")).to_have_attribute("lang", language)
        assert len(one_row(page)) == 1, f"the {role}'s bar wraps at 1366 px in {language}"
        page.screenshot(path=f"{SHOTS}/{role}-home-{language}-1366.png")
        page.context.clear_cookies()
