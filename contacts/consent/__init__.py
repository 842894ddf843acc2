"""Consent per purpose (DESIGN §10, issue 20): what each person agreed to, purpose by
purpose — `cell_processing`, `share_psychologist`, `share_partner`, `paid_coaching`,
`outreach`, `survey`, `caring_messages` — with the text version shown, the date, the
channel (oral during a call, written, web), who recorded it, and its withdrawal.

- `operations`: `record_consent`, `withdraw_consent`, `has_consent`, `consents_of` — what
  other parts call before they act on a person's behalf (cases: the survey, paid
  coaching; caring messages).
- `texts`: the versioned texts in fr, nl, de and en.
- The person page's "Consents" card and its form (`views`, `forms`), which an advisor
  also opens from a call and which brings them back to it.
- `GET|POST /api/v1/persons/<id>/consents` (`api`, `schemas`).
- Who: the cell's professionals (advisors, psychologists, supervisors); ambassadors and
  admins never see them.

Decisions (issue 20):
- No row for a purpose is no consent: nothing new is sent or shared on the person's
  behalf (the satisfaction survey is neither planned nor sent without `survey`); what was
  done before consents existed is not undone.
- A no while a yes stands withdraws the yes (UI and API alike); a withdrawn or refused
  purpose can be agreed again later (a new row).
- A paid referral's accepted price (`cases.operations.add_referral`) is also recorded as
  a `paid_coaching` consent, oral, with the resource and price shown in `detail`; the
  generic form does not offer `paid_coaching` (it has no price), only its withdrawal.
- The safety plan's email keeps its own consent on the send (`safety_plan_sends`): a
  one-time yes to receive that PDF by email, not one of the purposes, so it is not
  mapped to one.
- Consents move with a merge; an erasure keeps them (they hold no personal data beyond
  the link to the record, and prove what was agreed); the access export lists them.

Modules: `models`, `texts`, `operations`, `forms`, `views`, `api`, `schemas`.
"""

from .. import person_page
from ..signals import person_merged
from . import (  # noqa: F401  (models: the table in the metadata; demo: its seeder)
    api,
    demo,
    models,
    views,
)
from .operations import move_consents


def _on_merge(sender, loser_id, winner_id, **extra):
    move_consents(loser_id, winner_id)


def register(app):
    """Register the pages, the API, the person page's card and the merge hook."""
    person_merged.connect(_on_merge, weak=False)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.api_bp)
    person_page.register_section(views.person_section)
    person_page.register_contact_section(views.contact_section)
    # The triage screen shows the same panel: `{{ consent_panel(person, contact) }}`.
    app.jinja_env.globals["consent_panel"] = views.consent_panel
