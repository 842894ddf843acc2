"""Caring messages (issue 19, DESIGN §10): short, undemanding emails signed by the cell,
sent over the year after a risk contact, with the person's consent.

Evidence. Motto & Bostrom (2001, Psychiatric Services) sent short "caring letters" to
people who had refused further care after a hospital stay for depression or suicidality:
over five years the group that got them died by suicide less often, most clearly in the
first two years. The caring contacts trials that followed (postcards: Carter et al. 2005,
2013; texts and emails: Comtois et al. 2019 with soldiers) kept its shape: a few lines
that say the sender thinks of the person, no demand, no need to answer, and a schedule
that is dense at first and thins out over a year — monthly for the first months, then
every two or three months. Cellule sends **eight messages, 1, 2, 3 and 4 months after the
start, then at 6, 8, 10 and 12 months** (`models.MONTHS`; `CELLULE_CARING_MONTHS`
changes it), each with its own text (`texts`).

- A series per case, started from the case page by an advisor, psychologist or
  supervisor of the case's team (`cases.access`, action `caring_messages`), only with
  the person's `caring_messages` consent (`contacts.consent`) and an email address; the
  card offers it first when the case's follow-up protocol ended or the case closed.
- Stopped any time (the planned messages are cancelled); a consent withdrawn stops it
  when the next message falls due.
- Sent by the `send_caring_messages` job (`jobs`) through the outbox, while the cell is
  open (a message due at night or at a weekend goes at the next opening); each message
  is an outbound email contact linked to the case, and the person's answer lands in the
  inbox on the case (`contacts.mail_thread`: the answer's In-Reply-To is the message's
  Message-ID) — on a closed case too (`on_email_threaded` below).

Modules: `models`, `texts`, `operations`, `forms`, `views` (the card's actions), `jobs`,
`api` + `schemas` (`/api/v1/cases/<id>/caring-messages`).
"""

from sqlalchemy import select

from cellule.extensions import db
from contacts.signals import email_threaded

from .. import operations as ops
from ..models import CaseContact
from . import jobs  # noqa: F401  (the job registers itself)
from .models import CaringMessage, CaringSeries


def on_email_threaded(sender, contact, parent, **extra):
    """An answer to a caring message files on its case even when the case is closed (the
    core links answers to open cases only): the person answers the cell that wrote."""
    series = db.session.scalar(
        select(CaringSeries).join(CaringMessage, CaringMessage.series_id == CaringSeries.id)
        .where(CaringMessage.contact_id == parent.id))
    if series is None or series.case.is_open:
        return  # not a caring message, or the core's rule links it
    linked = db.session.scalar(select(CaseContact.id).where(
        CaseContact.case_id == series.case_id, CaseContact.contact_id == contact.id))
    if linked is None and series.case.person_id in (None, contact.person_id):
        ops.link_contact(series.case, contact, None)


def register(app):
    """Register the card's and the API's blueprints, the card's template global and the
    answers' hook."""
    from . import api, demo, views  # noqa: F401  (demo: its seeder registers itself)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.api_bp)
    app.jinja_env.globals["caring_view"] = views.card_context
    app.jinja_env.globals["caring_offered"] = views.offered  # the follow-up page's link
    email_threaded.connect(on_email_threaded, weak=False)
