"""Triage knowledge: script definitions, scoring, routing, business time and red flags.

Pure Python: nothing here may import Flask, SQLAlchemy or the app's other packages.
"""

from .business_time import BusinessCalendar, parse_opening_hours
from .engine import (
    Evaluation,
    Reason,
    TriageValidationError,
    classify_override,
    deadline_for,
    evaluate,
    level_rules,
)
from .lexicon import RedFlag, find_red_flags, has_red_flags
from .loader import (
    REGISTRY,
    Condition,
    CrisisResource,
    Item,
    Option,
    ProtocolStep,
    Script,
    ScriptDefinitionError,
    Section,
    UnknownScriptError,
    get_script,
    load_registry,
    load_script,
)
from .scoring import cbi_band, cbi_score, cssrs_category
from .vocab import CBI_BANDS, CSSRS_CATEGORIES, LEVELS, ROUTE_FOR_LEVEL, ROUTES, SIGNALS

__all__ = [
    "CBI_BANDS",
    "CSSRS_CATEGORIES",
    "LEVELS",
    "REGISTRY",
    "ROUTES",
    "ROUTE_FOR_LEVEL",
    "SIGNALS",
    "BusinessCalendar",
    "Condition",
    "CrisisResource",
    "Evaluation",
    "Item",
    "Option",
    "ProtocolStep",
    "Reason",
    "RedFlag",
    "Script",
    "ScriptDefinitionError",
    "Section",
    "TriageValidationError",
    "UnknownScriptError",
    "cbi_band",
    "cbi_score",
    "classify_override",
    "cssrs_category",
    "deadline_for",
    "evaluate",
    "find_red_flags",
    "get_script",
    "has_red_flags",
    "level_rules",
    "load_registry",
    "load_script",
    "parse_opening_hours",
]
