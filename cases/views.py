"""Case pages, queues, tasks, the supervisor board and the resource directory (HTML)."""

import logging
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_htmx import make_response
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from cellule import audit, limits, nav, roles
from cellule.extensions import db, htmx
from cellule.formatting import duration
from cellule.models import User
from cellule.permissions import (
    ADMIN,
    ADVISOR,
    AMBASSADOR,
    PSYCHOLOGIST,
    SUPERVISOR,
    roles_required,
)
from cellule.templating import Translated
from cellule.types import utcnow
from contacts.access import can_see_contact, get_contact_or_404, get_person_or_404
from contacts.search import search_persons
from triage.calendar import get_calendar
from triage.vocab import LEVELS

from . import conflicts, forms, labels, queries
from . import operations as ops
from .access import (
    can_finish_task,
    get_case_or_404,
    get_task_or_404,
    permissions_for,
    visible_events,
    visible_notes,
)
from .errors import CaseConflict, StaleCase
from .models import (
    HAND_TASK_KINDS,
    OPEN_STATUSES,
    OUTCOMES,
    RESOURCE_KINDS,
    SAFETY_LEVELS,
    SAFETY_OUTCOMES,
    STATUSES,
    CaseEvent,
    Resource,
    Task,
)
from .routing import TASK_TITLES

log = logging.getLogger(__name__)

bp = Blueprint("cases", __name__)

STAFF = roles.STAFF
CASEWORK = (AMBASSADOR, ADVISOR, PSYCHOLOGIST, SUPERVISOR)

nav.register("cases.psychology_queue", _l("Psychology queue"), (PSYCHOLOGIST, SUPERVISOR), 30,
             group=nav.WORK)
nav.register("cases.advisors_queue", _l("Advisors' queue"), (ADVISOR, SUPERVISOR), 31,
             group=nav.WORK)
nav.register("cases.my_cases", _l("My cases"), (AMBASSADOR, ADVISOR, PSYCHOLOGIST, SUPERVISOR),
             32, group=nav.WORK)
nav.register("cases.my_tasks", _l("My tasks"), CASEWORK, 33, group=nav.WORK)
nav.register("cases.board", _l("Board"), (SUPERVISOR,), 34, group=nav.TEAM)
nav.register("cases.directory", _l("Resources"), STAFF, 60, group=nav.WORK)
nav.register("cases.admin_resources", _l("Resource directory"), (ADMIN,), 60,
             group=nav.ADMIN)


def _load_users(user_ids):
    """Load these users into the session at once (a row's `assignee` then costs no query)."""
    if not user_ids:
        return []
    return db.session.scalars(select(User).where(User.id.in_(user_ids))).all()


# The timeline's filters (cases.queries.TIMELINE_FILTERS), as their links say them.
TIMELINE_FILTER_LABELS = {
    "all": _l("All"),
    "notes": _l("Notes"),
    "contacts": _l("Contacts"),
    "triage": _l("Triage"),
    "tasks": _l("Tasks"),
    "referrals": _l("Referrals"),
}


def task_title(task):
    return TASK_TITLES[task.code] if task.code in TASK_TITLES else task.title


# --------------------------------------------------------------------------- case page


def time_left(case, now):
    """The header's deadline: ("late", "late by 2 days"), ("due", "due in 3 h") — Babel's
    words in the user's language — or (None, "") once answered, closed or without one.
    The board and the queues say it the same way (docs/CONVENTIONS.md "Deadlines")."""
    if not case.due_at or not case.is_open or case.first_response_at:
        return None, ""
    return due_words(case.due_at, now)


def due_words(due_at, now):
    """("late", "late by 2 days") once `due_at` is past, else ("due", "due in 3 h"): the
    one reading of a deadline (cases and tasks alike), in the user's language."""
    delta = due_at - now
    late = due_at < now
    words = duration(-delta if late else delta)
    if late:
        return "late", _("late by %(time)s", time=words)
    return "due", _("due in %(time)s", time=words)


def case_age(case, now):
    """How long the case has been open (until it closed), in Babel's words: "3 days"."""
    end = case.closed_at or now
    return duration(end - case.opened_at)


def case_context(case, show="all", **extra):
    """What the case page shows: its lists (cases.queries) as the user's rights allow, the
    timeline narrowed to `show` (cases.queries.TIMELINE_FILTERS)."""
    perms = permissions_for(current_user, case)
    tasks = queries.case_tasks(case)
    # The users the header and the tasks name come with the timeline's, whatever its filter.
    events, users = queries.timeline(current_user, case, show, also={
        case.assignee_id, case.opened_by_id, *(t.assignee_id for t in tasks)})
    linked = queries.linked_contacts(case)
    now = utcnow()
    return {
        "case": case,
        "perms": perms,
        "events": events,
        "users": users,
        "show": show,
        "timeline_filters": TIMELINE_FILTER_LABELS,
        "notes": queries.by_id(db.session.scalars(visible_notes(current_user, case))),
        "tasks": queries.by_id(tasks),
        "open_tasks": [t for t in tasks if t.status == "open"],
        "can_finish": lambda t: can_finish_task(current_user, t),
        "referrals": queries.by_id(queries.case_referrals(case)),
        "contacts": {link.contact_id: link.contact for link in linked},
        "linkable": queries.linkable_contacts(case, linked) if "link_contact" in perms else [],
        "runs": queries.by_id(queries.case_runs(case)),
        "workers": ops.case_workers() if {"reassign", "add_task"} & perms else [],
        "resources": queries.active_resources() if "add_referral" in perms else [],
        "now": now,
        "due": time_left(case, now),
        "labels": Translated(labels),
        "can_see_contact": lambda c: can_see_contact(current_user, c),
        "levels": LEVELS,
        "outcomes": OUTCOMES,
        "open_statuses": OPEN_STATUSES,
        "task_kinds": HAND_TASK_KINDS,
        "task_title": task_title,
        "errors": {},
        "conflict": None,
        **extra,
    }


@bp.get("/cases/<int:case_id>")
@login_required
def case_page(case_id):
    """Show a case: its header and actions, the timeline (filtered: `?show=notes`; htmx
    swaps the timeline alone), the composers and the open tasks."""
    case = get_case_or_404(case_id)
    context = case_context(case, show=queries.timeline_filter(request.args.get("show")))
    if htmx and htmx.target == "case-timeline":
        return render_template("cases/_timeline.html", **context)
    return render_template("cases/case.html", **context)


def conflict_context(case, conflict):
    """What the conflict box shows: the refused action and the case's events since the
    version the form was filled in on (none known: the box tells the case's state)."""
    expected = conflict.expected
    if expected is None:
        expected = forms.VersionedForm().version.data
    newer = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id,
                                CaseEvent.case_version > expected)
        .order_by(CaseEvent.id)
    ).all() if expected is not None else []
    return {"action": conflict.action, "events": visible_events(current_user, case, newer)}


def render_conflict(conflict):
    """The case page again (409): what the case is now and what changed meanwhile, the
    forms on its current version. Answers every CaseConflict no view renders itself."""
    if conflict.case_id is None:  # a concurrent write the session could not name
        db.session.rollback()
        return render_template("cases/conflict.html"), 409
    case = conflicts.current_case(conflict)
    return render_template("cases/case.html", **case_context(
        case, conflict=conflict_context(case, conflict))), 409


def _invalid(case, error):
    db.session.rollback()
    case = get_case_or_404(case.id, read=False)
    return render_template("cases/case.html", **case_context(case, errors=error.fields)), 422


def _versioned(case_id, need, action, form, change, done_message):
    """Load, check `form`, run `change(case, version)` and commit, then back to the case page
    with `done_message`; a stale version is a 409 page, invalid input a 422 page."""
    case = get_case_or_404(case_id, need=need, read=False)
    expected = form.version.data
    try:
        form.check()
        with conflicts.guard(case.id, expected, action):
            change(case, expected)
            db.session.commit()
    except ops.OperationError as error:
        return _invalid(case, error)
    flash(done_message, "success")
    return redirect(url_for("cases.case_page", case_id=case_id))


@bp.post("/cases/<int:case_id>/claim")
@login_required
@roles_required(PSYCHOLOGIST, ADVISOR)
def claim(case_id):
    """Claim a case from the queue (one click; a concurrent claim loses and is told)."""
    # Taken or closed already: a conflict page saying by whom (the loader raises it).
    case = get_case_or_404(case_id, need="claim", read=False)
    with conflicts.guard(case.id, action="claim"):
        if not ops.claim_case(case.id, current_user, call=forms.ClaimForm().call.data):
            raise StaleCase(case.id, None)  # lost the race inside the database
        db.session.commit()
    flash(_("You took case %(ref)s.", ref=case.reference), "success")
    return redirect(url_for("cases.case_page", case_id=case_id))


@bp.post("/cases/<int:case_id>/reassign")
@login_required
@roles_required(SUPERVISOR)
def reassign(case_id):
    """Give a case to another case worker (the case page; the board reassigns in bulk)."""
    form = forms.ReassignForm()
    return _versioned(case_id, "reassign", "reassign", form,
                      lambda c, v: ops.reassign_case(c, form.assignee(), current_user, v),
                      _("Case reassigned."))


@bp.get("/cases/<int:case_id>/person")
@login_required
@roles_required(*STAFF)
def identify_person_page(case_id):
    """Find the person an anonymous case is about (search as on the people page)."""
    return _identify_page(case_id, "")


@bp.post("/cases/<int:case_id>/person/search")
@login_required
@roles_required(*STAFF)
def identify_person_search(case_id):
    """The same page with the people found (posted: what is typed never lands in a URL)."""
    form = forms.IdentifySearchForm()
    if not form.validate():
        return _identify_page(case_id, "", form.field_errors().get("q")), 422
    return _identify_page(case_id, form.q.data)


def _identify_page(case_id, query, error=None):

    case = get_case_or_404(case_id, need="identify_person")
    people = search_persons(query, current_user) if query else []
    audit.listed("person", [p.id for p in people])
    open_cases = dict(db.session.execute(
        select(queries.Case.person_id, queries.Case.reference).where(
            queries.Case.person_id.in_([p.id for p in people]), queries.open_case())
    ).all()) if people else {}
    return render_template("cases/identify.html", case=case, query=query, people=people,
                           open_cases=open_cases, error=error)


@bp.post("/cases/<int:case_id>/person")
@login_required
@roles_required(*STAFF)
def identify_person(case_id):
    """Attach the person to the anonymous case (and to its anonymous contacts)."""

    case = get_case_or_404(case_id, read=False)
    form = forms.IdentifyPersonForm()
    if case.person_id is not None and form.version.data != case.version:
        # Someone said who it is since the form was shown: theirs is the other change.
        raise CaseConflict(case.id, form.version.data, "identify_person")
    person_id = form.person_id.data
    person = get_person_or_404(person_id, audit_read=False) if person_id else None
    return _versioned(case_id, "identify_person", "identify_person", form,
                      lambda c, v: ops.identify_person(c, person, current_user, v),
                      _("The case is now about %(name)s.", name=person.name if person else ""))


@bp.post("/cases/<int:case_id>/level")
@login_required
@roles_required(*STAFF)
def raise_level(case_id):
    """Raise a case's level (lowering goes through a triage sign-off)."""
    form = forms.LevelForm()
    return _versioned(case_id, "raise_level", "level", form,
                      lambda c, v: ops.raise_level(c, form.level.data, current_user, v,
                                                   calendar=get_calendar()),
                      _("Level raised."))


@bp.post("/cases/<int:case_id>/status")
@login_required
@roles_required(*STAFF)
def set_status(case_id):
    """Set an open case's status (open, in progress, waiting)."""
    form = forms.StatusForm()
    return _versioned(case_id, "set_status", "status", form,
                      lambda c, v: ops.set_status(c, form.status.data, current_user, v),
                      _("Status changed."))


# --------------------------------------------------------------------------- closing


def _close_messages(fields):
    """The closing step's refusals, in the user's language."""
    messages = {
        "outcome": _("Choose the outcome of the case."),
        "safety_outcome": _("A case at this level closes only with a safety outcome: say how "
                            "the person's safety was left."),
        "safety_note": _("Say in the note what was done for the person's safety "
                         "(required with “Other”, at most 2000 characters)."),
        "version": _("The form is out of date: open the closing step again."),
        "status": _("The case is already closed."),
        "no_safety_plan_reason": _("At most %(max)s characters.", max=limits.REASON)
        if str(fields.get("no_safety_plan_reason", "")).startswith("at most") else
        _("This case has no safety plan: say why in “No safety plan because…”."),
    }
    return {name: messages.get(name.split(".")[0], _("Choose done or cancelled for each "
                                                    "task."))
            for name in fields}


def _render_close(case, status=200, *, form=None, errors=None, conflict=None, new_tasks=()):
    """The closing step: a fragment into #close-step for htmx, else its own page."""
    tasks = ops.open_tasks_of(case)
    context = {
        "case": case,
        "tasks": tasks,
        "choices": {t.id: ops.closing_choices(t) for t in tasks},
        "form": form if form is not None else {},
        "errors": errors or {},
        "conflict": conflict,
        "new_tasks": set(new_tasks),
        "outcomes": OUTCOMES,
        "safety_outcomes": SAFETY_OUTCOMES,
        "needs_safety": case.level in SAFETY_LEVELS,
        "asks_plan_reason": ops.asks_no_plan_reason(case),
        "labels": Translated(labels),
        "task_title": task_title,
        "users": {},
        "now": utcnow(),
    }
    # The assignees the rows name, and the people the conflict's events name, at once.
    events = conflict["events"] if conflict else ()
    user_ids = {t.assignee_id for t in tasks if t.assignee_id} | {
        v for e in events for k, v in e.detail.items()
        if k in ("before", "after") and isinstance(v, int)}
    context["users"] = {u.id: u for u in _load_users(user_ids)}
    template = "cases/_close_form.html" if htmx and htmx.target == "close-step" \
        else "cases/close.html"
    return render_template(template, **context), status


@bp.get("/cases/<int:case_id>/close")
@login_required
@roles_required(*STAFF)
def close_step(case_id):
    """Ask for the outcome (and safety outcome) and what becomes of each open task."""
    try:
        case = get_case_or_404(case_id, need="close", acting=True)
    except CaseConflict as conflict:  # closed since the page was shown: by whom
        case = conflicts.current_case(conflict)
        if htmx and not case.is_open:
            return _closed_meanwhile(case, conflict)
        return _render_close(case, 409, conflict=conflict_context(case, conflict))
    return _render_close(case)


def _closed_meanwhile(case, conflict):
    """The closing step, sent in place, lost to another close: the whole case page comes
    back (409) — its status, actions and timeline as they are now, the conflict on top —
    rather than the step alone beside a header that still says "open"."""
    page = render_template("cases/case.html", **case_context(
        case, conflict=conflict_context(case, conflict)))
    response = make_response(page, 409, retarget="#main", reswap="outerHTML")
    # flask-htmx knows neither a swap modifier nor HX-Reselect: the top, where the conflict is.
    response.headers["HX-Reswap"] = "outerHTML show:window:top"
    response.headers["HX-Reselect"] = "#main"
    return response


def _close_conflict(conflict, form):
    """Closed or changed by someone else first: the case page in place (htmx, closed),
    else the step again (409), saying so."""
    case = conflicts.current_case(conflict)
    if htmx and not case.is_open:
        return _closed_meanwhile(case, conflict)
    return _render_close(case, 409, form=form.posted(), conflict=conflict_context(case, conflict))


def _close_refused(case_id, error, form):
    """The step again: with the tasks added meanwhile (409), or naming what is missing (422)."""
    db.session.rollback()
    case = get_case_or_404(case_id, read=False)
    if isinstance(error, ops.TasksChanged):
        return _render_close(case, 409, form=form.posted(), new_tasks=error.task_ids)
    return _render_close(case, 422, form=form.posted(), errors=_close_messages(error.fields))


def _closed_message(resolved):
    """The flash of a close, with how many open tasks were resolved with it."""
    return _("Case closed.") + (" " + ngettext("%(num)s open task resolved.",
                                               "%(num)s open tasks resolved.", len(resolved))
                                if resolved else "")


def _to_case_page(case_id):
    """Back to the case page (sent by htmx: a redirect htmx follows)."""
    target = url_for("cases.case_page", case_id=case_id)
    if htmx:
        return make_response("", 200, redirect=target)
    return redirect(target)


@bp.post("/cases/<int:case_id>/close")
@login_required
@roles_required(*STAFF)
def close(case_id):
    """Close a case and resolve its open tasks in the same step (closed or changed by
    someone else first: the step again, 409, saying so)."""
    form = forms.CloseForm()
    expected = form.version.data
    try:
        case = get_case_or_404(case_id, need="close", read=False)
        form.check()
        with conflicts.guard(case.id, expected, "close"):
            resolved = ops.close_case(case, form.outcome.data, current_user, expected,
                                      **form.options())
            db.session.commit()
    except CaseConflict as conflict:
        return _close_conflict(conflict, form)
    except (ops.TasksChanged, ops.OperationError) as error:
        return _close_refused(case_id, error, form)
    flash(_closed_message(resolved), "success")
    return _to_case_page(case_id)


def _simple(case_id, need, form, change, done_message):
    """Load, check `form`, run `change(case)` and commit (a change that bumps the version,
    such as a first response, may still meet a concurrent one: a 409 page), then back to
    the case."""
    case = get_case_or_404(case_id, need=need, read=False)
    try:
        form.check()
        with conflicts.guard(case.id, action=need):
            change(case)
            db.session.commit()
    except ops.OperationError as error:
        return _invalid(case, error)
    flash(done_message, "success")
    return redirect(url_for("cases.case_page", case_id=case_id))


@bp.post("/cases/<int:case_id>/notes")
@login_required
@roles_required(*STAFF)
def add_note(case_id):
    """Add a team note, or a clinical note (psychologists)."""
    form = forms.NoteForm()
    return _simple(case_id, form.need(), form, lambda c: ops.add_note(
        c, form.body.data, form.visibility.data, current_user), _("Note added."))


@bp.post("/cases/<int:case_id>/referrals")
@login_required
@roles_required(*STAFF)
def add_referral(case_id):
    """Refer the case to a resource of the directory (paid ones need consent)."""
    form = forms.CaseReferralForm()
    return _simple(case_id, "add_referral", form, lambda c: ops.add_referral(
        resource=form.resource, actor=current_user, case=c, consent=form.consent.data,
        note=form.note.data), _("Referral recorded."))


@bp.post("/cases/<int:case_id>/contacts")
@login_required
@roles_required(*STAFF)
def link_contact(case_id):
    """Link one of the person's contacts to the case."""

    form = forms.LinkContactForm()
    contact = get_contact_or_404(form.contact_id.data, audit_read=False)
    return _simple(case_id, "link_contact", form,
                   lambda c: ops.link_contact(c, contact, current_user), _("Contact linked."))


@bp.post("/cases/<int:case_id>/response")
@login_required
@roles_required(*STAFF)
def record_response(case_id):
    """Record that the person was called back now (first response)."""
    return _simple(case_id, "record_response", forms.ActionForm(),
                   lambda c: ops.record_first_response(c, current_user, how="call"),
                   _("First response recorded."))


@bp.post("/cases/<int:case_id>/reassess")
@login_required
@roles_required(*STAFF)
def reassess(case_id):
    """Log the exchange under way on the case and start a new triage run on it."""
    case = get_case_or_404(case_id, need="link_contact", read=False)
    form = forms.ReassessForm()
    try:
        form.check()
        with conflicts.guard(case.id, action="reassess"):
            contact = ops.start_reassessment(case, form.exchange.data, current_user,
                                             summary=form.summary.data)
            db.session.commit()
    except ops.OperationError as error:
        return _invalid(case, error)
    return redirect(url_for("triage_ui.start", contact_id=contact.id), code=303)


@bp.post("/cases/<int:case_id>/tasks")
@login_required
@roles_required(*STAFF)
def add_task(case_id):
    """Create a follow-up task on the case."""
    form = forms.TaskForm()
    return _simple(case_id, "add_task", form, lambda c: ops.create_task(
        **form.task_values(), actor=current_user, case=c, by_hand=True), _("Task added."))


# --------------------------------------------------------------------------- queues


def _page(stmt, model, template, sort="due", **extra):
    """A case list's page in `sort` order (queries.board_page: the person in the same
    query), its capped count, its rows' assignees; a forged cursor is the 400 page."""
    try:
        rows, next_cursor = queries.board_page(stmt, sort, request.args.get("cursor") or None)
    except queries.BadCursor:
        abort(400)
    count, capped = queries.capped_count(stmt, model.id)
    # The assignees the rows name (closed rows print it), in one query rather than one each.
    _assignees = _load_users({r.assignee_id for r in rows if r.assignee_id})
    audit.read("case_list", request.endpoint, {"ids": [r.id for r in rows]})
    return render_template(template, rows=rows, next_cursor=next_cursor, count=count,
                           capped=capped, now=utcnow(), labels=Translated(labels),
                           time_left=time_left, case_age=case_age, **extra)


@bp.get("/queues/psychology")
@login_required
@roles_required(PSYCHOLOGIST, SUPERVISOR)
def psychology_queue():
    """Unclaimed psychology cases, oldest deadline first, with a one-click claim."""
    return _page(queries.psychology_queue(current_user), queries.Case, "cases/queue.html",
                 title=_("Psychology queue"), can_claim=current_user.role == PSYCHOLOGIST)


@bp.get("/queues/advisors")
@login_required
@roles_required(ADVISOR, SUPERVISOR)
def advisors_queue():
    """Unclaimed coaching and information cases, oldest deadline first."""
    return _page(queries.advisors_queue(current_user), queries.Case, "cases/queue.html",
                 title=_("Advisors' queue"), can_claim=current_user.role == ADVISOR)


@bp.get("/my/cases")
@login_required
@roles_required(*CASEWORK)
def my_cases():
    """The open cases assigned to me (ambassadors: the cases they opened)."""
    if current_user.role == AMBASSADOR:
        stmt = select(queries.Case).where(queries.Case.opened_by_id == current_user.id)
    else:
        stmt = queries.my_cases(current_user)
    return _page(stmt, queries.Case, "cases/queue.html", title=_("My cases"), can_claim=False)


BOARD_FILTERS = ("status", "route", "level", "assignee", "overdue")
BOARD_SORT_LABELS = {
    "due": _l("Deadline, soonest first"),
    "age": _l("Age, oldest first"),
    "level": _l("Level, most urgent first"),
}


def _board_filters(source):
    """The board's filters and order from `source` (the query string, or the bulk form's
    copy of it; no filter: the active cases): (shown, filters, sort, error message)."""
    shown = MultiDict((k, source.get(k)) for k in (*BOARD_FILTERS, "sort") if source.get(k))
    if not any(shown.get(k) for k in BOARD_FILTERS):
        shown["status"] = "active"
    sort = shown.get("sort") if shown.get("sort") in queries.BOARD_SORTS else "due"
    try:
        return shown, queries.parse_case_filters(shown, current_user), sort, None
    except queries.BadFilter as error:
        return shown, {"status": "active"}, sort, _("Invalid filter: %(fields)s",
                                                     fields=", ".join(error.fields))


def _board(source, status=200, **extra):
    """The board (its results only for an htmx call aimed at them), filtered and sorted."""
    shown, filters, sort, filter_error = _board_filters(source)
    stmt = queries.cases_query(current_user, filters)
    workers = ops.case_workers()
    results_only = bool(htmx) and htmx.target == "board-results"
    page = _page(stmt, queries.Case,
                 "cases/_board_results.html" if results_only else "cases/board.html",
                 sort=sort, filters=shown, workers=workers, statuses=STATUSES, levels=LEVELS,
                 sorts=BOARD_SORT_LABELS, filter_error=filter_error, **extra)
    return page, status


@bp.get("/board")
@login_required
@roles_required(SUPERVISOR)
def board():
    """Every case, filtered, sorted (deadline, age, level), paged; bulk reassign."""
    return _board(request.args)


@bp.post("/board/reassign")
@login_required
@roles_required(SUPERVISOR)
def bulk_reassign():
    """Give the ticked cases to one case worker in one transaction: a case changed since
    the board showed it is left as it is and named (409), the others are reassigned."""
    form = forms.BulkReassignForm()
    try:
        form.check()
        done, refused = _reassign_each(form.cases.data, form.assignee())
    except ops.OperationError as error:  # nothing ticked, nobody (or no case worker) chosen
        db.session.rollback()
        return _board(request.form, 422, bulk_errors=error.fields)
    db.session.commit()
    return _board(request.form, 409 if refused else 200, bulk_done=done,
                  bulk_refused=refused, bulk_assignee=form.assignee())


def _reassign_each(pairs, assignee):
    """Reassign each (case id, version the board showed) in a savepoint of the request's
    one transaction (audited per case by `reassign_case`); return (done, refused) where
    refused lists (case, what it is now) for a case changed or closed meanwhile."""
    done, refused = [], []
    for case_id, version in pairs:
        try:
            case = get_case_or_404(case_id, need="reassign", read=False, expected=version)
            with db.session.begin_nested():
                ops.reassign_case(case, assignee, current_user, version)
            done.append(case)
        except (CaseConflict, StaleCase, StaleDataError):
            case = db.session.get(queries.Case, case_id)
            db.session.refresh(case)
            refused.append((case, _changed_meanwhile(case)))
    return done, refused


def _changed_meanwhile(case):
    """What a case changed by someone else is now, as the board's row says it."""
    if not case.is_open:
        return _("Changed meanwhile by someone else: closed by %(name)s at %(time)s.",
                 name=case.closed_by.name if case.closed_by else _("system"),
                 time=format_datetime(case.closed_at, "short") if case.closed_at else "—")
    return _("Changed meanwhile by someone else: now assigned to %(name)s.",
             name=case.assignee.name if case.assignee else _("nobody"))


# --------------------------------------------------------------------------- tasks


@bp.get("/my/tasks")
@login_required
@roles_required(*CASEWORK)
def my_tasks():
    """My open tasks (and the sign-off pool), overdue first."""
    overdue = request.args.get("overdue") in ("1", "true", "on")
    tasks = db.session.scalars(
        queries.tasks_query(current_user, overdue=overdue).limit(200)
        .options(selectinload(Task.case), selectinload(Task.triage_run))
    ).all()
    audit.read("task_list", "my_tasks", {"ids": [t.id for t in tasks]})
    now = utcnow()
    return render_template("cases/tasks.html", tasks=tasks, now=now, labels=Translated(labels),
                           task_title=task_title, overdue=overdue, task_due=lambda t: (
                               due_words(t.due_at, now) if t.status == "open" and t.due_at
                               else (None, "")),
                           can_finish=lambda t: can_finish_task(current_user, t))


CASE_TASKS = "case-task-list"  # the case page's open tasks, which Done and Cancel swap


def with_timeline(fragment, case, **extra):
    """An htmx answer on the case page: `fragment` (a template) and, out of band, the case's
    timeline under the filter the page shows — what the change added to it appears there."""
    shown = parse_qs(urlsplit(htmx.current_url or "").query).get("show", [None])[0]
    context = case_context(case, show=queries.timeline_filter(shown), timeline_oob=True,
                           **extra)
    return render_template(fragment, **context) + render_template(
        "cases/_timeline.html", **context)


def case_tasks_answer(case_id, notice, status=200):
    """The case page's open tasks again, saying `notice` ((category, message)), and its
    timeline out of band (htmx's answer to Done/Cancel)."""
    return with_timeline("cases/_case_tasks.html", get_case_or_404(case_id),
                         task_notice=notice), status


def _already_finished(task_id, on_case=False):
    """My tasks again (409), or the case page's tasks (`on_case`), saying who finished the
    task a moment ago."""
    task = get_task_or_404(task_id)
    name = task.done_by.name if task.done_by else _("system")
    message = (_("This task was already done by %(name)s.", name=name)
               if task.status == "done" else
               _("This task was already cancelled by %(name)s.", name=name))
    if on_case:
        return case_tasks_answer(task.case_id, ("error", message), 409)
    flash(message, "error")
    response = make_response(my_tasks())
    response.status_code = 409
    return response


@bp.post("/tasks/<int:task_id>/<any(done, cancel):action>")
@login_required
@roles_required(*CASEWORK)
def finish_task(task_id, action):
    """Mark a task done or cancelled; from the case page's tasks (htmx), show them again."""
    task = get_task_or_404(task_id, need=action)
    case_id = task.case_id if htmx and htmx.target == CASE_TASKS else None
    try:
        ops.finish_task(task, current_user, "done" if action == "done" else "cancelled")
    except ops.TaskNotOpen:  # finished a moment ago by someone else: say by whom (409)
        db.session.rollback()
        return _already_finished(task_id, case_id is not None)
    done = (_("Task done: %(t)s", t=task_title(task)) if action == "done" else
            _("Task cancelled: %(t)s", t=task_title(task)))
    db.session.commit()
    if case_id is not None:
        return case_tasks_answer(case_id, ("success", done))
    flash(_("Task updated."), "success")
    return redirect(forms.FinishTaskForm().next_page())


def _reassign_task_refused(task, error):
    """The case page again naming what was refused (422), or my tasks for a task of no case."""
    if task.case_id is not None:
        return _invalid(task.case, error)
    db.session.rollback()
    flash(_("Choose someone to give the task to."), "error")
    return my_tasks(), 422


@bp.post("/tasks/<int:task_id>/reassign")
@login_required
@roles_required(ADVISOR, SUPERVISOR)
def reassign_task(task_id):
    """Give a task to another user."""
    task = get_task_or_404(task_id, need="reassign")
    try:
        ops.reassign_task(task, forms.AssigneeForm().assignee(), current_user)
    except ops.OperationError as error:
        return _reassign_task_refused(task, error)
    db.session.commit()
    flash(_("Task reassigned."), "success")
    return redirect(url_for("cases.case_page", case_id=task.case_id) if task.case_id
                    else url_for("cases.my_tasks"))


# --------------------------------------------------------------------------- resources


@bp.get("/resources")
@login_required
@roles_required(*STAFF)
def directory():
    """The resource directory, read-only, for case workers."""
    resources = db.session.scalars(
        select(Resource).where(Resource.active.is_(True)).order_by(Resource.kind, Resource.name)
    ).all()
    return render_template("cases/directory.html", resources=resources, labels=Translated(labels),
                           admin=False)


@bp.get("/admin/resources")
@login_required
@roles_required(ADMIN)
def admin_resources():
    """List every directory entry for the administrator."""
    resources = db.session.scalars(select(Resource).order_by(Resource.kind, Resource.name)).all()
    return render_template("cases/directory.html", resources=resources, labels=Translated(labels),
                           admin=True)


@bp.route("/admin/resources/new", methods=["GET", "POST"], defaults={"resource_id": None})
@bp.route("/admin/resources/<int:resource_id>", methods=["GET", "POST"])
@login_required
@roles_required(ADMIN)
def edit_resource(resource_id):
    """Create or edit a directory entry."""
    resource = db.session.get(Resource, resource_id) if resource_id else None
    if resource_id and resource is None:
        abort(404)
    form = forms.ResourceForm()
    if form.validate_on_submit():
        ops.save_resource(resource, form.resource_values(), current_user)
        db.session.commit()
        flash(_("Resource saved."), "success")
        return redirect(url_for("cases.admin_resources"))
    return render_template("cases/resource_form.html", resource=resource,
                           errors=form.field_errors(), form=form.posted(), kinds=RESOURCE_KINDS,
                           labels=Translated(labels)), 422 if form.errors else 200
