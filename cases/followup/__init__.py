"""The follow-up protocol (DESIGN §10, issue 19): caring contacts after a risk contact.

- A safety yes, or a case at high or imminent, when a case opens or is raised (the triage's
  routing, a raise by hand) plans `follow_up` tasks for the case's assignee (none yet: on
  the case, for its queue) — once per case (`operations.schedule`; the due times and the
  crisis line for a long gap: docs/CONVENTIONS.md, "Follow-up contacts").
- Each attempt is logged (reached, no answer, voicemail, refused) with a note, on the
  follow-up page of the task (linked from "My tasks" and the case page) or by
  `POST /api/v1/tasks/<id>/attempts`; three in a row without "reached" give each on-duty
  supervisor a task and offer a letter or an email.
- The protocol ends completed, declined, or handed to another service; its open follow-up
  tasks are cancelled then.

Modules: `models`, `operations`, `forms`, `views` (the page; the administrators' delays
per level), `api`, `schemas`, `demo` (a running protocol in `flask demo`).
"""


def register(app):
    """Register the follow-up page's and API's blueprints."""
    from . import api, demo, views  # noqa: F401  (demo: its seeder registers itself)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.api_bp)
