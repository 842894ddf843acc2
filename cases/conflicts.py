"""One conflict mechanism for every versioned change of a case (DESIGN §2, §8).

A change of a case can lose to a concurrent one in four places: `expect_version` (the
form or the API call read an older version), a flush of the ORM's version counter
(a query's autoflush, or a new row's own flush, before the commit), the commit itself,
and the conditional UPDATEs that settle a race inside the database (a claim that finds the
case taken or closed). `guard` catches each of them, rolls the transaction back and raises
`CaseConflict`; the loaders raise it too when the action was possible but the case is
closed (or, for a claim, taken) since. The HTML views answer it with the page or the form
again (409) showing the other change, the API with a 409 whose `current` says what the
case is now.

The version check happens inside the write (`UPDATE … WHERE version = :read`), so a
writer waiting for another's lock — PostgreSQL's row lock, SQLite's database lock within
its busy timeout — finds the new version when it gets it: a race is a 409 on both.
"""

import logging
from contextlib import contextmanager

from flask import current_app, request
from sqlalchemy import event, inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from cellule.api import PREFIX
from cellule.extensions import db

from .access import get_case_or_404
from .errors import CaseConflict, StaleCase
from .models import Case

log = logging.getLogger(__name__)

# PostgreSQL: deadlock detected, serialization failure — two changes of one case
# crossed; the loser is told, as for a stale version.
CROSSED_SQLSTATES = ("40P01", "40001")


def _crossed(error):
    return getattr(getattr(error, "orig", None), "sqlstate", None) in CROSSED_SQLSTATES


@event.listens_for(Session, "before_flush")
def _note_case_writes(session, _context, _instances):
    # A failed flush expires the session's objects: which case it was writing is noted
    # here, before, for a conflict raised where the case is not known (`stale_case_id`).
    ids = [inspect(obj).identity for obj in session.dirty if isinstance(obj, Case)]
    session.info["case_writes"] = [identity[0] for identity in ids if identity]


def stale_case_id():
    """The case the last flush was writing when a concurrent change refused it, or None."""
    writes = db.session.info.get("case_writes") or [None]
    return writes[0]


@contextmanager
def guard(case_id=None, expected=None, action=None):
    """Run a versioned change of a case (and its commit) inside this block; a concurrent
    change, wherever it surfaces, rolls back and raises CaseConflict.

    `expected`: the version the caller read (the form's, the API body's), if any.
    """
    try:
        yield
    except StaleCase as error:
        case_id = case_id or error.case_id
        db.session.rollback()
        log.info("case %s: stale version %s refused (%s)", case_id, expected, action)
        raise CaseConflict(case_id, expected, action) from None
    except StaleDataError:
        case_id = case_id or stale_case_id()
        db.session.rollback()
        log.info("case %s: concurrent update refused at write (%s)", case_id, action)
        raise CaseConflict(case_id, expected, action) from None
    except DBAPIError as error:
        if not _crossed(error):
            raise
        case_id = case_id or stale_case_id()
        db.session.rollback()
        log.info("case %s: crossing update refused (%s, %s)", case_id, action,
                 error.orig.sqlstate)
        raise CaseConflict(case_id, expected, action) from None


def current_case(conflict):
    """The case as it is now, for the caller of a refused change (404 if they may no
    longer see it: its state does not leak either)."""
    db.session.rollback()
    return get_case_or_404(conflict.case_id, read=False)


def _who(user):
    return {"id": user.id, "name": user.name} if user is not None else None


def current_state(case):
    """The `current` object of a 409: what the case is now."""
    return {
        "status": case.status,
        "version": case.version,
        "assignee": _who(case.assignee),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "closed_by": _who(case.closed_by),
    }


def describe(case):
    """The case's state as the English `error` of a 409 names it."""
    if not case.is_open:
        who = case.closed_by.name if case.closed_by else "someone"
        when = case.closed_at.isoformat() if case.closed_at else "an unknown time"
        what = f"the case was closed by {who} at {when}"
    elif case.assignee is not None:
        what = f"the case was taken by {case.assignee.name}"
    else:
        what = "the case was changed by someone else"
    return f"{what} (now version {case.version})"


def register(app, api_answer, page_answer):
    """Answer a conflict that no view caught itself (the loaders', a flush outside a
    guard: a triage attaching to a case closed meanwhile) — never a 500: under the API
    with `api_answer(conflict)`, elsewhere with `page_answer(conflict)`. The answers are
    given here by the domain's registration, as they live in the API and the views, which
    import this module."""

    def answer(conflict):
        try:
            if request.path.startswith(PREFIX + "/"):
                return api_answer(conflict)
            return page_answer(conflict)
        except HTTPException as error:  # the case is no longer visible to the caller: 404
            return current_app.handle_http_exception(error)

    def answer_stale(error):
        case_id = stale_case_id()
        db.session.rollback()
        log.info("case %s: concurrent update refused at write (outside a guard)", case_id)
        return answer(CaseConflict(case_id))

    app.register_error_handler(CaseConflict, answer)
    app.register_error_handler(StaleDataError, answer_stale)
