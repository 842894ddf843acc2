"""The person's rights (GDPR art. 15, 16, 17): access, rectification, erasure.

- Access (art. 15): everything held about one person — details, merged records,
  contacts and emails, triage runs with their answers, cases with timeline, team
  notes, referrals, tasks, survey, mails sent — as JSON and as a printable page.
  Supervisors only. Clinical note bodies are listed (date) but withheld: only
  psychologists read them (DESIGN §1), and practitioners' personal notes may be
  kept out of a direct access request; a psychologist releases them on request.
- Rectification (art. 16): the normal person form (`contacts.edit_person`).
- Erasure (art. 17): irreversible anonymisation (`erasure.erase_person`) with a
  recorded reason, refused while a case is open unless a supervisor forces it with
  a second reason.

Who: a supervisor sees the person and may do everything. An administrator, who
sees no case content, may carry out an erasure request on a record identified by
its number: the page shows them only the number, how many records of each kind
will be cleared, whether a case is open and whether it was already anonymised —
no name, contact detail or content. They may not export (the export *is* the
content) nor force past an open case (judging whether a case can be dropped is
a clinical decision).

Export and erasure ask for a recent re-authentication. The reason of an erasure
is kept on its Anonymisation row, never in the append-only audit log, which
only gets ids (a reason may well contain the person's name).
"""

from contacts import person_page

from . import cli, retention, views  # noqa: F401  (retention: the purge job and its schedule)


def register(app):
    """Register the pages, the CLI and the person page's link (settings: cellule.settings)."""
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.retention_cli)
    person_page.register_section(views.person_section)
