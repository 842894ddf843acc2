"""The triage screen, run from a contact: one section at a time, the proposal, the decision.

The run is stored as a draft from the first section on (so "person hung up"
always has something to save), then decided or saved incomplete. Every page
works without JavaScript; with htmx each section swaps into `#triage-step`
and a change of answer re-renders the live part (skip logic, crisis panel).
"""

import logging
from dataclasses import replace

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_htmx import make_response
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from cellule import audit, limits
from cellule.extensions import db, htmx
from cellule.permissions import PSYCHOLOGIST, SUPERVISOR, roles_required
from cellule.roles import CASEWORK
from cellule.templating import Translated
from contacts.access import get_contact_or_404
from triage import crisis
from triage.calendar import get_calendar
from triage.engine import TriageValidationError
from triage.loader import get_script
from triage.vocab import LEVELS, ROUTES

from . import labels, queries, routing, triage_runs
from . import operations as ops
from .access import can_view_case, get_run_or_404, signoff_refusal
from .models import Resource, TriageRun
from .triage_forms import DecisionForm, SectionForm, SignoffForm
from .triage_runs import (
    apply_evaluation,
    evaluate_run,
    merge_answers,
    person_language,
    run_script,
)

log = logging.getLogger(__name__)

bp = Blueprint("triage_ui", __name__)

SCRIPT_ID = "cellule-triage"
TRIAGE_ROLES = CASEWORK
INFO_KINDS = ("self_help", "rights_info", "workshop")
# The routes whose case may be given a coaching partner (DESIGN §2: a raise never lowers).
LIGHT_ROUTES = ("information", "coaching")


# --------------------------------------------------------------------------- helpers


def ui_language():
    return str(get_locale())


def parse_section(script, section, formdata):
    """Return (values, invalid) for every item of the section, read from the posted data by
    the script's own types and checks; `invalid` keeps what was typed for each refused
    answer (a number out of range, a text over its limit), to be shown again."""
    values, invalid = {}, {}
    for item in section.items:
        raw = (formdata.get(item.id) or "").strip()
        if raw == "":
            continue
        value = _item_value(item, raw)
        if value is None or item.check(value) is not None:
            invalid[item.id] = raw
        else:
            values[item.id] = value
    return values, invalid


def _item_value(item, raw):
    """The answer `raw` stands for (None: not a number where the item asks one)."""
    if item.type in ("scale", "integer"):
        try:
            return int(raw)
        except ValueError:
            return None
    return raw


def section_errors(script, section, answers, invalid, require):
    """Return {item_id: message} naming each question that needs attention."""
    errors = {}
    visible = {item.id for item in script.visible_items(answers)}
    for item in section.items:
        if item.id not in visible:
            continue
        if item.id in invalid:
            if item.type in ("scale", "integer"):
                errors[item.id] = _("Give a whole number from %(min)s to %(max)s.",
                                    min=item.min, max=item.max)
            elif item.type == "text":
                errors[item.id] = _("At most %(max)s characters.", max=item.max_length)
            else:
                errors[item.id] = _("Choose one of the answers.")
        elif require and item.required and item.id not in answers:
            errors[item.id] = _("Please answer this question.")
    return errors


def safety_yes(script, answers):
    safety = script.section_for_scorer("cssrs")
    return any(answers.get(item.id) == "yes" for item in safety.items)


def first_open_section(script, answers):
    """The first section with an asked, required, unanswered item (None: all done)."""
    for item in script.visible_items(answers):
        if item.required and item.id not in answers:
            return script.section(item.section)
    return None


def step_context(script, *, contact, run, section, answers, errors=None,
                 immediate_danger=False, resources_given=False, focus=True):
    language = run.language if run else person_language(contact)
    index = [s.id for s in script.sections].index(section.id)
    crisis = immediate_danger or safety_yes(script, answers)
    return {
        "script": script,
        "contact": contact,
        "run": run,
        "section": section,
        "index": index,
        "total": len(script.sections),
        "is_last": index == len(script.sections) - 1,
        "answers": answers,
        "visible": {item.id for item in script.visible_items(answers)},
        "errors": errors or {},
        "language": language,
        "ui_language": ui_language(),
        "immediate_danger": immediate_danger,
        "resources_given": resources_given,
        "crisis": crisis,
        "crisis_lines": crisis_lines(script, language) if crisis else (),
        "protocol": script.protocol(ui_language()) if crisis else (),
        "focus": focus,
        "action_url": (
            url_for("triage_ui.save_section", run_id=run.id, section_id=section.id)
            if run else url_for("triage_ui.start", contact_id=contact.id)
        ),
        "live_url": url_for("triage_ui.live", contact_id=contact.id),
    }


def crisis_lines(script, language):
    """The crisis panel's lines for a person speaking `language` (`triage.crisis`'s one rule:
    the directory's, else the script's, the emergency number last), described in the
    reader's language and with the hours in the user's words."""
    lines = crisis.crisis_lines(script, language, _display_language(script))
    return [replace(line, hours=labels.resource_hours(line.hours)) for line in lines]


def directory_crisis_lines(language, shown):
    """The directory's active crisis lines offered in `language` (`triage.crisis`'s
    provider, registered by `cases.blueprint`)."""
    return [crisis.CrisisLine(r.name, r.phone, r.hours or "", r.description(shown), language)
            for r in queries.active_crisis_lines()
            if r.phone and language in (r.languages or ())]


def render_step(template, context, status=200, push_url=None):
    """Return the step fragment to htmx, the full page otherwise."""
    if htmx and htmx.target in ("triage-step", "triage-live"):
        body = render_template(f"triage/{template}", **context)
        return make_response(body, status, push_url=push_url)
    return render_template("triage/run.html", step_template=template, **context), status


def load_contact(contact_id):
    return get_contact_or_404(contact_id, audit_read=False, with_person=True)


def load_draft(run_id):
    run = get_run_or_404(run_id, read=False, draft_owner=True)
    return run, run.contact


# --------------------------------------------------------------------------- the script


@bp.get("/contacts/<int:contact_id>/triage")
@login_required
@roles_required(*TRIAGE_ROLES)
def start(contact_id):
    """Show the first section of a new triage for a contact (or resume the user's draft)."""
    contact = get_contact_or_404(contact_id)
    draft = db.session.scalar(
        db.select(TriageRun).where(TriageRun.contact_id == contact.id,
                                   TriageRun.created_by_id == current_user.id,
                                   TriageRun.state == "draft").order_by(TriageRun.id.desc())
    )
    if draft is not None:
        return redirect(url_for("triage_ui.show_run", run_id=draft.id))
    script = get_script(SCRIPT_ID)
    context = step_context(script, contact=contact, run=None, section=script.sections[0],
                           answers={}, focus=False)
    return render_template("triage/run.html", step_template="_section.html", **context)


@bp.post("/contacts/<int:contact_id>/triage")
@login_required
@roles_required(*TRIAGE_ROLES)
def start_post(contact_id):
    """Create the draft run from the first section's answers."""
    contact = load_contact(contact_id)
    script = get_script(SCRIPT_ID)
    run = triage_runs.start_run(script, contact, current_user)
    return _save(run, contact, script, script.sections[0])


@bp.post("/triage/runs/<int:run_id>/sections/<section_id>")
@login_required
@roles_required(*TRIAGE_ROLES)
def save_section(run_id, section_id):
    """Save one section's answers, then show the next section or the proposal."""
    run, contact = load_draft(run_id)
    script = run_script(run)
    try:
        section = script.section(section_id)
    except KeyError:
        abort(404)
    return _save(run, contact, script, section)


def _save(run, contact, script, section):
    """Put the posted section on the draft, then hang up, send the section back (422) or go
    on to the next step."""
    form = SectionForm(formdata=request.form)
    values, invalid = parse_section(script, section, request.form)
    triage_runs.put_answers(run, script, section, values,
                            immediate_danger=form.immediate_danger.data,
                            resources_given=form.resources_given.data)
    errors = section_errors(script, section, run.answers, invalid,
                            require=form.action.data == "next")
    if form.action.data == "hangup" and not errors:
        return _hang_up(run, contact, script)
    # Even a section sent back for a missing answer keeps (and alerts on) what it says.
    triage_runs.record_section(run, script, section, current_user, accepted=not errors)
    db.session.commit()  # a section sent back keeps what was valid; the draft stays a draft
    if errors:
        return _section_refused(run, contact, script, section, errors, invalid)
    return _next_step(run, contact, script, section, form.action.data)


def _section_refused(run, contact, script, section, errors, invalid):
    """The section again (422), naming what needs attention. What was typed and refused (a
    text over its limit, a number out of range) is shown again to be corrected, not lost;
    it is not stored."""
    context = step_context(script, contact=contact, run=run, section=section,
                           answers={**run.answers, **invalid}, errors=errors,
                           immediate_danger=run.immediate_danger,
                           resources_given=run.resources_given)
    return render_step("_section.html", context, 422)


def _target_section(script, section, action, answers):
    """The section after `section` (before it for "back"); after the last, the first one
    left to answer (None: all answered, the proposal comes next)."""
    ids = [s.id for s in script.sections]
    index = ids.index(section.id)
    if action == "back":
        return script.sections[max(index - 1, 0)]
    if index + 1 < len(ids):
        return script.sections[index + 1]
    return first_open_section(script, answers)


def _next_step(run, contact, script, section, action):
    """The step after a saved section: the next section (htmx: swapped in; else a
    redirect to it) or the proposal."""
    target = _target_section(script, section, action, run.answers)
    if target is None:
        return _proposal(run, contact, script)
    push = url_for("triage_ui.show_run", run_id=run.id, section=target.id)
    if not (htmx and htmx.target == "triage-step"):
        return redirect(push)
    context = step_context(script, contact=contact, run=run, section=target,
                           answers=run.answers, immediate_danger=run.immediate_danger,
                           resources_given=run.resources_given)
    return render_step("_section.html", context, push_url=push)


def _live_run(contact, form):
    """The draft the live form belongs to (None before the run is stored); a draft of another
    contact is a 404."""
    run_id = form.draft_id()
    if not run_id:
        return None
    run, _contact = load_draft(run_id)
    if run.contact_id != contact.id:
        abort(404)
    return run


def _posted_section(script, form):
    """The section the live form names (unknown: 400)."""
    try:
        return script.section(form.section.data)
    except KeyError:
        abort(400)


@bp.post("/contacts/<int:contact_id>/triage/live")
@login_required
@roles_required(*TRIAGE_ROLES)
def live(contact_id):
    """Re-render the live part of a section (skip logic, crisis panel); store nothing."""
    contact = load_contact(contact_id)
    form = SectionForm(formdata=request.form)
    run = _live_run(contact, form)
    script = run_script(run) if run else get_script(SCRIPT_ID)
    section = _posted_section(script, form)
    values, _invalid = parse_section(script, section, request.form)
    answers = merge_answers(script, run.answers if run else {}, section, values)
    context = step_context(script, contact=contact, run=run, section=section, answers=answers,
                           immediate_danger=form.immediate_danger.data,
                           resources_given=form.resources_given.data, focus=False)
    return render_template("triage/_live.html", **context)


def _requested_section(script, answers):
    """The section the query string names (unknown: 404), else the first open one."""
    section_id = request.args.get("section")
    try:
        return script.section(section_id) if section_id else (
            first_open_section(script, answers) or script.sections[0])
    except KeyError:
        abort(404)


def _show_draft(run):
    """A draft's current step, to its author: the proposal, or the section asked for (else
    the first one left to answer)."""
    script = run_script(run)
    contact = run.contact
    answers = run.answers or {}
    if request.args.get("step") == "proposal":
        return _proposal(run, contact, script)
    section = _requested_section(script, answers)
    context = step_context(script, contact=contact, run=run, section=section,
                           answers=answers, immediate_danger=run.immediate_danger,
                           resources_given=run.resources_given, focus=False)
    return render_template("triage/run.html", step_template="_section.html", **context)


@bp.get("/triage/runs/<int:run_id>")
@login_required
def show_run(run_id):
    """Show a draft run's current step to its author, or a finished run's record."""
    run = get_run_or_404(run_id, read=False)
    audit.read("triage_run", run.id)
    if run.state == "draft" and run.created_by_id == current_user.id:
        return _show_draft(run)
    return render_template("triage/record.html", **record_context(run))


def record_context(run, errors=None):
    script = run_script(run)
    refusal = signoff_refusal(current_user, run)
    return {
        "run": run,
        "script": script,
        "sections": script.sections,
        "case_visible": run.case is not None and can_view_case(current_user, run.case),
        "reasons": shown_reasons(run, script),
        "can_sign_off": refusal is None,
        "signoff_refused": _signoff_refused_message(refusal),
        "ui_language": ui_language(),
        "labels": Translated(labels),
        "errors": errors or {},
    }


def shown_reasons(run, script):
    """The run's stored reasons, by their codes, in the reader's language (the script's text
    for the UI locale, else English) as (text, language) pairs; a code the answers no longer
    give keeps its stored text, in the run's language."""
    stored = (run.evaluation or {}).get("reasons") or ()
    language = _display_language(script)
    try:
        evaluation = evaluate_run(run, script, complete=bool(run.complete), language=language)
        texts = {reason.code: reason.text for reason in evaluation.reasons}
    except TriageValidationError:
        texts = {}
    return [(texts[r["code"]], language) if r.get("code") in texts
            else (r.get("text", ""), run.language) for r in stored]


def _signoff_refused_message(refusal):
    """Why a psychologist or supervisor may not sign off this pending downgrade (or None)."""
    if refusal == "requester":
        return _("You asked for this downgrade: another psychologist or supervisor must "
                 "sign it off (four eyes).")
    if refusal == "ran_triage":
        return _("You ran this triage: another psychologist or supervisor must sign off "
                 "its downgrade (four eyes).")
    return None


# --------------------------------------------------------------------------- proposal


def _proposal(run, contact, script, errors=None, form=None, status=200):
    """The proposal of the run's answers (kept on the run) and the decision form; an answer
    missing sends the user back to its section (422)."""
    try:
        evaluation = evaluate_run(run, script, complete=True)
    except TriageValidationError as error:
        return _missing_answer(run, contact, script, error)
    apply_evaluation(run, evaluation)
    db.session.commit()
    context = _proposal_context(run, contact, script, evaluation, errors, form)
    push = url_for("triage_ui.show_run", run_id=run.id, step="proposal")
    return render_step("_proposal.html", context, status, push_url=push)


def _missing_answer(run, contact, script, error):
    """An earlier section lacks an answer: go back there and name the question (422)."""
    fields = {k.removeprefix("answers."): v for k, v in error.fields.items()}
    item_id = next((k for k in fields if script.has_item(k)), None)
    section = script.section(script.item(item_id).section) if item_id else script.sections[0]
    errors = {item_id: _("Please answer this question.")} if item_id else {}
    context = step_context(script, contact=contact, run=run, section=section,
                           answers=run.answers or {}, errors=errors,
                           immediate_danger=run.immediate_danger,
                           resources_given=run.resources_given)
    return render_step("_section.html", context, 422)


def _proposal_context(run, contact, script, evaluation, errors, form):
    route = evaluation.route
    open_case = ops.case_for_run(run)
    shown = evaluate_run(run, script, complete=True, language=_display_language(script))
    return {
        "script": script,
        "contact": contact,
        "run": run,
        "evaluation": evaluation,
        "shown": shown,
        "language": run.language,
        "ui_language": ui_language(),
        "levels": LEVELS,
        "routes": ROUTES,
        "errors": errors or {},
        "form": form if form is not None else MultiDict(),
        "crisis": run.crisis_shown,
        "crisis_lines": crisis_lines(script, run.language) if run.crisis_shown else (),
        "protocol": script.protocol(ui_language()) if run.crisis_shown else (),
        # Only what the proposed route can lead to: a partner and "open a case anyway" where
        # the case may end up on coaching or information (a higher route never comes back).
        "coaching_partners": _resources(("coaching_partner",)) if route in LIGHT_ROUTES else (),
        "info_resources": _resources(INFO_KINDS) if route != "crisis" else (),
        "may_open_anyway": route == "information",
        "open_case": open_case,
        "open_case_visible": open_case is not None and can_view_case(current_user, open_case),
        "focus": True,
        "labels": Translated(labels),
    }


def _display_language(script):
    language = ui_language()
    return language if language in script.languages else "en"


def _resources(kinds):
    return db.session.scalars(
        db.select(Resource).where(Resource.kind.in_(kinds), Resource.active.is_(True))
        .order_by(Resource.kind, Resource.name)
    ).all()


def _apply_complete_evaluation(run, script):
    """Evaluate the run as complete and keep its proposal; False when an answer is missing."""
    try:
        evaluation = evaluate_run(run, script, complete=True)
    except TriageValidationError:
        return False
    apply_evaluation(run, evaluation)
    return True


def _decision_refused(run, contact, script, errors):
    """The proposal again (422), naming what the decision lacks; nothing is stored."""
    db.session.rollback()
    return _proposal(run, contact, script, errors=_translate_decision_errors(errors),
                     form=request.form, status=422)


@bp.post("/triage/runs/<int:run_id>/decide")
@login_required
@roles_required(*TRIAGE_ROLES)
def decide(run_id):
    """Record the decision on the proposal and open or attach the case."""
    run, contact = load_draft(run_id)
    script = run_script(run)
    # Read before the evaluation below: an unposted level or route is the one proposed.
    form = DecisionForm.for_run(run, request.form)
    run.resources_given = form.resources_given.data
    decision = form.decision()
    if not _apply_complete_evaluation(run, script):
        return _proposal(run, contact, script)
    errors = routing.decision_errors(run, decision)
    if errors:
        return _decision_refused(run, contact, script, errors)
    outcome = routing.decide(run, decision, current_user, get_calendar())
    db.session.commit()
    _flash_outcome(run, outcome)
    return _to_record(run)


def _translate_decision_errors(errors):
    messages = {
        "level": _("Choose a level."),
        "route": _("Choose a route."),
        "reason": _("A lower level or route needs a written reason (10 characters or more)."),
        "resources_given": _("Tick that the crisis numbers were given to the person."),
        "coaching_resource_id": _("Choose a coaching partner, or that the person declines one."),
        "coaching_consent": _("Record that the person accepts the price shown."),
    }
    if errors.get("reason") == limits.at_most(limits.REASON):
        messages["reason"] = _("At most %(max)s characters.", max=limits.REASON)
    return {k: messages.get(k, v) for k, v in errors.items()}


def _flash_outcome(run, outcome):
    if outcome.alerted:
        flash(_("Imminent danger: every supervisor on duty has been alerted."), "error")
    if outcome.case is not None and not can_view_case(current_user, outcome.case):
        # A case the user may not see (an advisor's, on an ambassador's person): that the
        # cell follows it, not its reference, level or route.
        flash(_("The triage was attached to a case the cell already follows."), "success")
    elif outcome.case is not None and outcome.opened:
        flash(_("Case %(ref)s opened.", ref=outcome.case.reference), "success")
    elif outcome.case is not None and run.alerted_at is not None and not outcome.alerted:
        flash(_("The triage was saved on case %(ref)s; the supervisors were alerted when "
                "the safety answers were saved.", ref=outcome.case.reference), "success")
    elif outcome.case is not None:
        flash(_("The triage was added to the person's open case."), "success")
    else:
        flash(_("Information route: no case opened."), "info")
    if run.signoff_state == "pending":
        flash(_("The lower level waits for a psychologist's or supervisor's sign-off."),
              "warning")


def _to_record(run):
    target = url_for("triage_ui.show_run", run_id=run.id)
    if htmx:
        return make_response("", 200, redirect=target)
    return redirect(target)


def _hang_up(run, contact, script):
    """Save the draft incomplete (the person hung up) and show its record."""
    try:
        outcome = triage_runs.hang_up(run, script, current_user)
    except TriageValidationError:
        abort(422)
    db.session.commit()
    flash(_("Saved as incomplete; a follow-up task is due within one business day."),
          "warning")
    _flash_outcome(run, outcome)
    return _to_record(run)


# --------------------------------------------------------------------------- sign-off


def _record_page(run, status, errors=None):
    """The run's record page, with `errors` next to the sign-off form."""
    return render_template("triage/record.html", **record_context(run, errors)), status


def _signoff_refused(run, refusal):
    """Audit the refusal; the record says why when it is the four eyes (403)."""
    audit.denied("triage_run", run.id, {"action": "signoff", "reason": refusal})
    if refusal in ("requester", "ran_triage"):  # the record says why
        return _record_page(run, 403)
    abort(403)


def _signoff_invalid(run_id, error):
    """The record again (422), naming what the sign-off lacks; nothing is stored."""
    db.session.rollback()
    run = get_run_or_404(run_id, read=False)
    messages = {"note": _("At most %(max)s characters.", max=limits.REASON)}
    return _record_page(run, 422, {k: messages.get(k, v) for k, v in error.fields.items()})


@bp.post("/triage/runs/<int:run_id>/signoff")
@login_required
@roles_required(PSYCHOLOGIST, SUPERVISOR)
def signoff(run_id):
    """Approve or reject a requested downgrade."""
    run = get_run_or_404(run_id, read=False)
    refusal = signoff_refusal(current_user, run)
    if refusal is not None:
        return _signoff_refused(run, refusal)
    form = SignoffForm(formdata=request.form)
    if not form.validate():
        return _record_page(run, 422, {"decision": str(form.decision.errors[0])})
    try:
        routing.sign_off(run, form.approve(), current_user, get_calendar(), note=form.note.data)
    except ops.OperationError as error:
        return _signoff_invalid(run_id, error)
    db.session.commit()
    flash(_("Sign-off recorded."), "success")
    return redirect(url_for("triage_ui.show_run", run_id=run.id))
