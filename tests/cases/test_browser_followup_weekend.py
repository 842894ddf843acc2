"""Follow-ups scheduled over a weekend, in a browser (issue 19's Done-when): on a Friday at
16:00 an advisor logs a call, runs the triage to "high" from the contact page and records
the decision; the case page lists the follow-up contacts and their page shows each due time
moved out of the night and the weekend, with the 24/7 line that covers the first gap."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from .conftest import LEVEL_ANSWERS
from .test_browser import walk

pytestmark = pytest.mark.browser

FRIDAY_16H = datetime(2026, 1, 9, 15, 0, tzinfo=UTC)  # Friday 9 January, 16:00 in Brussels
REFERENCE = re.compile(r"CEL-\d{4}-\d{6}")

# English "short" date and time as the user reads them (Brussels time).
EXPECTED_DUE = (
    r"1/12/26,\s8:30\sAM",  # 24 h: Saturday 16:00, the cell closed -> Monday's opening
    r"1/12/26,\s4:00\sPM",  # 72 h: Monday 16:00, the cell open
    r"1/16/26,\s8:30\sAM",  # 7 days: Friday 16 -> the opening of that day
    r"2/9/26,\s8:30\sAM",   # 1 month: Sunday 8 February -> Monday's opening
    r"4/9/26,\s8:30\sAM",   # 3 months: Thursday 9 April
)


def test_follow_ups_of_a_friday_call_skip_the_weekend(page, browser_login, click_nav, make_user,
                                                      resources):
    advisor = make_user("advisor", name="Ana Janssens", language="en")
    with time_machine.travel(FRIDAY_16H, tick=True):
        browser_login(advisor)
        click_nav("New contact")
        page.get_by_role("searchbox", name="Search a person").press_sequentially(
            "Rosalie Dumont", delay=20)
        expect(page.locator("#search-results")).to_contain_text("No one found.")
        page.get_by_label("Name", exact=True).fill("Rosalie Dumont")
        page.get_by_label("Phone").fill("0471 55 66 77")
        page.get_by_label("Summary").fill("Appel du vendredi: pense à en finir, sans plan.")
        page.get_by_role("button", name="Save the contact").click()
        page.get_by_role("link", name="Run the triage", exact=True).click()

        walk(page, LEVEL_ANSWERS["high"])
        expect(page.locator(".proposal .badge-high")).to_be_visible()
        given = page.get_by_role("checkbox", name="The crisis numbers were given to the person")
        if given.count():
            given.check()
        page.get_by_role("button", name="Record the decision").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Triage run")

        page.get_by_role("link", name=REFERENCE).first.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Case")
        tasks = page.locator("#case-task-list")
        expect(tasks.get_by_role("link", name="Log an attempt")).to_have_count(5)
        tasks.get_by_role("link", name="Log an attempt").first.click()

        rows = page.get_by_role("region", name="Planned contacts").locator("tbody tr")
        expect(rows).to_have_count(len(EXPECTED_DUE))
        for row, due in zip(rows.all(), EXPECTED_DUE, strict=True):
            expect(row.locator("td").first).to_have_text(re.compile(due))
        # The first contact moved by 40.5 h (more than half its 24 h): the French-speaking
        # person's 24/7 line is given for the gap; the others need none.
        expect(rows.first).to_contain_text("0800 32 123")
        for row in rows.all()[1:]:
            expect(row.locator("td").last).to_have_text("—")
