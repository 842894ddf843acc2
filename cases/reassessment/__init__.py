"""The re-assessment (DESIGN §10, issue 19): PHQ-2, GAD-2, CBI personal and the safety
screen asked again at a follow-up contact or at closing, compared to the case's first run.

- The questions are the first run's script's own, in the person's language; the answers
  are checked and scored by the triage engine (`triage.engine.evaluate`), and what they
  say goes through the chain a triage attached to the case does (raise, follow-up, the
  supervisors' alert when imminent: `operations`).
- Stored encrypted (`cellule.crypto.EncryptedText`): answers, scores, the change.
- The case's team (the `safety_plan` action of `cases.access`) records and reads them: from
  a follow-up attempt that reached the person, from the closing step, from the case page,
  whose card shows the newest change; or by `POST /api/v1/cases/<id>/reassessments`.
- The dashboard and the anonymised export count the share of re-assessed cases that
  improved, per route (`cases.reporting`).

Modules: `models`, `operations`, `forms`, `views`, `api`, `schemas`.
"""

from .operations import direction, reassessments_of, shown


def register(app):
    """Register the page's and the API's blueprints and the case page's card helpers."""
    from . import api, demo, views  # noqa: F401  (demo: its seeder registers itself)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.api_bp)
    app.jinja_env.globals["case_reassessments"] = reassessments_of
    app.jinja_env.globals["shown_reassessment"] = shown
    app.jinja_env.globals["score_direction"] = direction
    views.register_labels(app)
