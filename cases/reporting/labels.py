"""The reporting's labels for the dashboard: period presets, granularities, queue age bands."""

from flask_babel import lazy_gettext as _l

PRESET_LABELS = {
    "last_30_days": _l("Last 30 days"),
    "this_month": _l("This month"),
    "last_month": _l("Last month"),
    "this_quarter": _l("This quarter"),
    "last_quarter": _l("Last quarter"),
    "this_year": _l("This year"),
    "last_year": _l("Last year"),
    "custom": _l("Custom dates"),
}
GRANULARITY_LABELS = {
    "auto": _l("Automatic"),
    "day": _l("Day"),
    "week": _l("Week"),
    "month": _l("Month"),
}
AGE_BAND_LABELS = {
    "lt_1d": _l("less than 1 day"),
    "1_3d": _l("1 to 3 days"),
    "3_7d": _l("3 to 7 days"),
    "ge_7d": _l("7 days or more"),
}
