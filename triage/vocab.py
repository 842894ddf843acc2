"""Name the levels, routes, categories and codes shared by definitions and the engine."""

# Ordered from least to most urgent: comparisons rely on the position.
LEVELS = ("low", "at_risk", "elevated", "serious", "high", "imminent")

# Ordered by intensity of care: an override may move right freely, left only with sign-off.
ROUTES = ("information", "coaching", "psychologist", "crisis")

ROUTE_FOR_LEVEL = {
    "imminent": "crisis",
    "high": "psychologist",
    "serious": "psychologist",
    "elevated": "psychologist",
    "at_risk": "coaching",
    "low": "information",
}

CSSRS_CATEGORIES = ("none", "low", "moderate", "high")
CBI_BANDS = ("low", "moderate", "high", "severe")

YES_NO = ("yes", "no")

# Yes/no context items that are each a signal of the same name when answered yes.
CONTEXT_YES_NO_SIGNALS = (
    "sleep_problems",
    "isolation",
    "financial_worries",
    "admin_overload",
    "client_pressure",
    "health_problem",
    "life_event",
    "contribution_arrears",
    "exemption_request",
    "bridging_right_request",
    "incapacity",
)
LONG_HOURS = "long_hours"
CONTEXT_SIGNALS = (LONG_HOURS, *CONTEXT_YES_NO_SIGNALS)
TEXT_RED_FLAG = "text_red_flag"
SIGNALS = (*CONTEXT_SIGNALS, TEXT_RED_FLAG)

# Reason codes and the only placeholders their message templates may use.
REASON_PARAMS = {
    "immediate_danger": frozenset(),
    "acute_now": frozenset(),
    "cssrs_high": frozenset(),
    "cssrs_moderate": frozenset(),
    "cssrs_low": frozenset(),
    "phq2_positive": frozenset({"total"}),
    "gad2_positive": frozenset({"total"}),
    "cbi_severe": frozenset({"score"}),
    "cbi_high": frozenset({"score"}),
    "cbi_moderate": frozenset({"score"}),
    "context_signals": frozenset({"count", "signals"}),
    "no_risk_signal": frozenset(),
    "crisis_resources": frozenset(),
    "text_red_flag": frozenset({"phrases"}),
    "incomplete": frozenset(),
}
REASON_CODES = tuple(REASON_PARAMS)
