"""The satisfaction survey: a single-use link mailed when a case closes, a public page.

- On `case_closed` (in the closing transaction): a `survey` task on the case, a
  survey row, and an outbox request for the `send_survey` job. Nothing is asked of
  people without an email address, nor of people the cell never reached
  (outcome `no_contact`), nor of people without a standing `survey` consent
  (`contacts.consent`, issue 20: no record is no consent; a consent withdrawn before the
  job runs leaves the survey `not_sent`).
- `send_survey` (idempotent: it acts on a `pending` survey only) draws a random
  token, stores only its SHA-256, and mails the link through the mailer in the
  person's language. The mail is about the case, not logged as a contact with the
  person (an invitation is not an exchange, and the statistics count exchanges),
  and once it is sent the token is struck from the mail log.
- `/survey/<token>`: no sign-in; 1–5 and an optional comment; the answer is taken
  by a conditional UPDATE, so the link works exactly once, and only until
  `expires_at` (`CELLULE_SURVEY_DAYS`, default 14).

Modules: `models` (the table), `forms`, `jobs` (planning and sending), `views` (the page).
"""

from . import jobs, views  # noqa: F401  (jobs: the survey's signal and mail hooks)


def register(app):
    """Register the survey page's blueprint (settings: cellule.settings)."""
    app.register_blueprint(views.bp)
