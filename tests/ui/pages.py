"""The main pages of every role, reached as a person does.

A walk starts at the home a user lands on after signing in, follows every entry of the
main navigation bar (read from the bar itself, so an entry added there is walked too), and
goes one click deeper where it matters: a case, its triage record, a contact, a triage's
first sections, a person, the account page. The world is the demo's (`flask demo`'s seeders,
cellule/cli.py `seed_demo`): every role's users, people, contacts, open and closed cases,
tasks, resources and four months of history for the dashboard.

Used by tests/ui/screens.py (screenshots) and tests/ui/test_screens.py (the checks).
"""

import re
from dataclasses import dataclass

ROLES = ("advisor", "ambassador", "psychologist", "supervisor", "admin")
WIDTHS = (1366, 390)
HEIGHT = 900


@dataclass(frozen=True)
class Login:
    role: str
    email: str
    password: str
    totp_secret: str


def build_world():
    """Seed the demo world in the current app context; return {role: Login} (plain data)
    for the first demo user of each role."""
    from cellule.cli import seed_demo

    logins = {}
    for role, email, password, secret in seed_demo():
        logins.setdefault(role, Login(role, email, password, secret))
    return logins


def totp_code(login):
    """The code an authenticator shows now for `login`; its last accepted step is
    forgotten first, as the same user signs in several times within 30 seconds."""
    import pyotp

    from cellule.extensions import db
    from cellule.models import User

    with db.engine.begin() as conn:
        conn.execute(db.update(User).where(User.email == login.email)
                     .values(totp_last_step=None))
    return pyotp.TOTP(login.totp_secret).now()


def sign_in(page, base_url, login, language):
    """Sign in through the login page, answer the second step, then choose `language`
    in the bar's language menu (the demo users read French)."""
    from playwright.sync_api import expect

    page.goto(base_url + "/login")
    page.locator("#email").fill(login.email)
    page.locator("#password").fill(login.password)
    page.locator("#password").press("Enter")
    if login.totp_secret:
        expect(page).to_have_url(re.compile(r"/login/code$"))
        page.locator("#code").fill(totp_code(login))
        page.locator("#code").press("Enter")
    expect(page).not_to_have_url(re.compile(r"/login"))
    expect(page.locator("html")).to_have_class(re.compile(r"(^|\s)js(\s|$)"))
    select = page.locator("#language-select")
    if select.input_value() != language:
        with page.expect_navigation():
            select.select_option(language)
    expect(page.locator("html")).to_have_attribute("lang", language)


def settle(page):
    """Wait until the page and what htmx loads at once are there (not "networkidle": the
    supervisors' live alerts poll)."""
    page.wait_for_load_state("load")
    # Polled from here: wait_for_function would evaluate a string in the page, which the
    # CSP refuses (no 'unsafe-eval').
    from playwright.sync_api import Error

    for _ in range(200):
        try:
            if page.evaluate("() => !document.querySelector('.htmx-request, .htmx-settling')"):
                return
        except Error:  # a navigation began meanwhile (a form sent by Enter): wait for it
            page.wait_for_load_state("load")
        page.wait_for_timeout(50)
    raise AssertionError(f"{page.url}: htmx still busy after 10 s")


def follow_nav(page, href):
    """Follow the bar's entry to `href`: open the phone menu and the entry's group first,
    if they hide it (templates/base.html)."""
    nav = page.locator("header.topbar nav")
    toggle = nav.locator(".nav-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    link = nav.locator(f"a[href='{href}']")
    if not link.is_visible():
        nav.locator("details", has=page.locator(f"a[href='{href}']")).locator("summary").click()
    link.click()


def nav_entries(page):
    """The hrefs of the bar's entries, in order (the home's own excluded)."""
    hrefs = page.locator("header.topbar nav a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")
    return [href for href in dict.fromkeys(hrefs) if href != "/"]


def page_name(href):
    return href.strip("/").replace("/", "-") or "home"


def search_person(page):
    """Type a demo person's name in the people search and press Enter."""
    field = page.locator("#main input[type='search'], #main input[type='text']").first
    field.fill("Lambert")
    field.press("Enter")


def next_section(page):
    """Answer each question of the section shown — "no", else its first choice — and go
    on to the next section (an htmx swap, as the advisor does on the phone)."""
    form = page.locator("#triage-form")
    radios = form.locator("input[type='radio']:visible")
    for name in dict.fromkeys(radios.evaluate_all("rs => rs.map(r => r.name)")):
        group = form.locator(f"input[type='radio'][name='{name}']")
        no = group.and_(page.locator("[value='no']"))
        (no if no.count() else group.first).check()
    for field in form.locator("input[type='number']:visible").all():
        field.fill("40")
    form.locator("button[name='action'][value='next']").click()


def _click(page, selector):
    """Follow the first link of the page's main part that `selector` finds."""
    with page.expect_navigation():
        page.locator("#main").locator(selector).first.click()
    settle(page)


def open_reassessment(page):
    """From a triage record: back to its case, then its re-assessment card's "Re-assess
    now" (issue 19)."""
    _click(page, CASE)
    _click(page, "a[href$='/reassessment']")


def open_caring_case(page):
    """From a person's consents: back to the person, then the case whose caring messages
    run (the demo's, issue 19; its reference read from the database, then clicked): its
    page shows the running series' card."""
    from cases.caring.models import CaringSeries
    from cases.models import Case
    from cellule.extensions import db

    reference = db.session.scalar(db.select(Case.reference).join(
        CaringSeries, CaringSeries.case_id == Case.id).order_by(CaringSeries.id).limit(1))
    db.session.remove()
    _click(page, "a[href^='/people/']:not([href*='/consents'])")
    with page.expect_navigation():
        page.locator("#main").get_by_role("link", name=reference, exact=True).first.click()
    settle(page)


PERSON = "a[href^='/people/']:not([href$='/new']):not([href$='/duplicates'])"
CASE = "a[href^='/cases/']"
RECORD = "a[href^='/triage/runs/']"
CONTACT = "a[href^='/contacts/']:not([href$='/new'])"

# One click deeper: (name, the page it starts from, what a person does there): a CSS
# selector inside the page's main part, whose first link is followed, or a function.
# Each is a chain (a page leads to at most one deeper page): the walk then goes on with
# the bar's next entry from where it is, never with the browser's Back (htmx reloads a
# page taken from the history, which races the next click).
DEEPER = {
    "advisor": [
        ("case", "queues-advisors", CASE),
        ("triage-record", "case", RECORD),
        ("contact", "inbox", CONTACT),
        ("triage-section", "contact", "a[href$='/triage']"),
        ("triage-section-2", "triage-section", next_section),
        ("triage-section-3", "triage-section-2", next_section),
        ("people-search", "people", search_person),
        ("person", "people-search", PERSON),
        ("consents", "person", "a[href$='/consents']"),  # issue 20
        ("reassessment", "triage-record", open_reassessment),  # issue 19 (gaps19)
        ("case-caring", "consents", open_caring_case),  # issue 19 (gaps19)
    ],
    "ambassador": [],
    "psychologist": [
        ("case", "queues-psychology", CASE),
        ("triage-record", "case", RECORD),
        ("people-search", "people", search_person),
        ("person", "people-search", PERSON),
    ],
    "supervisor": [
        ("approvals", "home", "a[href^='/approvals']"),
        ("case", "board", CASE),
        ("triage-record", "case", RECORD),
        ("contact", "inbox", CONTACT),
    ],
    "admin": [
        ("resource", "admin-resources", "a[href^='/admin/resources/']:not([href$='/new'])"),
    ],
}


def walk(page, role, problems=None):
    """Visit every page of `role` from the signed-in home; yield each page's name once it
    is shown. A deeper page whose link is missing is reported in `problems` (a list)."""
    settle(page)
    yield "home"
    entries = nav_entries(page)
    deeper = DEEPER[role]
    yield from _deeper(page, "home", deeper, problems)
    for href in entries:
        with page.expect_navigation():
            follow_nav(page, href)
        settle(page)
        name = page_name(href)
        yield name
        yield from _deeper(page, name, deeper, problems)
    with page.expect_navigation():
        page.locator("header .who a").click()
    settle(page)
    yield "account"


def _deeper(page, parent, deeper, problems):
    for name, start, action in deeper:
        if start != parent:
            continue
        if callable(action):
            action(page)
        else:
            link = page.locator("#main").locator(action).first
            if not link.count():
                if problems is not None:
                    problems.append(f"{parent}: no link to a {name} ({action})")
                continue
            with page.expect_navigation():
                link.click()
        settle(page)
        yield name
        yield from _deeper(page, name, deeper, problems)
