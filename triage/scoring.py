"""Score the screening instruments; every threshold lives here as code, not data."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any

from .vocab import CONTEXT_YES_NO_SIGNALS, LONG_HOURS

PHQ2_ITEMS = ("phq_1_interest", "phq_2_down")
GAD2_ITEMS = ("gad_1_nervous", "gad_2_worry")
SUM_POSITIVE_AT = 3

CBI_ITEMS = (
    "cbi_1_tired",
    "cbi_2_physical",
    "cbi_3_emotional",
    "cbi_4_cant_take",
    "cbi_5_worn_out",
    "cbi_6_weak_ill",
)
# Kristensen et al.: a scale score needs at least half of its items answered.
CBI_MIN_ANSWERED = 3

CSSRS_ITEMS = (
    "cssrs_1_wish_dead",
    "cssrs_2_thoughts",
    "cssrs_3_method",
    "cssrs_4_intent",
    "cssrs_5_plan",
    "cssrs_6_behaviour",
    "cssrs_6_recent",
)
ACUTE_NOW = "acute_now"

HOURS_PER_WEEK = "hours_per_week"
LONG_HOURS_ABOVE = 50


@dataclass(frozen=True)
class ItemShape:
    """Describe the item type (and range) a scorer needs."""

    type: str
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class Scorer:
    """Name a scorer and the items it reads."""

    name: str
    items: Mapping[str, ItemShape]


@dataclass(frozen=True)
class SumScore:
    """Hold a PHQ-2 or GAD-2 total and whether it is positive."""

    total: int
    positive: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape."""
        return {"total": self.total, "positive": self.positive}


@dataclass(frozen=True)
class CbiScore:
    """Hold a CBI personal burnout score (0-100, one decimal) and its band."""

    score: Decimal
    band: str

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape."""
        return {"score": float(self.score), "band": self.band}


def _is_yes(answers: Mapping[str, Any], item_id: str) -> bool:
    return answers.get(item_id) == "yes"


def cssrs_category(answers: Mapping[str, Any]) -> str:
    """Return the Columbia screener category: high, moderate, low or none."""
    behaviour = _is_yes(answers, "cssrs_6_behaviour")
    recent = answers.get("cssrs_6_recent")
    # "recent != no" equals the spec for complete runs (recency is then always answered);
    # in an interrupted run an unknown recency is treated as recent, the safer reading.
    if (
        _is_yes(answers, "cssrs_4_intent")
        or _is_yes(answers, "cssrs_5_plan")
        or (behaviour and recent != "no")
    ):
        return "high"
    if _is_yes(answers, "cssrs_3_method") or (behaviour and recent == "no"):
        return "moderate"
    if _is_yes(answers, "cssrs_1_wish_dead") or _is_yes(answers, "cssrs_2_thoughts"):
        return "low"
    return "none"


def sum_score(answers: Mapping[str, Any], item_ids: tuple[str, ...]) -> SumScore | None:
    """Return the sum of the answered items (None when none is answered)."""
    values = [answers[i] for i in item_ids if i in answers]
    if not values:
        return None
    total = sum(values)
    return SumScore(total=total, positive=total >= SUM_POSITIVE_AT)


def cbi_band(score: Decimal | float | int) -> str:
    """Return the CBI band: low < 50 <= moderate < 75 <= high < 100 = severe."""
    value = Decimal(str(score))
    if value < 50:
        return "low"
    if value < 75:
        return "moderate"
    if value < 100:
        return "high"
    return "severe"


def cbi_score(values: list[int]) -> Decimal:
    """Return 25 times the mean of the values, rounded half up to one decimal."""
    raw = Decimal(25 * sum(values)) / Decimal(len(values))
    return raw.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def cbi_personal(answers: Mapping[str, Any]) -> CbiScore | None:
    """Return the CBI personal burnout score, or None with fewer than three answers."""
    values = [answers[i] for i in CBI_ITEMS if i in answers]
    if len(values) < CBI_MIN_ANSWERED:
        return None
    score = cbi_score(values)
    return CbiScore(score=score, band=cbi_band(score))


def context_signals(answers: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the context signal codes found, long_hours first then item order."""
    found = []
    hours = answers.get(HOURS_PER_WEEK)
    if hours is not None and hours > LONG_HOURS_ABOVE:
        found.append(LONG_HOURS)
    found.extend(i for i in CONTEXT_YES_NO_SIGNALS if _is_yes(answers, i))
    return tuple(found)


def _shapes(ids: tuple[str, ...], shape: ItemShape) -> Mapping[str, ItemShape]:
    return MappingProxyType(dict.fromkeys(ids, shape))


_YES_NO = ItemShape("yes_no")

# The definitions name these scorers per section; the loader checks their items exist.
SCORERS: Mapping[str, Scorer] = MappingProxyType(
    {
        "cssrs": Scorer("cssrs", _shapes((*CSSRS_ITEMS, ACUTE_NOW), _YES_NO)),
        "phq2": Scorer("phq2", _shapes(PHQ2_ITEMS, ItemShape("scale", 0, 3))),
        "gad2": Scorer("gad2", _shapes(GAD2_ITEMS, ItemShape("scale", 0, 3))),
        "cbi_personal": Scorer("cbi_personal", _shapes(CBI_ITEMS, ItemShape("scale", 0, 4))),
        "context_signals": Scorer(
            "context_signals",
            MappingProxyType(
                {
                    HOURS_PER_WEEK: ItemShape("integer", 0, 120),
                    **dict.fromkeys(CONTEXT_YES_NO_SIGNALS, _YES_NO),
                }
            ),
        ),
    }
)

# The safety section is always asked, so every definition must carry it.
REQUIRED_SCORERS = ("cssrs",)
