"""A referral's life (issue 20, DESIGN §10): proposed → accepted by the person → sent to
the partner (the handover pack, by email through the outbox or printed, only with the
person's `share_partner` consent) → confirmed by the partner → first appointment attended,
no-show or declined → closed; every step dated (`models.ReferralEvent`), one table of the
steps that may follow each (`models.NEXT`).

- The core's `Referral` (cases.models) keeps its row, its price shown and the person's
  agreement; it gains `state`, `state_at` and `reminder_due_at` (migration 0029).
- A reminder when a step is late: no confirmation `CELLULE_REFERRAL_CONFIRM_DAYS` (5)
  business days after `sent`, no outcome `CELLULE_REFERRAL_OUTCOME_DAYS` (10) after
  `confirmed`: a task for the case's assignee (`jobs`).
- On the case page (a card: `views.card_context`), as a list per partner
  (`/referrals/partners`), and in the API (`api`).
- `demo`: referrals of the demo's cases at each step in `flask demo`.
"""

from ..signals import referral_added
from . import jobs  # noqa: F401  (the job registers itself)
from .operations import record_first_steps


def register(app):
    """Register the card's, the list's and the API's blueprints, the card's template
    global and the first steps' hook."""
    from . import api, demo, views  # noqa: F401  (demo: its seeder registers itself)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.api_bp)
    app.jinja_env.globals["referrals_view"] = views.card_context
    referral_added.connect(record_first_steps, weak=False)
