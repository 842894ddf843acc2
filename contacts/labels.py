"""Human labels of the domain's codes, translated at render time.

Templates anywhere (not only the contacts blueprint's) call `channel_label(code)`,
`direction_label(code)` and `contact_label(contact)` ("Phone · incoming · 02/12/2026 10:00"):
one label per code, never the raw "phone" or "in".
"""

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

CHANNEL_LABELS = {
    "phone": _l("Phone"),
    # Not "Email": that msgid is the address field's label ("Adresse e-mail").
    "email": _l("Email message"),
    "internal_referral": _l("Internal referral"),
    "web": _l("Web"),
    "walk_in": _l("Walk-in"),
}
DIRECTION_LABELS = {"in": _l("Incoming"), "out": _l("Outgoing")}
REASON_LABELS = {
    "stress": _l("Stress"),
    "workload": _l("Workload"),
    "finances": _l("Finances"),
    "isolation": _l("Isolation"),
    "sleep": _l("Sleep"),
    "health": _l("Health"),
    "family": _l("Family"),
    "business_failure": _l("Business failure"),
    "administration": _l("Administration"),
    "other": _l("Other"),
}
LANGUAGE_LABELS = {"fr": "Français", "nl": "Nederlands", "de": "Deutsch", "en": "English"}
SECTOR_LABELS = {
    "horeca": _l("Hotels, restaurants, cafés"),
    "construction": _l("Construction"),
    "retail": _l("Retail"),
    "liberal_profession": _l("Liberal profession"),
    "craft": _l("Craft"),
    "agriculture": _l("Agriculture"),
    "transport": _l("Transport"),
    "services": _l("Services"),
    "care": _l("Care"),
    "creative": _l("Creative work"),
    "other": _l("Other"),
}
DUPLICATE_REASON_LABELS = {
    "phone": _l("same phone"),
    "email": _l("same email"),
    "affiliate_number": _l("same affiliate number"),
    "name": _l("same name"),
}


def channel_label(code):
    return str(CHANNEL_LABELS.get(code, code or ""))


def direction_label(code):
    return str(DIRECTION_LABELS.get(code, code or ""))


def contact_label(contact):
    """A contact as one line: its channel, direction (lower case) and time."""
    parts = [channel_label(contact.channel), direction_label(contact.direction).lower()]
    if contact.occurred_at:
        parts.append(format_datetime(contact.occurred_at, "short"))
    return " · ".join(p for p in parts if p)


TEMPLATE_GLOBALS = {"channel_label": channel_label, "direction_label": direction_label,
                    "contact_label": contact_label}
