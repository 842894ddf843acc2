"""Psychologists' appointments in a browser, by clicks and typing only (issue 20): a
psychologist publishes a weekly availability from "My availability"; an advisor books a
slot from a case; the confirmation reaches aiosmtpd with its .ics invitation (parsed); the
reminder leaves 24 hours before and not earlier (time moved); after the hour the
psychologist records that the person did not come."""

import re
import time
from datetime import timedelta

import pytest
import time_machine
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from cellule.extensions import db
from cellule.jobs import drain
from cellule.types import utcnow
from tests.jobs.conftest import smtp_server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

ADDRESS = "rosalie@example.be"
SHOTS = "/tmp/shots_appoint20"


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))


def _shoot(page, name):
    """Screenshots at 1366 and 390 px; no horizontal overflow on a phone."""
    page.screenshot(path=f"{SHOTS}/{name}_1366.png", full_page=True)
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"{SHOTS}/{name}_390.png", full_page=True)
    assert page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.set_viewport_size(size)


def _deliver(app, smtp_server, count):  # noqa: F811
    """Run the jobs until `count` messages reached aiosmtpd (a loaded machine may relay
    the request's job a moment after its answer)."""
    for _attempt in range(20):
        drain(app)
        if len(smtp_server.messages) >= count:
            return
        time.sleep(0.5)


def _ics(message):
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_content().encode()
                              if isinstance(part.get_content(), str) else part.get_content())


def test_a_slot_published_booked_reminded_and_missed(
        app, page, live_server, browser_login, click_nav, make_user, make_person, triage,
        smtp_server):  # noqa: F811
    from cases.appointments import operations as appointments
    from cases.appointments.models import Appointment, Slot
    from triage.calendar import get_calendar

    psychologist = make_user("psychologist", name="Anne Lenoir")
    advisor = make_user("advisor", name="Bram Conseiller")
    person = make_person(name="Rosalie Dumont", email=ADDRESS, language="fr")
    _run, case = triage("at_risk", user=advisor, person=person)
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    today = utcnow().astimezone(get_calendar().tz).date()
    day = today + timedelta(days=3)

    # The psychologist publishes a weekly slot for the next three weeks.
    browser_login(psychologist)
    click_nav("My availability")
    weekly = page.locator("#weekly-form")
    weekly.get_by_label("Day of the week").select_option(str(day.weekday()))
    weekly.get_by_label("Start time").fill("10:00")
    weekly.get_by_label("Minutes").fill("50")
    weekly.get_by_label("How").select_option(label="Video call")
    weekly.get_by_label("From").fill(today.isoformat())
    weekly.get_by_label("To").fill((today + timedelta(days=20)).isoformat())
    weekly.get_by_role("button", name="Publish these slots").click()
    expect(page.locator(".flash-success")).to_contain_text("3 slots published.")
    expect(page.locator("#my-slots tbody tr")).to_have_count(3)
    _shoot(page, "availability")
    _sign_out(page)

    # The advisor books the first one from the case page.
    browser_login(advisor)
    click_nav("Advisors' queue")
    page.get_by_role("link", name=case.reference).click()
    card = page.get_by_role("region", name="Appointments with a psychologist")
    card.get_by_role("link", name="Book an appointment…").click()
    filters = page.locator("#slot-filters")
    filters.get_by_label("Language").select_option(label="French")
    filters.get_by_label("How").select_option(label="Video call")
    filters.get_by_role("button", name="Filter").click()
    expect(page.locator(".slot-choices li")).to_have_count(3)
    expect(page.locator(".slot-choices li").first).to_contain_text("10:00")
    _shoot(page, "book")
    page.get_by_role("button", name="Book this slot").click()
    expect(page.locator(".flash-success")).to_contain_text("Appointment booked.")
    card = page.get_by_role("region", name="Appointments with a psychologist")
    expect(card).to_contain_text("Booked")
    expect(page.locator("#case-timeline")).to_contain_text("Appointment booked")
    _shoot(page, "case_card")

    # The confirmation, with its invitation, reaches the person's mailbox.
    _deliver(app, smtp_server, 1)
    [message] = smtp_server.messages
    assert message["To"] == ADDRESS and "10:00" in message.get_body().get_content()
    cal = _ics(message)
    [event] = cal.walk("VEVENT")
    appointment = db.session.scalar(select(Appointment))
    slot = db.session.get(Slot, appointment.slot_id)
    assert cal["METHOD"] == "REQUEST" and str(event["UID"]) == appointment.uid
    assert event["DTSTART"].params["TZID"] == "Europe/Brussels"
    assert event.decoded("DTSTART").strftime("%H:%M") == "10:00"
    assert event.decoded("DTSTART") == slot.starts_at

    # The reminder: not a minute too early, then once, 24 hours before.
    before = slot.starts_at - timedelta(hours=24)
    with time_machine.travel(before - timedelta(minutes=5), tick=True):
        assert appointments.send_reminders() == 0
    with time_machine.travel(before + timedelta(minutes=1), tick=True):
        assert appointments.send_reminders() == 1
        assert appointments.send_reminders() == 0
        _deliver(app, smtp_server, 2)
    assert len(smtp_server.messages) == 2
    reminder = smtp_server.messages[1]
    assert reminder["To"] == ADDRESS and "10:00" in reminder.get_content()

    # After the hour: the person did not come, the psychologist records it.
    with time_machine.travel(slot.starts_at + timedelta(minutes=55), tick=True):
        page.context.clear_cookies()
        browser_login(psychologist)
        click_nav("My availability")
        _shoot(page, "to_record")
        row = page.locator(f"#record-{appointment.id}")
        row.get_by_role("button", name="The person did not come").click()
        expect(page.locator(".flash-success")).to_contain_text("Outcome recorded.")
        expect(page.locator(f"#record-{appointment.id}")).to_have_count(0)
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).state == "no_show"
    assert console_errors == []  # the strict CSP refused nothing
