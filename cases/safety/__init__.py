"""The safety plan (Stanley–Brown, DESIGN §10, issue 19): written with the person during
or after a call by the case's team, in the six steps plus reasons for living.

- Versioned: each save of a changed plan is a new `safety_plans` row (1, 2, …) naming
  who wrote or reviewed it and when; the case page shows the newest, the older ones stay
  readable. A save names the version it read: another save since is a 409.
- The text is encrypted at rest (`cellule.crypto.EncryptedText`), like other secrets.
- Given to the person: a printable page, a PDF (fpdf2, bundled DejaVu Sans), and by
  email through the outbox in the plan's language, the PDF attached at sending time
  (`mailer.register_attachment`), the person's consent recorded on the send.
- The case's team sees it (`cases.access`, action `safety_plan`); ambassadors do not.
- `GET|PUT /api/v1/cases/<id>/safety-plan` (`api`, `schemas`).

Modules: `models`, `labels`, `forms`, `operations`, `pdf`, `views`, `api`, `schemas`.
"""

from cellule import mailer
from cellule.roles import STAFF

from ..operations import register_safety_plan_check
from . import api, pdf, views
from .operations import latest_plan


def _has_plan(case_id):
    return latest_plan(case_id) is not None


def register(app):
    """Register the pages, the API, the PDF attachment and the case page's card."""
    app.register_blueprint(views.bp)
    app.register_blueprint(api.api_bp)
    mailer.register_attachment("safety_plan", pdf.attachment)
    register_safety_plan_check(_has_plan)
    app.jinja_env.globals["latest_safety_plan"] = latest_plan
    app.jinja_env.globals["safety_plan_roles"] = STAFF  # who is offered it (crisis panel)
