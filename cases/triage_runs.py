"""The operations of a triage run up to its decision: start a draft, record a section, hang up,
or record a complete run at once (what the API and the demo do).

A run of its own module, beside `routing` (which routes a decided run and signs off its
downgrade) and `operations` (cases, notes, tasks): everything that writes a run before the
decision is here, once, for the triage screen, the API, the demo and the tests. Each
operation joins the caller's transaction and writes its own audit rows; the case events
(an alert while the run is in progress, an incomplete run routed) come from `routing`. The
caller commits.
"""

import logging

from cellule import audit
from cellule.extensions import db
from cellule.types import utcnow
from contacts.access import survivor
from triage.calendar import get_calendar
from triage.engine import TriageValidationError, evaluate
from triage.loader import get_script

from . import routing
from .models import TriageRun

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- helpers


def contact_person(contact):
    """The person a contact is about now (the survivor of a merge), or None."""
    if contact is None or contact.person is None:
        return None
    return survivor(contact.person)


def person_language(contact):
    """The language a run on this contact is asked in: the person's, else French."""
    person = contact_person(contact)
    return person.language if person is not None else "fr"


def run_script(run):
    """The script (and version) the run was started on."""
    return get_script(run.script_id, run.script_version)


def merge_answers(script, stored, section, values):
    """Replace the section's answers and drop any answer whose item is no longer asked."""
    answers = {k: v for k, v in (stored or {}).items()
               if script.has_item(k) and script.item(k).section != section.id}
    answers.update(values)
    visible = {item.id for item in script.visible_items(answers)}
    return {k: v for k, v in answers.items() if k in visible}


def evaluate_run(run, script, complete, language=None):
    """The engine's evaluation of the run's answers now (TriageValidationError if they do
    not hold up as a complete run, when `complete`)."""
    return evaluate(
        script,
        run.answers or {},
        immediate_danger=run.immediate_danger,
        notes=run.notes,
        language=language or run.language,
        at=utcnow(),
        calendar=get_calendar(),
        complete=complete,
    )


def apply_evaluation(run, evaluation):
    """Keep the evaluation and its proposal on the run (what a decision or hang-up routes by)."""
    run.evaluation = evaluation.to_dict()
    run.proposed_level = evaluation.level
    run.proposed_route = evaluation.route
    run.proposed_due_at = evaluation.due_at
    run.complete = evaluation.complete
    run.crisis_shown = evaluation.any_safety_yes or evaluation.immediate_danger


def as_proposed(run, resources_given):
    """The decision that takes the run's proposal as it is (the API, the demo, the tests):
    no other level or route, no coaching partner (0: the person declines one)."""
    return routing.Decision(level=run.proposed_level, route=run.proposed_route,
                            resources_given=resources_given, coaching_resource_id=0)


# --------------------------------------------------------------------------- operations


def start_run(script, contact, actor):
    """Store a new draft of `script` on the contact, by `actor`, with its audit row.

    The notes start as the contact's summary (the red-flag lexicon reads them), the
    language as the person's.
    """
    person = contact_person(contact)
    run = TriageRun(
        script_id=script.id,
        script_version=script.version,
        language=person_language(contact),
        state="draft",
        answers={},
        notes=contact.summary or None,
        contact_id=contact.id,
        person_id=person.id if person else None,
        created_by_id=actor.id,
    )
    db.session.add(run)
    db.session.flush()
    audit.record("create", "triage_run", run.id, {"contact_id": contact.id}, user=actor)
    log.info("triage run %s started on contact %s", run.id, contact.id)
    return run


def put_answers(run, script, section, values, *, immediate_danger, resources_given):
    """Put one section's answers (and the two ticks) on a draft, replacing the section's
    earlier ones and dropping answers no longer asked; nothing is evaluated or audited yet:
    `record_section` or `hang_up` follows in the same transaction."""
    run.answers = merge_answers(script, run.answers, section, values)
    run.immediate_danger = immediate_danger
    run.resources_given = resources_given


def record_section(run, script, section, actor, *, accepted=True):
    """Record the section put on the draft: keep the proposal of what is answered so far and
    alert at once when it is imminent. Return routing's Outcome (None: not evaluable yet).

    `accepted` False: the section goes back to be completed (an answer missing or
    refused); what it says is still kept and alerted on — a caller in danger cannot wait
    for a complete section — but it is not audited as saved.
    """
    outcome = _track_draft(run, script, actor)
    if accepted:
        audit.record("update", "triage_run", run.id, {"section": section.id}, user=actor)
    return outcome


def _track_draft(run, script, actor):
    """Keep a draft's proposal of what is answered so far; alert at once when imminent.

    Each saved section re-evaluates the answers as an incomplete run: the stored proposal is
    what a hang-up or the abandoned-draft sweep routes by (hanging up never lowers what the
    answers say), and an imminent one (`acute_now` yes or `immediate_danger`, whichever
    section it is saved on) alerts the supervisors now, in this request's transaction.
    """
    run.updated_at = utcnow()
    try:
        evaluation = evaluate_run(run, script, complete=False)
    except TriageValidationError:
        return None
    apply_evaluation(run, evaluation)
    outcome = routing.alert_in_progress(run, actor)
    if outcome.alerted:
        audit.record("update", "triage_run", run.id, {"alerted": True}, user=actor)
    return outcome


def hang_up(run, script, actor):
    """Save the draft as incomplete (the person hung up): routed at the level its answers
    say, with a follow-up task (`routing.save_incomplete`, which audits). Return the
    Outcome; TriageValidationError when the answers cannot be evaluated."""
    apply_evaluation(run, evaluate_run(run, script, complete=False))
    return routing.save_incomplete(run, actor, get_calendar())


def record_complete(evaluation, actor, *, contact=None, person=None, notes=None, at=None,
                    via=None):
    """Store the run of a whole evaluation at once, at its proposal (not decided yet), with
    its audit row: the API's contact triage, the demo, the tests.

    `person`: whom the run is about (default: the contact's person); `at`: when it was run
    (default now); `via`: said in the audit row ("api", "demo").
    """
    person = person if person is not None else contact_person(contact)
    run = TriageRun(
        script_id=evaluation.script_id, script_version=evaluation.script_version,
        language=evaluation.language, state="draft", answers=dict(evaluation.answers),
        immediate_danger=evaluation.immediate_danger, notes=notes,
        contact_id=contact.id if contact else None, person_id=person.id if person else None,
        created_by_id=actor.id, **({"created_at": at} if at is not None else {}),
    )
    apply_evaluation(run, evaluation)
    db.session.add(run)
    db.session.flush()
    detail = {"contact_id": contact.id if contact else None}
    if via:
        detail["via"] = via
    audit.record("create", "triage_run", run.id, detail, user=actor)
    log.info("triage run %s recorded complete (%s/%s)", run.id, run.proposed_level,
             run.proposed_route)
    return run
