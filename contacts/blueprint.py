"""The contacts domain's blueprints: people, contacts, the inbox, and their API.

Hooks for the domains built on this one (contacts never imports them):
`contacts.signals.person_merged`, `contacts.person_page.register_timeline` /
`register_section` / `register_contact_section`, and
`contacts.telephony.register_open_cases`.
"""

from . import (
    auto_reply,  # noqa: F401  (its contact-page section: the automatic answer)
    consent,  # consent per purpose (issue 20)
    demo,  # noqa: F401  (its seeder registers itself)
    duplicates,  # the advisors' review of possible duplicates (issue 14)
    home,  # the home panels, the ambassadors' referrals (issue 18)
    labels,
    mail_ingest,  # the email channel: `flask mail import`, the IMAP poll job
    models,  # noqa: F401  (the tables must be known to the metadata)
    name_words,
    quarantine,  # the admins' page of messages that could not be ingested
    replies,  # email from Cellule: a reply in its thread, a new email (issue 15)
    reply_templates,  # the admins' reply templates (issue 15)
)
from .api import bp as api_bp
from .views import bp


def register(app):
    name_words.install()
    app.jinja_env.globals.update(labels.TEMPLATE_GLOBALS)  # the channel's label on any page
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    mail_ingest.register(app)
    quarantine.register(app)
    duplicates.register(app)
    reply_templates.register(app)
    replies.register(app)
    home.register(app)  # the home pages' panels and the ambassadors' referrals (issue 18)
    consent.register(app)  # consent per purpose (issue 20)
