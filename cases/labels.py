"""Human labels of the cases domain's codes, translated at render time."""

import re

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

LEVEL_LABELS = {
    "low": _l("Low"),
    "at_risk": _l("At risk"),
    "elevated": _l("Elevated"),
    "serious": _l("Serious"),
    "high": _l("High"),
    "imminent": _l("Imminent danger"),
}
ROUTE_LABELS = {
    "information": _l("Information"),
    "coaching": _l("Coaching"),
    "psychologist": _l("Psychologist"),
    "crisis": _l("Crisis"),
}
STATUS_LABELS = {
    "open": _l("Open"),
    "in_progress": _l("In progress"),
    "waiting": _l("Waiting"),
    "closed": _l("Closed"),
}
OUTCOME_LABELS = {
    "resolved": _l("Resolved"),
    "referred_external": _l("Referred to an external service"),
    "declined": _l("Declined by the person"),
    "no_contact": _l("Could not be reached"),
    "other": _l("Other"),
}
SAFETY_OUTCOME_LABELS = {
    "safety_plan": _l("Safety plan agreed with the person"),
    "emergency_services": _l("Emergency services called"),
    "crisis_line": _l("Handed to a crisis line"),
    "unreachable": _l("Unreachable after the follow-up attempts"),
    "other": _l("Other (say what in the note)"),
}
QUEUE_LABELS = {"psychology": _l("Psychology queue"), "advisors": _l("Advisors' queue")}
TASK_KIND_LABELS = {
    "callback": _l("Call back"),
    "check_in": _l("Check in"),
    "survey": _l("Satisfaction survey"),
    "sign_off": _l("Sign-off"),
    "complete_triage": _l("Complete triage"),
    "custom": _l("Other"),
    "follow_up": _l("Follow-up"),
}
TASK_STATUS_LABELS = {"open": _l("Open"), "done": _l("Done"), "cancelled": _l("Cancelled")}
# A referral's steps (cases.referrals).
REFERRAL_STATE_LABELS = {
    "proposed": _l("Proposed"),
    "accepted": _l("Accepted by the person"),
    "sent": _l("Sent to the partner"),
    "confirmed": _l("Confirmed by the partner"),
    "attended": _l("First appointment attended"),
    "no_show": _l("Did not come"),
    "declined": _l("Declined"),
    "closed": _l("Closed"),
}
RESOURCE_KIND_LABELS = {
    "crisis_line": _l("Crisis line"),
    "in_house_psychology": _l("In-house psychology"),
    "coaching_partner": _l("Coaching partner"),
    "external_specialist": _l("External specialist"),
    "workshop": _l("Workshop or webinar"),
    "self_help": _l("Self-help tool"),
    "rights_info": _l("Rights information"),
}
NOTE_VISIBILITY_LABELS = {"team": _l("Team note"), "clinical": _l("Clinical note")}
DECISION_LABELS = {
    "confirm": _l("Proposal confirmed"),
    "raise": _l("Raised"),
    "downgrade": _l("Downgrade requested"),
}
SIGNOFF_LABELS = {
    "pending": _l("Sign-off pending"),
    "approved": _l("Downgrade approved"),
    "rejected": _l("Downgrade rejected"),
}
RUN_STATE_LABELS = {
    "draft": _l("In progress"),
    "decided": _l("Decided"),
    "incomplete": _l("Incomplete (person hung up)"),
}
EVENT_LABELS = {
    "opened": _l("Case opened"),
    "routed": _l("Routed"),
    "triage_attached": _l("Triage attached"),
    "claimed": _l("Claimed"),
    "reassigned": _l("Reassigned"),
    "level_changed": _l("Level changed"),
    "status_changed": _l("Status changed"),
    "contact_linked": _l("Contact linked"),
    "first_response": _l("First response"),
    "note_added": _l("Note added"),
    "referral_added": _l("Referral"),
    "referral_step": _l("Referral step"),  # cases.referrals
    "task_added": _l("Task added"),
    "task_done": _l("Task done"),
    "task_cancelled": _l("Task cancelled"),
    "signoff_requested": _l("Downgrade sign-off requested"),
    "signoff_approved": _l("Downgrade approved"),
    "signoff_rejected": _l("Downgrade rejected"),
    "supervisors_alerted": _l("Supervisors alerted"),
    "merged": _l("Merged"),
    "person_identified": _l("Person identified"),
    "closed": _l("Case closed"),
    # the follow-up protocol (cases.followup)
    "follow_up_scheduled": _l("Follow-up contacts planned"),
    "follow_up_attempt": _l("Follow-up attempt"),
    "follow_up_unreached": _l("Follow-up: person not reached, supervisors alerted"),
    "follow_up_ended": _l("Follow-up ended"),
    # the caring messages (cases.caring)
    "caring_started": _l("Caring messages started"),
    "caring_stopped": _l("Caring messages stopped"),
    # the re-assessment (cases.reassessment)
    "reassessed": _l("Re-assessed"),
    # the psychologists' appointments (cases.appointments)
    "appointment_booked": _l("Appointment booked"),
    "appointment_cancelled": _l("Appointment cancelled"),
    "appointment_attended": _l("Appointment attended"),
    "appointment_no_show": _l("Appointment missed (did not come)"),
}


def label(mapping, code):
    """Return the label of a code, or the code itself when unknown."""
    return mapping.get(code, code) if code else ""


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = "(" + "|".join(WEEKDAYS) + ")"
_TIME = r"(\d{1,2}:\d{2})"
_OPENING = re.compile(rf"^{_DAY}(?:\s*-\s*{_DAY})?\s+{_TIME}\s*-\s*{_TIME}$", re.I)


def resource_hours(text):
    """A resource's opening hours in the user's language: "24/7", or days and times typed
    as "Mon-Fri 08:30-17:00" (English day abbreviations) with the days named in the user's
    locale; anything else as the admin typed it."""
    text = (text or "").strip()
    if text == "24/7":
        return _("24/7")
    match = _OPENING.match(text)
    if not match:
        return text
    first, last, opens, closes = match.groups()
    names = get_day_names("abbreviated", locale=get_locale())
    days = names[WEEKDAYS.index(first.lower())]
    if last:
        days += "–" + names[WEEKDAYS.index(last.lower())]
    return f"{days} {opens}–{closes}"
