"""The triage screen and the whole path, in a real Chromium (keyboard and mouse)."""

import re

import pytest
from playwright.sync_api import expect

from cellule.extensions import db

from .conftest import LEVEL_ANSWERS

pytestmark = pytest.mark.browser

SECTION_ITEMS = {
    "safety": ("cssrs_1_wish_dead", "cssrs_2_thoughts", "cssrs_3_method", "cssrs_4_intent",
               "cssrs_5_plan", "cssrs_6_behaviour", "cssrs_6_recent", "acute_now"),
    "distress": ("phq_1_interest", "phq_2_down", "gad_1_nervous", "gad_2_worry"),
    "burnout": ("cbi_1_tired", "cbi_2_physical", "cbi_3_emotional", "cbi_4_cant_take",
                "cbi_5_worn_out", "cbi_6_weak_ill"),
    "context": ("hours_per_week", "sleep_problems", "isolation", "financial_worries",
                "admin_overload", "client_pressure", "health_problem", "life_event",
                "contribution_arrears", "exemption_request", "bridging_right_request",
                "incapacity"),
    "buffers": ("support_person", "future_plans"),
}


def answer(page, item_id, value):
    group = page.locator(f"#q-{item_id}")
    if item_id == "hours_per_week":
        group.get_by_role("spinbutton").fill(str(value))
        return
    label = {"yes": "Oui", "no": "Non"}.get(value)
    radio = group.get_by_role("radio", name=label, exact=True) if label else group.get_by_role(
        "radio", name=re.compile(rf"^{value} ·"))
    radio.check()


def walk(page, answers, start=0):
    """Answer the sections from the `start`-th on and move to the next each time."""
    for section, items in list(SECTION_ITEMS.items())[start:]:
        for item_id in items:
            if item_id in answers:
                answer(page, item_id, answers[item_id])
                if section == "safety":
                    # Each safety answer re-renders the live part (skip logic, crisis panel).
                    page.wait_for_load_state("networkidle")
        page.get_by_role("button", name=re.compile("Next section|Show the proposal")).click()
        if section != "buffers":
            expect(page.locator("#step-heading")).to_be_focused()
    # The proposal has replaced the last section (whose crisis panel has a tick box too).
    expect(page.get_by_role("button", name="Record the decision")).to_be_visible()


def searchable_person(user, name):
    """A person created as the desk does (indexed for the search)."""
    from contacts import operations

    person = operations.create_person(user, name=name, language="fr")
    db.session.commit()
    return person


def open_triage_from_person_page(page, click_nav, name):
    """People → search the name → the person → "Run the triage" (today's contact)."""
    click_nav("People")
    page.get_by_role("searchbox").press_sequentially(name, delay=20)
    page.get_by_role("link", name=re.compile(name)).click()
    page.get_by_role("link", name="Run the triage", exact=True).click()
    expect(page.locator("#q-cssrs_1_wish_dead")).to_be_visible()


def test_walk_to_the_crisis_panel(page, browser_login, click_nav, make_user, make_contact):
    advisor = make_user("advisor", language="en")
    make_contact(advisor, person=searchable_person(advisor, "Jeanne Walker"))
    browser_login(advisor)
    open_triage_from_person_page(page, click_nav, "Jeanne Walker")
    expect(page.locator("#crisis-panel")).to_have_count(0)
    expect(page.locator("#q-cssrs_3_method")).to_have_count(0)
    # Keyboard only: tab to the first answer, choose "Oui" with the space bar.
    page.locator("#cssrs_1_wish_dead-yes").focus()
    page.keyboard.press("Space")
    panel = page.get_by_role("region", name="Crisis protocol")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("0800 32 123")
    expect(panel).to_contain_text("112")
    expect(panel.get_by_role("checkbox")).to_be_visible()
    expect(page.locator("#q-acute_now")).to_be_visible()  # asked once a safety item is yes
    expect(page.locator("#cssrs_1_wish_dead-yes")).to_be_focused()  # focus kept on the swap
    answer(page, "cssrs_2_thoughts", "yes")
    expect(page.locator("#q-cssrs_3_method")).to_be_visible()  # skip logic live
    answer(page, "cssrs_2_thoughts", "no")
    expect(page.locator("#q-cssrs_3_method")).to_have_count(0)


def test_walk_to_an_at_risk_proposal(page, browser_login, click_nav, make_user, make_contact):
    advisor = make_user("advisor", language="en")
    make_contact(advisor, person=searchable_person(advisor, "Jeanne Walker"))
    browser_login(advisor)
    open_triage_from_person_page(page, click_nav, "Jeanne Walker")
    # A missing answer is named on screen.
    page.get_by_role("button", name="Next section").click()
    expect(page.get_by_role("alert").first).to_contain_text("Avez-vous réellement pensé")
    walk(page, LEVEL_ANSWERS["at_risk"])
    expect(page.get_by_role("heading", name="Proposal")).to_be_focused()
    expect(page.locator(".proposal .badge-at_risk")).to_be_visible()
    expect(page.locator(".proposal")).to_contain_text("Coaching")
    expect(page.locator(".reasons")).to_contain_text("3")


def test_answers_given_while_the_live_part_loads_are_kept(page, browser_login, click_nav,
                                                          make_user, make_contact, monkeypatch):
    """A quick advisor answers "right now" (a question of the live part) while the previous
    answer's re-render is still on its way: that older re-render must not uncheck it."""
    import time

    from cases import triage_views

    slow = {}
    step_context = triage_views.step_context

    def slow_once(*args, **kwargs):
        if slow.pop("next", False):
            time.sleep(1.5)
        return step_context(*args, **kwargs)

    monkeypatch.setattr(triage_views, "step_context", slow_once)
    advisor = make_user("advisor", language="en")
    make_contact(advisor, person=searchable_person(advisor, "Jeanne Walker"))
    browser_login(advisor)
    open_triage_from_person_page(page, click_nav, "Jeanne Walker")
    answer(page, "cssrs_1_wish_dead", "yes")
    expect(page.locator("#q-acute_now")).to_be_visible()  # the live part asks "right now"
    page.wait_for_load_state("networkidle")
    slow["next"] = True
    with page.expect_request(lambda r: r.url.endswith("/triage/live")):
        answer(page, "cssrs_2_thoughts", "no")
    answer(page, "acute_now", "yes")  # while the re-render of "thoughts" is on its way
    page.wait_for_timeout(2500)  # the slow answer, then the queued one, are in
    page.wait_for_load_state("networkidle")
    expect(page.locator("#acute_now-yes")).to_be_checked()
    expect(page.locator("#cssrs_2_thoughts-no")).to_be_checked()
    expect(page.get_by_role("region", name="Crisis protocol")).to_be_visible()


def test_whole_path(page, browser_login, click_nav, make_user, resources):
    from sqlalchemy import select

    from cases.models import Case
    from contacts.models import Contact

    advisor = make_user("advisor", name="Bram Conseiller")
    psychologist = make_user("psychologist", name="Chloé Psychologue")
    other_psy = make_user("psychologist", name="Dirk Psycholoog")
    supervisor = make_user("supervisor", name="Els Superviseur")
    ambassador = make_user("ambassador")

    # The advisor logs a call with a new person.
    browser_login(advisor)
    click_nav("New contact")
    page.locator("#name").fill("Jeanne Indépendante")
    page.locator("form.contact-form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/contacts/new"))
    db.session.expire_all()
    contact = db.session.scalars(select(Contact).order_by(Contact.id.desc())).first()
    assert contact is not None and contact.person is not None

    # …runs the triage to "serious" from the saved contact's page.
    page.get_by_role("link", name="Run the triage", exact=True).click()
    walk(page, LEVEL_ANSWERS["serious"])
    expect(page.locator(".proposal .badge-serious")).to_be_visible()
    page.get_by_role("checkbox", name="The crisis numbers were given to the person").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Triage run")
    db.session.expire_all()
    case = db.session.scalars(select(Case)).one()
    assert (case.level, case.queue) == ("serious", "psychology")

    # A psychologist finds it in the queue, claims it and writes a clinical note.
    page.context.clear_cookies()
    browser_login(psychologist)
    click_nav("Psychology queue")
    row = page.get_by_role("row").filter(has_text=case.reference)
    expect(row.locator(".badge-serious")).to_be_visible()
    row.get_by_role("button", name=f"Claim {case.reference}").click()
    expect(page.locator("#case-assignee")).to_have_text("Chloé Psychologue")
    page.get_by_label("New note").fill("Idées noires depuis la faillite; plan de sécurité fait.")
    page.get_by_role("radio", name="Clinical note").check()
    page.get_by_role("button", name="Add the note").click()
    expect(page.locator(".note-clinical .note-body")).to_contain_text("plan de sécurité")

    # An ambassador cannot see that note (nor the case: it is in none of their lists; the
    # 404 of its typed URL is tests/security/test_route_matrix.py's).
    page.context.clear_cookies()
    browser_login(ambassador)
    click_nav("My cases")
    expect(page.get_by_role("link", name=case.reference)).to_have_count(0)
    expect(page.get_by_text("plan de sécurité")).to_have_count(0)

    # A supervisor sees that a clinical note exists (not its body) and reassigns from the board.
    page.context.clear_cookies()
    browser_login(supervisor)
    click_nav("Board")
    page.get_by_role("link", name=case.reference).click()
    expect(page.locator(".note-clinical")).to_contain_text("Chloé Psychologue")
    expect(page.get_by_text("plan de sécurité")).to_have_count(0)
    click_nav("Board")
    page.get_by_role("checkbox", name=f"Select {case.reference}").check()
    page.get_by_label("Reassign selected to").select_option(label="Dirk Psycholoog")
    page.get_by_role("button", name="Reassign selected").click()
    expect(page.locator("#bulk-done")).to_contain_text("1 case reassigned to Dirk Psycholoog.")
    expect(page.locator(f"#case-row-{case.id}")).to_contain_text("Dirk Psycholoog")
    db.session.expire_all()
    assert db.session.get(Case, case.id).assignee_id == other_psy.id


def test_board_filters_update_the_results_in_place(page, browser_login, click_nav, make_user,
                                                   triage):
    _run, serious = triage("serious")
    _run, coaching = triage("at_risk")
    browser_login(make_user("supervisor", language="en"))
    click_nav("Board")
    expect(page.get_by_role("link", name=serious.reference)).to_be_visible()
    # The board's scripts (htmx) have run: on a loaded machine the list can show before the
    # deferred scripts do, and a change made then is a plain form's, waiting for its button.
    page.wait_for_load_state("load")
    expect(page.locator("html.js")).to_be_attached()
    page.evaluate("() => { window.cellMarker = 7; }")  # lost if the page reloads
    page.get_by_label("Route", exact=True).select_option("coaching")
    expect(page).to_have_url(re.compile(r"route=coaching"))
    expect(page.get_by_role("link", name=serious.reference)).to_have_count(0)
    expect(page.get_by_role("link", name=coaching.reference)).to_be_visible()
    expect(page.get_by_label("Route", exact=True)).to_have_value("coaching")
    assert page.evaluate("() => window.cellMarker") == 7


def test_reassess_from_the_case_page_attaches_a_run_that_raises_the_case(
        page, browser_login, click_nav, make_user, triage):
    from sqlalchemy import select

    from cases.models import Case, TriageRun

    advisor = make_user("advisor", name="Bram Conseiller", language="en")
    first, case = triage("at_risk", user=advisor)
    assert (case.level, case.queue) == ("at_risk", "advisors")
    browser_login(advisor)
    click_nav("Advisors' queue")
    page.get_by_role("link", name=case.reference).click()
    expect(page.locator("#case-level")).to_have_text("At risk")

    # Re-assess: the call is logged on the case and the triage opens at its first section.
    page.get_by_label("How you are in touch").select_option(label="Phone call: I called the person")
    page.get_by_label("What the person says now (optional)").fill("Ça s'est aggravé.")
    page.get_by_role("button", name="Re-assess").click()
    expect(page.locator("#step-heading")).to_have_text("Safety")
    walk(page, LEVEL_ANSWERS["serious"])
    expect(page.locator(".proposal .badge-serious")).to_be_visible()
    page.get_by_role("checkbox", name="The crisis numbers were given to the person").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Triage run")

    # The record leads to THIS case, raised, whose timeline and runs show the new run.
    page.get_by_role("link", name=case.reference).click()
    expect(page.locator("#case-level")).to_have_text("Serious")
    db.session.expire_all()
    run = db.session.scalars(select(TriageRun).where(TriageRun.id != first.id)).one()
    assert run.case_id == case.id
    assert db.session.scalars(select(Case)).all() == [db.session.get(Case, case.id)]
    # The timeline, filtered to the triage, has both runs, the new one first.
    page.get_by_role("navigation", name="Show in the timeline").get_by_role(
        "link", name="Triage").click()
    timeline = page.get_by_role("region", name="Timeline")
    attached = timeline.get_by_role("listitem").filter(has_text="Triage attached")
    expect(attached).to_have_count(2)
    expect(timeline.get_by_role("listitem").filter(has_text="Case opened")).to_have_count(0)
    attached.first.get_by_role("link", name=re.compile("Triage record")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Triage run #{run.id}")
