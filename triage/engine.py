"""Score a triage run and propose a level, route and deadline (pure functions)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from .business_time import BusinessCalendar
from .lexicon import RedFlag, find_red_flags
from .loader import CrisisResource, Item, Script
from .scoring import (
    ACUTE_NOW,
    GAD2_ITEMS,
    PHQ2_ITEMS,
    CbiScore,
    SumScore,
    cbi_personal,
    context_signals,
    cssrs_category,
    sum_score,
)
from .vocab import LEVELS, ROUTE_FOR_LEVEL, ROUTES, TEXT_RED_FLAG

__all__ = [
    "LEVELS",
    "ROUTES",
    "Evaluation",
    "Reason",
    "TriageValidationError",
    "classify_override",
    "deadline_for",
    "evaluate",
    "level_rules",
]

CONTEXT_SIGNALS_AT_RISK = 3
# Business hours for "high", business days for the other timed levels (SPEC risk table).
HIGH_BUSINESS_HOURS = 4
BUSINESS_DAYS = {"serious": 1, "elevated": 5, "at_risk": 10}


class TriageValidationError(ValueError):
    """Raised when a run's input is invalid; fields maps field names to English messages."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        summary = "; ".join(f"{k}: {v}" for k, v in self.fields.items())
        super().__init__(f"invalid triage input: {summary}")


@dataclass(frozen=True)
class Reason:
    """Why the engine proposed what it did: a stable code and a localized text."""

    code: str
    text: str

    def to_dict(self) -> dict[str, str]:
        """Return the JSON shape."""
        return {"code": self.code, "text": self.text}


@dataclass(frozen=True)
class Evaluation:
    """The engine's proposal for one triage run."""

    script_id: str
    script_version: int
    language: str
    evaluated_at: datetime
    answers: Mapping[str, Any]
    immediate_danger: bool
    complete: bool
    level: str
    route: str
    due_at: datetime | None
    cssrs: str | None
    phq2: SumScore | None
    gad2: SumScore | None
    cbi_personal: CbiScore | None
    signals: tuple[str, ...]
    text_red_flags: tuple[RedFlag, ...]
    crisis_resources: tuple[CrisisResource, ...]
    reasons: tuple[Reason, ...]
    any_safety_yes: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape of POST /api/v1/triage/evaluate (DESIGN §7)."""
        return {
            "level": self.level,
            "route": self.route,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "scores": {
                "cssrs": None if self.cssrs is None else {"category": self.cssrs},
                "phq2": self.phq2.to_dict() if self.phq2 else None,
                "gad2": self.gad2.to_dict() if self.gad2 else None,
                "cbi_personal": self.cbi_personal.to_dict() if self.cbi_personal else None,
            },
            "signals": list(self.signals),
            "text_red_flags": [flag.to_dict() for flag in self.text_red_flags],
            "crisis_resources": [r.to_dict(self.language) for r in self.crisis_resources],
            "reasons": [reason.to_dict() for reason in self.reasons],
            "any_safety_yes": self.any_safety_yes,
            "complete": self.complete,
        }


# --------------------------------------------------------------------------- validation


def _check_answers(
    script: Script, answers: Mapping[str, Any], complete: bool, errors: dict[str, str]
) -> dict[str, Any]:
    """Return the valid answers to asked items; record every problem in errors."""
    for key in answers:
        if not isinstance(key, str):
            errors["answers"] = "item ids must be strings"
        elif not script.has_item(key):
            errors[f"answers.{key}"] = f"unknown item for {script.id} v{script.version}"
    valid: dict[str, Any] = {}
    # Items whose asked/answered state cannot be trusted (invalid or missing controller):
    # their dependents are neither required nor refused, to avoid piling up false errors.
    unknown: set[str] = set()
    for item in script.items:
        field = f"answers.{item.id}"
        present = answers.get(item.id) is not None
        asked = _asked(item, valid, unknown)
        if asked is None:
            unknown.add(item.id)
            if present and (message := item.check(answers[item.id])):
                errors[field] = message
            continue
        if not asked:
            if present:
                errors[field] = f"not asked: answer only when {item.asked_when.describe()}"
            continue
        if not present:
            if complete and item.required:
                errors[field] = "required: this item is asked and must be answered"
                unknown.add(item.id)
            continue
        message = item.check(answers[item.id])
        if message:
            errors[field] = message
            unknown.add(item.id)
        else:
            valid[item.id] = answers[item.id]
    return valid


def _asked(item: Item, valid: Mapping[str, Any], unknown: set[str]) -> bool | None:
    """Return whether the item is asked, or None when its controllers are in doubt."""
    condition = item.asked_when
    if condition is None or condition.is_met(valid):
        return True
    if any(i in unknown for i in condition.items):
        return None
    return False


# --------------------------------------------------------------------------- rules


def level_rules(
    *,
    immediate_danger: bool,
    acute_now: bool,
    cssrs: str | None,
    phq2: SumScore | None,
    gad2: SumScore | None,
    cbi: CbiScore | None,
    signal_count: int,
) -> list[tuple[str, str]]:
    """Return every (level, reason code) that matches, highest level first (SPEC table)."""
    matched: list[tuple[str, str]] = []
    if immediate_danger:
        matched.append(("imminent", "immediate_danger"))
    if acute_now:
        matched.append(("imminent", "acute_now"))
    if cssrs == "high":
        matched.append(("high", "cssrs_high"))
    if cssrs == "moderate":
        matched.append(("serious", "cssrs_moderate"))
    if cssrs == "low":
        matched.append(("serious", "cssrs_low"))
    if phq2 and phq2.positive:
        matched.append(("elevated", "phq2_positive"))
    if gad2 and gad2.positive:
        matched.append(("elevated", "gad2_positive"))
    if cbi and cbi.band in ("high", "severe"):
        matched.append(("elevated", f"cbi_{cbi.band}"))
    if cbi and cbi.band == "moderate":
        matched.append(("at_risk", "cbi_moderate"))
    if signal_count >= CONTEXT_SIGNALS_AT_RISK:
        matched.append(("at_risk", "context_signals"))
    return matched


def deadline_for(level: str, at: datetime, calendar: BusinessCalendar) -> datetime | None:
    """Return the first-response deadline (UTC) for a level proposed at this instant.

    The one deadline rule (docs/CONVENTIONS.md "Deadlines and late"): `imminent` is due
    within the calendar's short grace (clock time, default 15 minutes), not at the instant
    itself — else it would be late at once; the others in business time (SPEC)."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    if level == "imminent":
        return at.astimezone(UTC) + calendar.imminent_grace
    if level == "high":
        return calendar.add_business_hours(at, HIGH_BUSINESS_HOURS)
    if level in BUSINESS_DAYS:
        return calendar.end_of_business_day(at, BUSINESS_DAYS[level])
    return None


def classify_override(
    proposed_level: str, proposed_route: str, chosen_level: str, chosen_route: str
) -> str:
    """Return "confirm", "raise" or "downgrade" (any lowering needs reason and sign-off)."""
    for name, value, known in (
        ("proposed_level", proposed_level, LEVELS),
        ("chosen_level", chosen_level, LEVELS),
        ("proposed_route", proposed_route, ROUTES),
        ("chosen_route", chosen_route, ROUTES),
    ):
        if value not in known:
            raise ValueError(f"unknown {name.split('_')[1]} {value!r} for {name}")
    level_step = LEVELS.index(chosen_level) - LEVELS.index(proposed_level)
    route_step = ROUTES.index(chosen_route) - ROUTES.index(proposed_route)
    if level_step < 0 or route_step < 0:
        return "downgrade"
    if level_step == 0 and route_step == 0:
        return "confirm"
    return "raise"


# --------------------------------------------------------------------------- evaluate


def _reason(script: Script, code: str, language: str, **params: Any) -> Reason:
    return Reason(code, script.text(f"reason.{code}", language).format(**params))


def _decimal_text(value: Any, language: str) -> str:
    # French, Dutch and German readers expect a decimal comma.
    text = str(value)
    return text if language == "en" else text.replace(".", ",")


def _section_answered(script: Script, scorer: str, answers: Mapping[str, Any]) -> bool:
    section = script.section_for_scorer(scorer)
    return section is not None and any(item.id in answers for item in section.items)


def evaluate(
    script: Script,
    answers: Mapping[str, Any],
    *,
    immediate_danger: bool = False,
    notes: str | None = None,
    language: str = "fr",
    at: datetime,
    calendar: BusinessCalendar,
    complete: bool = True,
) -> Evaluation:
    """Validate the answers and return the scores, signals and proposed level/route/due."""
    errors: dict[str, str] = {}
    if language not in script.languages:
        errors["language"] = (
            f"unsupported language {language!r}; expected one of {', '.join(script.languages)}"
        )
    if not isinstance(immediate_danger, bool):
        errors["immediate_danger"] = "must be true or false"
    if not isinstance(complete, bool):
        errors["complete"] = "must be true or false"
    if notes is not None and not isinstance(notes, str):
        errors["notes"] = "must be text"
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        errors["evaluated_at"] = "must be a date-time with a time zone offset"
    valid: dict[str, Any] = {}
    if isinstance(answers, Mapping):
        valid = _check_answers(script, answers, complete, errors)
    else:
        errors["answers"] = "must be an object mapping item ids to answers"
    if errors:
        raise TriageValidationError(errors)

    cssrs = cssrs_category(valid) if _section_answered(script, "cssrs", valid) else None
    phq2 = sum_score(valid, PHQ2_ITEMS) if script.section_for_scorer("phq2") else None
    gad2 = sum_score(valid, GAD2_ITEMS) if script.section_for_scorer("gad2") else None
    cbi = cbi_personal(valid) if script.section_for_scorer("cbi_personal") else None
    signals = context_signals(valid) if script.section_for_scorer("context_signals") else ()
    flags = tuple(find_red_flags(notes, prefer_language=language))

    safety = script.section_for_scorer("cssrs")
    any_safety_yes = any(valid.get(item.id) == "yes" for item in safety.items)

    matched = level_rules(
        immediate_danger=immediate_danger,
        acute_now=valid.get(ACUTE_NOW) == "yes",
        cssrs=cssrs,
        phq2=phq2,
        gad2=gad2,
        cbi=cbi,
        signal_count=len(signals),
    )
    level = matched[0][0] if matched else "low"

    score = _decimal_text(cbi.score, language) if cbi else ""
    params = {
        "phq2_positive": {"total": phq2.total if phq2 else None},
        "gad2_positive": {"total": gad2.total if gad2 else None},
        "cbi_severe": {"score": score},
        "cbi_high": {"score": score},
        "cbi_moderate": {"score": score},
        "context_signals": {
            "count": len(signals),
            "signals": ", ".join(script.text(f"signal.{s}", language) for s in signals),
        },
    }
    reasons = [_reason(script, code, language, **params.get(code, {})) for _, code in matched]
    if not matched:
        reasons.append(_reason(script, "no_risk_signal", language))
    show_resources = any_safety_yes or immediate_danger
    if show_resources:
        reasons.append(_reason(script, "crisis_resources", language))
    if flags:
        # Reported only: a red flag in the notes never changes the proposed level.
        phrases = ", ".join(flag.phrase for flag in flags)
        reasons.append(_reason(script, "text_red_flag", language, phrases=phrases))
    if not complete:
        reasons.append(_reason(script, "incomplete", language))

    return Evaluation(
        script_id=script.id,
        script_version=script.version,
        language=language,
        evaluated_at=at.astimezone(UTC),
        answers=MappingProxyType(dict(valid)),
        immediate_danger=immediate_danger,
        complete=complete,
        level=level,
        route=ROUTE_FOR_LEVEL[level],
        due_at=deadline_for(level, at, calendar),
        cssrs=cssrs,
        phq2=phq2,
        gad2=gad2,
        cbi_personal=cbi,
        signals=(*signals, TEXT_RED_FLAG) if flags else signals,
        text_red_flags=flags,
        crisis_resources=script.resources_for(language) if show_resources else (),
        reasons=tuple(reasons),
        any_safety_yes=any_safety_yes,
    )
