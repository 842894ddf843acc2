"""Human labels of the domain's codes, translated at render time."""

from flask_babel import lazy_gettext as _l

CHANNEL_LABELS = {
    "phone": _l("Phone"),
    "email": _l("Email"),
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
