"""The cases domain's blueprints: cases, routing, queues, tasks, supervision.

`register(app)` also fills the contacts domain's hooks (person page, merges,
telephony), which `contacts` exposes so that it never imports `cases`.
"""

from babel.dates import format_datetime as babel_format_datetime
from flask_babel import format_datetime, format_decimal

from contacts import person_page, telephony
from contacts.signals import person_merged
from triage import crisis
from triage.calendar import get_calendar

from . import (
    alerts,
    api,
    appointments,
    caring,
    conflicts,
    demo,  # noqa: F401  (its seeders register themselves)
    email_threads,
    followup,
    home,
    hooks,
    models,  # noqa: F401  (the tables must be known to the metadata)
    reassessment,
    referrals,
    reporting,
    rights,
    safety,
    survey,
    sweeps,  # noqa: F401  (its jobs register themselves)
    triage_views,
    views,
)


def deadline(value, language=None):
    """Format a deadline in the cell's local time, in the UI or the given language."""
    if not value:
        return ""
    pattern = "EEEE d MMMM y, HH:mm"
    if language is None:
        return format_datetime(value, pattern)
    return babel_format_datetime(value, pattern, tzinfo=get_calendar().tz, locale=language)


def register(app):
    app.register_blueprint(views.bp)
    app.register_blueprint(triage_views.bp)
    app.register_blueprint(api.bp)
    # A concurrent change of a case is a 409, wherever it surfaces.
    conflicts.register(app, api_answer=api.conflict_response, page_answer=views.render_conflict)
    alerts.register(app)  # the supervisors' live alert region (base.html polls it)
    app.jinja_env.filters["deadline"] = deadline
    app.jinja_env.filters["format_count"] = lambda n: format_decimal(n)
    home.register(app)  # the home pages' panels of the work (issue 18)
    person_merged.connect(hooks.on_person_merged, weak=False)
    person_page.register_section(hooks.person_section)
    person_page.register_timeline(hooks.person_timeline)
    person_page.register_contact_triage(hooks.contact_triage)
    person_page.register_person_triage(hooks.person_triage)
    telephony.register_open_cases(hooks.telephony_open_cases)
    person_page.register_open_case_note(hooks.open_case_notes)
    email_threads.register()  # replies from Cellule and the answers to them (issue 15)
    crisis.register_directory(triage_views.directory_crisis_lines)  # the crisis lines

    # The slices, each a sub-package with its blueprints, settings, CLI and hooks.
    reporting.register(app)  # the supervisors' dashboard, report API and CSV export
    survey.register(app)  # the satisfaction survey
    rights.register(app)  # the person's rights (GDPR requests) and the retention policy
    followup.register(app)  # the follow-up protocol after a risk contact (issue 19)
    safety.register(app)  # the safety plan (issue 19)
    caring.register(app)  # the caring messages (issue 19)
    reassessment.register(app)  # the re-assessment at follow-up and closing (issue 19)
    referrals.register(app)  # a referral's life (issue 20)
    appointments.register(app)  # the psychologists' appointments (issue 20)
