"""What cases puts on the home pages (issue 18): the work, a few rows per panel.

Each panel is a template registered with the roles that see it (`cellule.nav`); its rows
come from `cases.queries` through `HomeWork`, built once per page and reading only what a
panel asks for: a few rows and, past them, a count capped like the board's.
"""

from datetime import timedelta

from flask import g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from cellule import audit, nav
from cellule.extensions import db
from cellule.formatting import duration
from cellule.roles import ADMIN, ADVISOR, PSYCHOLOGIST, STAFF, SUPERVISOR
from cellule.templating import Translated
from cellule.types import utcnow
from triage.calendar import get_calendar

from . import labels, queries
from .models import Resource, Task
from .views import due_words, task_title


class HomeWork:
    """The user's work as the home panels show it; each method one panel's rows."""

    def __init__(self, user):
        self.user = user
        self.now = utcnow()
        self.labels = Translated(labels)

    def _cases(self, stmt, listed=True):
        rows, n, capped = queries.head_and_count(stmt, queries.Case.id)
        if listed:  # the rows the panel names (the queues' panel names none: their ages)
            audit.listed("case", [case.id for case in rows])
        return {"rows": rows, "n": n, "capped": capped}

    def my_cases(self):
        return self._cases(queries.by_deadline(queries.my_cases(self.user)))

    def psychology_queue(self):
        return self._cases(queries.by_deadline(queries.psychology_queue(self.user)))

    def urgent(self):
        return self._cases(queries.awaiting_response(self.user, "high"))

    def late_cases(self):
        return self._cases(queries.late_cases(self.user))

    def queues(self):
        """Per queue: its head (the first due) and how many wait, for the supervisor."""
        psychology = queries.by_deadline(queries.psychology_queue(self.user))
        advisors = queries.by_deadline(queries.advisors_queue(self.user))
        return [(_("Psychology queue"), "cases.psychology_queue",
                 self._cases(psychology, listed=False)),
                (_("Advisors' queue"), "cases.advisors_queue",
                 self._cases(advisors, listed=False))]

    def tasks(self):
        """My open tasks due by the end of today (the cell's day) or late."""
        rows, n, capped = queries.head_and_count(
            queries.tasks_due_by(self.user, get_calendar().end_of_day(self.now)), Task.id)
        audit.read("task_list", "home", {"ids": [t.id for t in rows]})
        return {"rows": rows, "n": n, "capped": capped}

    def active_resources(self):
        return db.session.scalar(select(func.count()).select_from(Resource)
                                 .where(Resource.active.is_(True)))

    # --- words -----------------------------------------------------------------------

    def due(self, due_at):
        """("late", "late by 2 h") / ("due", "due in 3 h") / (None, "")."""
        return due_words(due_at, self.now) if due_at else (None, "")

    def waiting(self, since):
        if self.now - since < timedelta(minutes=1):
            return _("just arrived")
        words = duration(self.now - since)
        return _("waiting %(time)s", time=words)

    def task_title(self, task):
        return task_title(task)


def home_work():
    """One `HomeWork` per request (the panels of a page share it)."""
    if "cases_home_work" not in g:
        g.cases_home_work = HomeWork(current_user)
    return g.cases_home_work


def register(app):
    app.context_processor(lambda: {"cases_work": home_work})
    nav.register_panel("cases/_home_queue.html", (PSYCHOLOGIST,), order=10)
    nav.register_panel("cases/_home_supervision.html", (SUPERVISOR,), order=10)
    nav.register_panel("cases/_home_panel.html", STAFF, order=15)  # my tasks
    nav.register_panel("cases/_home_cases.html", (ADVISOR, PSYCHOLOGIST), order=25)
    nav.register_panel("cases/_home_resources.html", (ADMIN,), order=30)
    nav.register_action("cases.board", _l("Open the board"), (SUPERVISOR,))
