"""Listings: queues, my cases, my tasks, the supervisor board, and the case page's lists.

Sorted by deadline (no deadline last), then id; paginated by keyset on
(due_at, id) — never OFFSET — and counted up to a cap, so that large tables
answer as fast as small ones (the partial indexes in models.py serve these).
The board may also sort by age or by level (`board_page`), still by keyset.
"""

from datetime import UTC, datetime

from flask import has_request_context, request
from sqlalchemy import Integer, and_, case, func, literal, literal_column, or_, select, tuple_
from sqlalchemy.orm import joinedload, selectinload

from cellule import paging
from cellule.extensions import db
from cellule.models import User
from cellule.types import utcnow
from contacts.models import Contact
from triage.vocab import LEVELS, ROUTES

from .access import case_events, visible_cases_clause, visible_events, visible_tasks_clause
from .models import (
    ALERT_LEVELS,
    ALERT_TASK_CODES,
    OPEN_STATUSES,
    STATUSES,
    Case,
    CaseContact,
    CaseEvent,
    Referral,
    Resource,
    Task,
    TriageRun,
)

PAGE_SIZE = 50
COUNT_CAP = 1000


BadCursor = paging.BadCursor


class BadFilter(ValueError):
    def __init__(self, fields):
        super().__init__("invalid filter")
        self.fields = fields


def encode_cursor(due_at, row_id, secret_key=None):
    """The signed cursor of a case list after the row (due_at, id) (cellule.paging)."""
    return paging.encode_cursor("cases", due_at, row_id, secret_key=secret_key)


def decode_cursor(cursor):
    """Return (due_at or None, id) of a case list's cursor; raise BadCursor."""
    due, row_id = paging.decode_cursor("cases", cursor, (datetime | None, int))
    return due, row_id


def keyset_page(stmt, model, cursor=None, limit=None):
    """Return (rows, next_cursor) of a SELECT of `model` rows by deadline.

    Rows after the cursor in (due_at ASC NULLS LAST, id ASC) order are found as a
    range of the (due_at, id) indexes — a row-value comparison, so a page deep in
    the history costs what the first one does — then, once the dated rows run out,
    the rows without a deadline by id.
    """
    limit = limit or PAGE_SIZE
    dated = stmt.order_by(model.due_at.asc().nulls_last(), model.id.asc())
    undated = stmt.where(model.due_at.is_(None)).order_by(model.id.asc())
    due = row_id = None
    if cursor:
        due, row_id = decode_cursor(cursor)
    if cursor and due is None:
        rows = db.session.scalars(undated.where(model.id > row_id).limit(limit + 1)).all()
    else:
        if cursor:
            dated = dated.where(tuple_(model.due_at, model.id) > tuple_(due, row_id))
        rows = db.session.scalars(dated.limit(limit + 1)).all()
        if cursor and len(rows) <= limit:
            rows += db.session.scalars(undated.limit(limit + 1 - len(rows))).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].due_at, rows[-1].id)
    return rows, next_cursor


# The board's orders besides the deadline (`keyset_page`): each a key of
# (expression, descending) ending with the id, its cursor signed for that order only, so a
# cursor of one order (or forged) is refused by another (BadCursor: the 400 page).
BOARD_SORTS = ("due", "age", "level")
_NO_DEADLINE = datetime(9999, 1, 1, tzinfo=UTC)  # after every deadline: none sorts last
_LEVEL_RANK = case({level: rank for rank, level in enumerate(LEVELS)}, value=Case.level,
                   else_=0)


def _board_key(sort):
    """The (expression, descending) key of a board order, and the cursor's kinds."""
    if sort == "age":  # oldest first
        return [(Case.opened_at, False), (Case.id, False)], (datetime, int)
    # Most urgent level first, then by deadline (none last), then id.
    due = func.coalesce(Case.due_at, literal(_NO_DEADLINE, Case.due_at.type))
    return [(_LEVEL_RANK, True), (due, False), (Case.id, False)], (int, datetime | None, int)


def _board_row_key(sort, row):
    if sort == "age":
        return [row.opened_at, row.id]
    return [LEVELS.index(row.level), row.due_at, row.id]


def board_page(stmt, sort="due", cursor=None, limit=None):
    """Return (rows, next_cursor) of the board in `sort` order ("due": `keyset_page`), each
    row's person loaded in the same query (the board and the queues name them)."""
    stmt = stmt.options(joinedload(Case.person))
    if sort == "due":
        return keyset_page(stmt, Case, cursor, limit)
    limit = limit or PAGE_SIZE
    key, kinds = _board_key(sort)
    if cursor:
        values = paging.decode_cursor(f"cases.{sort}", cursor, kinds)
        if sort == "level":
            values[1] = values[1] or _NO_DEADLINE
        stmt = stmt.where(_after_key(key, values))
    order = [expr.desc() if desc else expr.asc() for expr, desc in key]
    rows = db.session.scalars(stmt.order_by(*order).limit(limit + 1)).all()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, paging.encode_cursor(f"cases.{sort}", *_board_row_key(sort, rows[-1]))


def _after_key(key, values):
    """Rows after `values` in `key`: (k1 after v1) OR (k1 = v1 AND k2 after v2) …"""
    bound = [literal(v, Integer() if isinstance(v, int) else expr.type)
             for (expr, _d), v in zip(key, values, strict=True)]
    terms = []
    for i, (expr, descending) in enumerate(key):
        equal = [k == v for (k, _d), v in zip(key[:i], bound[:i], strict=True)]
        terms.append(and_(*equal, expr < bound[i] if descending else expr > bound[i]))
    return or_(*terms)


def capped_count(stmt, id_column=Case.id, cap=None):
    """Count the rows of a SELECT up to `cap` + 1 (LIMIT in a subquery); return (n, capped)."""
    cap = cap or COUNT_CAP
    sub = stmt.with_only_columns(id_column).order_by(None).limit(cap + 1).subquery()
    n = db.session.scalar(select(func.count()).select_from(sub))
    return min(n, cap), n > cap


# --------------------------------------------------------------------------- cases


def parse_case_filters(args, user):
    """Validate board/API filters; raise BadFilter naming the fields."""
    errors = {}
    filters = {}
    status = (args.get("status") or "").strip()
    if status:
        if status not in (*STATUSES, "active"):
            errors["status"] = "unknown status"
        filters["status"] = status
    for name, known in (("route", ROUTES), ("level", LEVELS)):
        value = (args.get(name) or "").strip()
        if value:
            if value not in known:
                errors[name] = f"unknown {name}"
            filters[name] = value
    queue = (args.get("queue") or "").strip()
    if queue:
        if queue not in ("psychology", "advisors"):
            errors["queue"] = "unknown queue"
        filters["queue"] = queue
    assignee = (args.get("assignee") or "").strip()
    if assignee:
        if assignee == "me":
            filters["assignee"] = user.id
        elif assignee == "none":
            filters["assignee"] = "none"
        elif assignee.isascii() and assignee.isdigit() and len(assignee) <= 9:
            filters["assignee"] = int(assignee)
        else:
            errors["assignee"] = 'a user id, "me" or "none"'
    overdue = (args.get("overdue") or "").strip().lower()
    if overdue:
        if overdue not in ("true", "false", "1", "0", "on"):
            errors["overdue"] = "true or false"
        filters["overdue"] = overdue in ("true", "1", "on")
    cursor = (args.get("cursor") or "").strip()
    if cursor:
        try:
            decode_cursor(cursor)
        except BadCursor:
            errors["cursor"] = "invalid cursor"
        filters["cursor"] = cursor
    if errors:
        raise BadFilter(errors)
    return filters


def open_case():
    """`cases.status <> 'closed'` with the constant written in the SQL.

    It is the predicate of the partial indexes of open cases (queues, board, assignee).
    PostgreSQL uses a partial index only when it can prove the predicate from the query;
    with the statuses sent as parameters it cannot in a prepared statement's generic
    plan (psycopg prepares a statement from its fifth run), and falls back to reading
    every case by deadline (420 ms instead of 0.3 ms at 700 k cases).
    """
    return Case.status != literal_column("'closed'")


def open_task():
    """`tasks.status = 'open'`, literally: the partial indexes' predicate (see open_case)."""
    return Task.status == literal_column("'open'")


def alert_tasks(user):
    """The user's open alert tasks whose case is still open at an alert level: the red
    banners of the home page and the board (a closed or lowered case rings no more)."""
    return (
        select(Task).join(Case, Task.case_id == Case.id)
        .where(Task.assignee_id == user.id, open_task(), Task.code.in_(ALERT_TASK_CODES),
               open_case(), Case.level.in_(ALERT_LEVELS))
        .order_by(Task.id.desc())
    )


def cases_query(user, filters):
    """Return a SELECT of the cases `user` may see, narrowed by `filters`."""
    stmt = select(Case).where(visible_cases_clause(user))
    status = filters.get("status")
    if status == "active" or (not status and filters.get("overdue")):
        stmt = stmt.where(open_case())
    elif status in OPEN_STATUSES:
        stmt = stmt.where(open_case(), Case.status == status)
    elif status:
        stmt = stmt.where(Case.status == status)
    if filters.get("route"):
        stmt = stmt.where(Case.route == filters["route"])
    if filters.get("level"):
        stmt = stmt.where(Case.level == filters["level"])
    if filters.get("queue"):
        stmt = stmt.where(Case.queue == filters["queue"])
    assignee = filters.get("assignee")
    if assignee == "none":
        stmt = stmt.where(Case.assignee_id.is_(None))
    elif assignee is not None:
        stmt = stmt.where(Case.assignee_id == assignee)
    if filters.get("overdue"):
        stmt = stmt.where(open_case(), Case.first_response_at.is_(None),
                          Case.due_at < utcnow())
    return stmt


def psychology_queue(user):
    """Unclaimed open cases of the psychology queue, oldest deadline first."""
    stmt = select(Case).where(
        visible_cases_clause(user),
        Case.queue == "psychology",
        open_case(),
        Case.assignee_id.is_(None),
    )
    return stmt


def advisors_queue(user):
    return select(Case).where(
        visible_cases_clause(user),
        Case.queue == "advisors",
        open_case(),
        Case.assignee_id.is_(None),
    )


def my_cases(user):
    return select(Case).where(Case.assignee_id == user.id, open_case())


# --------------------------------------------------------------------------- tasks


def tasks_query(user, overdue=False, include_done=False):
    """The user's tasks (plus the sign-off pool), overdue first then by deadline."""
    now = utcnow()
    stmt = select(Task).where(visible_tasks_clause(user))
    if not include_done:
        stmt = stmt.where(open_task())
    if overdue:
        stmt = stmt.where(open_task(), Task.due_at < now)
    overdue_first = case((and_(Task.status == "open", Task.due_at < now), 0), else_=1)
    return stmt.order_by(overdue_first, Task.due_at.asc().nulls_last(), Task.id)


def case_is_overdue(case_row, now=None):
    now = now or utcnow()
    return (
        case_row.is_open
        and case_row.first_response_at is None
        and case_row.due_at is not None
        and case_row.due_at < now
    )


# --------------------------------------------------------------------------- the case page

# Event details that name a user by id (reassignments, approvals): shown by name.
_USER_DETAILS = ("before", "after", "assignee_id", "approved_by")


# The timeline's filters: the event kinds each shows (None: every event).
TIMELINE_FILTERS = {
    "all": None,
    "notes": ("note_added",),
    "contacts": ("contact_linked", "first_response", "person_identified"),
    "triage": ("triage_attached", "signoff_requested", "signoff_approved", "signoff_rejected"),
    "tasks": ("task_added", "task_done", "task_cancelled"),
    "referrals": ("referral_added", "referral_step"),
}


def timeline_filter(value):
    """The timeline filter asked for (`?show=`), "all" when unknown or absent."""
    return value if value in TIMELINE_FILTERS else "all"


def timeline(user, case, show="all", also=()):
    """The case's events `user` may see, newest first, narrowed to the kinds of the `show`
    filter, and the users they name — with the users of ids `also` (the page's other rows
    name them) — by id (two queries)."""
    kinds = TIMELINE_FILTERS[show]
    stmt = case_events(case).order_by(None).order_by(CaseEvent.id.desc())
    if kinds:
        stmt = stmt.where(CaseEvent.kind.in_(kinds))
    events = visible_events(user, case, db.session.scalars(stmt))
    ids = {e.actor_id for e in events} | {
        v for e in events for k, v in e.detail.items()
        if k in _USER_DETAILS and isinstance(v, int)
    } | {i for i in also if i}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    return events, users


def linked_contacts(case):
    """The case's contact links, oldest first, with their contacts."""
    return db.session.scalars(
        select(CaseContact).where(CaseContact.case_id == case.id).order_by(CaseContact.id)
        .options(selectinload(CaseContact.contact))
    ).all()


def linkable_contacts(case, linked, limit=50):
    """The person's latest contacts not linked to the case yet (the link form's choices)."""
    if not case.person_id:
        return []
    linked_ids = {c.contact_id for c in linked}
    return [c for c in db.session.scalars(
        select(Contact).where(Contact.person_id == case.person_id)
        .order_by(Contact.occurred_at.desc()).limit(limit)) if c.id not in linked_ids]


def case_tasks(case):
    """The case's tasks, open ones first, by deadline."""
    return db.session.scalars(
        select(Task).where(Task.case_id == case.id).order_by(Task.status, Task.due_at)).all()


def by_id(rows):
    """Rows by id (the timeline finds the note, task, referral or run an event names)."""
    return {row.id: row for row in rows}


def case_referrals(case):
    return db.session.scalars(
        select(Referral).where(Referral.case_id == case.id).order_by(Referral.id)
        .options(selectinload(Referral.resource))).all()


def case_runs(case):
    return db.session.scalars(
        select(TriageRun).where(TriageRun.case_id == case.id).order_by(TriageRun.id)).all()


def active_resources(kind=None):
    """The directory's active entries, by kind and name (the referral form's choices, the
    API's directory), of `kind` only when given."""
    stmt = select(Resource).where(Resource.active.is_(True))
    if kind is not None:
        stmt = stmt.where(Resource.kind == kind)
    return db.session.scalars(stmt.order_by(Resource.kind, Resource.name)).all()


# --------------------------------------------------------------------------- the homes (issue 18)

HOME_ROWS = 5  # rows per home panel


def head_and_count(stmt, id_column, limit=HOME_ROWS):
    """The first `limit` rows of an ordered SELECT and its count, capped like the board's:
    (rows, n, capped). When the rows are all there is, no second query counts them."""
    rows = db.session.scalars(stmt.limit(limit + 1)).unique().all()
    if len(rows) <= limit:
        return rows, len(rows), False
    n, capped = capped_count(stmt, id_column)
    return rows[:limit], n, capped


def by_deadline(stmt):
    """Cases or tasks by deadline (none last), then id: the order of the partial indexes."""
    model = stmt.column_descriptions[0]["entity"]
    return stmt.order_by(model.due_at.asc().nulls_last(), model.id.asc())


def tasks_due_by(user, until):
    """The user's open tasks (and the sign-off pool) due by `until` or late, late first,
    each with its case; not the alerts, which ring in the supervisors' live region."""
    return (tasks_query(user)
            .where(Task.due_at <= until,
                   or_(Task.code.is_(None), Task.code.not_in(ALERT_TASK_CODES)))
            .options(selectinload(Task.case)))


def late_cases(user, excluded_levels=ALERT_LEVELS):
    """Open cases past their first-response deadline, but those at `excluded_levels` (an
    imminent case rings in the supervisors' live alerts instead), by deadline."""
    return by_deadline(cases_query(user, {"overdue": True})
                       .where(Case.level.not_in(excluded_levels)))


def awaiting_response(user, level):
    """Open cases at `level` nobody has answered yet, by deadline."""
    return by_deadline(select(Case).where(visible_cases_clause(user), open_case(),
                                          Case.level == level,
                                          Case.first_response_at.is_(None)))


def active_crisis_lines():
    """The directory's active crisis lines (by name), read once per request: the crisis
    panel and API answers (`triage_views.directory_crisis_lines`) and the follow-up
    protocol's line for a closed-cell gap (`followup.operations.crisis_line`) both ask
    within one triage. Outside a request (jobs) it reads each time."""
    # Kept on the request itself: an app context (and its `g`) may outlive requests.
    if has_request_context() and "cellule.crisis_lines" in request.environ:
        return request.environ["cellule.crisis_lines"]
    with db.session.no_autoflush:  # a triage's rows wait for its one flush
        rows = db.session.scalars(
            select(Resource).where(Resource.kind == "crisis_line", Resource.active.is_(True))
            .order_by(Resource.name, Resource.id)).all()
    if has_request_context():
        request.environ["cellule.crisis_lines"] = rows
    return rows

