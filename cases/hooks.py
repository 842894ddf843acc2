"""What cases adds to the contacts domain: merges, the person page, the screen-pop."""

from datetime import timedelta

from flask import render_template, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import or_, select

from cellule import audit
from cellule.extensions import db
from cellule.templating import Translated
from cellule.types import utcnow
from contacts.access import visible_contacts
from contacts.labels import CHANNEL_LABELS
from contacts.models import Contact
from contacts.person_page import Section, TimelineEntry, TriageAction

from . import labels, routing
from .access import can_view_case, can_view_run, visible_cases_clause
from .models import OPEN_STATUSES, Case, TriageRun
from .triage_views import TRIAGE_ROLES


def on_person_merged(sender, loser_id, winner_id, **extra):
    """Re-point the loser's cases and runs to the winner (one open case survives)."""
    actor = current_user if current_user and current_user.is_authenticated else None
    routing.merge_persons(loser_id, winner_id, actor=actor)


def person_section(person, user):
    """The person's cases the user may see, open first."""
    cases = [c for c in db.session.scalars(
        select(Case).where(Case.person_id == person.id, visible_cases_clause(user))
        .order_by(Case.status == "closed", Case.id.desc()).limit(20))]
    runs = [r for r in db.session.scalars(
        select(TriageRun).where(TriageRun.person_id == person.id, TriageRun.state != "draft")
        .order_by(TriageRun.id.desc()).limit(20)) if can_view_run(user, r)]
    if not cases and not runs:
        return None
    audit.listed("case", [case.id for case in cases])
    body = render_template("cases/_person_section.html", cases=cases, runs=runs,
                           labels=Translated(labels), open_statuses=OPEN_STATUSES)
    # body: an autoescaped template's output.
    return Section(title=_title(), body=Markup(body), order=10)  # nosec B704


def _title():
    return _("Cases and triage")


def person_timeline(person, user):
    entries = []
    for case in db.session.scalars(select(Case).where(Case.person_id == person.id)):
        if not can_view_case(user, case):
            continue
        entries.append(TimelineEntry(
            at=case.opened_at, kind="case", title=case.reference,
            url=url_for("cases.case_page", case_id=case.id),
            badges=((case.level, str(labels.LEVEL_LABELS[case.level])),)))
    for run in db.session.scalars(
        select(TriageRun).where(TriageRun.person_id == person.id, TriageRun.state != "draft")
    ):
        if not can_view_run(user, run) or not run.final_level:
            continue
        entries.append(TimelineEntry(
            at=run.decided_at or run.created_at, kind="triage",
            title=str(labels.RUN_STATE_LABELS[run.state]),
            url=url_for("triage_ui.show_run", run_id=run.id),
            badges=((run.final_level, str(labels.LEVEL_LABELS[run.final_level])),),
            flagged=run.final_level in ("high", "imminent")))
    return entries


def telephony_open_cases(persons, user):
    # One query: the open cases of these people, restricted to those the user may see.
    return routing.open_cases_for_persons([p.id for p in persons],
                                          where=(visible_cases_clause(user),))


def open_case_notes(persons, user):
    """{person id: HTML} naming each person's open case the user may see (reference, level,
    a link): one query for the whole list, its cases audited as listed."""
    cases = routing.open_cases_for_persons([p.id for p in persons],
                                           where=(visible_cases_clause(user),))
    audit.listed("case", [case["id"] for case in cases])
    by_person = {}
    for case in cases:
        by_person.setdefault(case["person_id"], []).append(case)
    # bodies: an autoescaped template's output.
    return {person_id: Markup(render_template(  # nosec B704
        "cases/_open_case_note.html", cases=person_cases, labels=Translated(labels)))
        for person_id, person_cases in by_person.items()}


# --------------------------------------------------------------------------- triage actions

# How recent a person's last contact must be for the person page to run the triage on it
# (the exchange under way); older, the advisor logs this exchange first.
RECENT_CONTACT_HOURS = 12


def _triage_state(contact_ids, user):
    """(the user's latest draft on these contacts, {contact_id: its latest finished run}),
    in one query."""
    runs = db.session.scalars(
        select(TriageRun).where(
            TriageRun.contact_id.in_(contact_ids),
            or_(TriageRun.state != "draft", TriageRun.created_by_id == user.id))
        .order_by(TriageRun.id.desc())).all()
    draft = next((r for r in runs if r.state == "draft"), None)
    done = {}
    for run in runs:
        if run.state != "draft":
            done.setdefault(run.contact_id, run)
    return draft, done


def contact_triage(contact, user):
    """Start, resume or show the triage of a contact: one click from its page."""
    if user.role not in TRIAGE_ROLES or contact.sent_by_cell:
        return []
    start = url_for("triage_ui.start", contact_id=contact.id)
    draft, done = _triage_state([contact.id], user)
    if draft is not None:
        return [TriageAction(url=start, label=_("Resume the triage"), kind="resume")]
    run = done.get(contact.id)
    if run is None:
        return [TriageAction(url=start, label=_("Run the triage"))]
    actions = []
    if can_view_run(user, run):
        actions.append(TriageAction(url=url_for("triage_ui.show_run", run_id=run.id),
                                    label=_("See the triage record"), kind="record"))
    if run.state == "incomplete" or not actions:
        actions.append(TriageAction(url=start, label=_("Run the triage again"),
                                    primary=not actions))
    return actions


def person_triage(person, user):
    """The person page's triage: on the exchange under way, or log it first."""
    if user.role not in TRIAGE_ROLES:
        return []
    contacts = db.session.scalars(
        visible_contacts(user).where(Contact.person_id == person.id)
        .order_by(Contact.occurred_at.desc(), Contact.id.desc()).limit(20)).all()
    draft, done = _triage_state([c.id for c in contacts], user) if contacts else (None, {})
    if draft is not None:
        return [TriageAction(url=url_for("triage_ui.start", contact_id=draft.contact_id),
                             label=_("Resume the triage"), kind="resume")]
    # An email the cell sent is no exchange to run a triage on: the one before it is.
    latest = next((c for c in contacts if not c.sent_by_cell), None)
    if (latest is not None and latest.id not in done
            and latest.occurred_at >= utcnow() - timedelta(hours=RECENT_CONTACT_HOURS)):
        return [TriageAction(url=url_for("triage_ui.start", contact_id=latest.id),
                             label=_("Run the triage"),
                             note=_("On the latest contact: %(channel)s, %(when)s.",
                                    channel=CHANNEL_LABELS[latest.channel],
                                    when=format_datetime(latest.occurred_at, "short")))]
    return [TriageAction(url=url_for("contacts.new_contact", person=person.id, then="triage"),
                         label=_("Log this exchange and run the triage"), kind="log_first")]
