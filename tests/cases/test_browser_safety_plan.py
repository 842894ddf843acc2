"""The safety plan in a crisis call, by clicks and typing only (issue 19): an advisor takes
a call, the triage's safety answer is yes, the case opens; from the case page the advisor
writes the plan with the person, picks a crisis line from the directory, and emails it with
the person's oral consent: the mail arrives (aiosmtpd) with the plan as a PDF."""

import io
import re

import pytest
from playwright.sync_api import expect

from cellule.jobs import drain
from tests.jobs.conftest import smtp_server  # noqa: F401  (the fixture)

from .conftest import LEVEL_ANSWERS
from .test_browser import walk

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"CEL-\d{4}-\d{6}")


def test_a_plan_written_in_a_crisis_call_is_emailed_with_its_pdf(
        app, page, live_server, browser_login, click_nav, make_user, resources, smtp_server):  # noqa: F811
    from pypdf import PdfReader

    advisor = make_user("advisor", name="Ana Janssens")
    browser_login(advisor)
    click_nav("New contact")
    page.get_by_role("searchbox", name="Search a person").press_sequentially("Rosalie Dumont",
                                                                           delay=20)
    expect(page.locator("#search-results")).to_contain_text("No one found.")
    page.get_by_label("Name", exact=True).fill("Rosalie Dumont")
    page.get_by_label("Email", exact=True).fill("rosalie@example.be")
    page.get_by_label("Summary").fill("Appel: ne voit plus d'issue.")
    page.get_by_role("button", name="Save the contact").click()
    page.get_by_role("link", name="Run the triage", exact=True).click()

    # The safety answers are yes: the crisis panel offers the plan (the case exists as soon
    # as the alert went out).
    walk(page, LEVEL_ANSWERS["imminent"])
    panel = page.get_by_role("region", name="Crisis protocol")
    expect(panel.get_by_role("link", name="Write the safety plan with the person")).to_be_visible()
    panel.get_by_role("checkbox", name="The crisis numbers were given to the person").check()
    page.get_by_role("button", name="Record the decision").click()
    # The record's page (the proposal's own page links the case too: wait for the answer).
    expect(page.get_by_role("heading", level=1)).to_contain_text("Triage run")
    page.get_by_role("link", name=REFERENCE).first.click()

    # The case page shows the missing plan in plain sight.
    card = page.get_by_role("region", name="Safety plan")
    expect(card).to_contain_text("No safety plan yet.")
    card.get_by_role("link", name="Write the safety plan").click()
    page.get_by_label("1. Warning signs").fill("Je ne dors plus\nJe m'isole")
    page.get_by_label("4. People I can ask for help").fill("Élodie, ma sœur")
    page.get_by_label("Reasons for living").fill("Mes enfants")
    page.get_by_role("group", name="Add from the directory").get_by_role(
        "checkbox").first.check()
    page.get_by_role("button", name="Save the plan").click()
    expect(page.get_by_role("status").filter(has_text="Safety plan saved.")).to_be_visible()
    expect(page.locator("#plan-version")).to_contain_text("Version 1")

    page.get_by_role("radio", name="Oral consent").check()
    page.get_by_role("button", name="Email the plan").click()
    expect(page.get_by_role("status").filter(has_text="on its way")).to_be_visible()

    drain(app)
    [message] = smtp_server.messages
    assert message["To"] == "rosalie@example.be"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    text = PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
    assert "Je ne dors plus" in text and "Élodie, ma sœur" in text and "Mes enfants" in text
