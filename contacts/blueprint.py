"""The contacts domain's blueprints: people, contacts, the inbox, and their API.

Hooks for the domains built on this one (contacts never imports them):
`contacts.signals.person_merged`, `contacts.person_page.register_timeline` /
`register_section` / `register_contact_section`, and
`contacts.telephony.register_open_cases`.
"""

from . import demo, models, reply_templates  # noqa: F401  (tables known to the metadata; demo seeder registered)
from .api import bp as api_bp
from .views import bp


def register(app):
    from . import name_words

    name_words.install()
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    from . import mail_ingest  # the email channel: `flask mail import`, the IMAP poll job

    mail_ingest.register(app)
    from . import quarantine  # the admins' page of messages that could not be ingested

    quarantine.register(app)
    from . import duplicates  # the advisors' review of possible duplicates (issue 14)

    duplicates.register(app)
    from . import auto_reply  # noqa: F401  (its contact-page section: the automatic answer)

    reply_templates.register(app)  # the admins' reply templates (issue 15)
    from . import replies  # email from Cellule: a reply in its thread, a new email (issue 15)

    replies.register(app)
