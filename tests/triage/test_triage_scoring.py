"""Instrument scoring: Columbia categories, PHQ-2/GAD-2 sums, CBI score and bands."""

from decimal import Decimal

import pytest

from triage import cbi_band, cbi_score, cssrs_category
from triage.scoring import GAD2_ITEMS, PHQ2_ITEMS, cbi_personal, context_signals, sum_score

NO_SAFETY = {"cssrs_1_wish_dead": "no", "cssrs_2_thoughts": "no", "cssrs_6_behaviour": "no"}

COLUMBIA = [
    (
        "4 intent yes",
        {
            "cssrs_2_thoughts": "yes",
            "cssrs_3_method": "no",
            "cssrs_4_intent": "yes",
            "cssrs_5_plan": "no",
        },
        "high",
    ),
    (
        "5 plan yes",
        {
            "cssrs_2_thoughts": "yes",
            "cssrs_3_method": "no",
            "cssrs_4_intent": "no",
            "cssrs_5_plan": "yes",
        },
        "high",
    ),
    ("6 behaviour + recent", {"cssrs_6_behaviour": "yes", "cssrs_6_recent": "yes"}, "high"),
    (
        "3 method yes",
        {
            "cssrs_2_thoughts": "yes",
            "cssrs_3_method": "yes",
            "cssrs_4_intent": "no",
            "cssrs_5_plan": "no",
        },
        "moderate",
    ),
    ("6 behaviour not recent", {"cssrs_6_behaviour": "yes", "cssrs_6_recent": "no"}, "moderate"),
    ("1 wish dead only", {"cssrs_1_wish_dead": "yes"}, "low"),
    (
        "2 thoughts only",
        {
            "cssrs_2_thoughts": "yes",
            "cssrs_3_method": "no",
            "cssrs_4_intent": "no",
            "cssrs_5_plan": "no",
        },
        "low",
    ),
    ("all no", {}, "none"),
    (
        "3 and 6 not recent",
        {
            "cssrs_2_thoughts": "yes",
            "cssrs_3_method": "yes",
            "cssrs_4_intent": "no",
            "cssrs_5_plan": "no",
            "cssrs_6_behaviour": "yes",
            "cssrs_6_recent": "no",
        },
        "moderate",
    ),
    (
        "1 and 6 recent",
        {"cssrs_1_wish_dead": "yes", "cssrs_6_behaviour": "yes", "cssrs_6_recent": "yes"},
        "high",
    ),
    # Interrupted run: behaviour disclosed, recency never asked -> treated as recent.
    ("6 yes recency unknown", {"cssrs_6_behaviour": "yes"}, "high"),
]


@pytest.mark.parametrize(
    ("answers", "category"), [c[1:] for c in COLUMBIA], ids=[c[0] for c in COLUMBIA]
)
def test_cssrs_category(answers, category):
    assert cssrs_category({**NO_SAFETY, **answers}) == category


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, "low"),
        (Decimal("49.9"), "low"),
        (Decimal("50.0"), "moderate"),
        (50, "moderate"),
        (Decimal("74.9"), "moderate"),
        (Decimal("75"), "high"),
        (Decimal("99.9"), "high"),
        (Decimal("100.0"), "severe"),
        (100, "severe"),
    ],
)
def test_cbi_band_edges(score, band):
    assert cbi_band(score) == band


@pytest.mark.parametrize(
    ("values", "score"),
    [
        ([0] * 6, "0.0"),
        ([2] * 6, "50.0"),
        ([3] * 6, "75.0"),
        ([4] * 6, "100.0"),
        ([2, 2, 2, 2, 2, 1], "45.8"),  # 45.83
        ([3, 3, 3, 3, 3, 2], "70.8"),  # 70.83
        ([4, 4, 4, 4, 4, 3], "95.8"),  # 95.83
        ([1, 1, 1, 1, 1, 0], "20.8"),  # 20.83
        ([2, 1, 1, 1], "31.3"),  # 31.25: half up, not half even
        ([3, 2, 2, 2], "56.3"),  # 56.25
        ([4, 4, 4], "100.0"),
    ],
)
def test_cbi_score_rounding(values, score):
    assert cbi_score(values) == Decimal(score)
    assert str(cbi_score(values)) == score


def test_cbi_personal_needs_three_answers():
    assert cbi_personal({"cbi_1_tired": 4, "cbi_2_physical": 4}) is None
    three = cbi_personal({"cbi_1_tired": 4, "cbi_2_physical": 4, "cbi_3_emotional": 2})
    assert (three.score, three.band) == (Decimal("83.3"), "high")


@pytest.mark.parametrize(
    ("items", "values", "total", "positive"),
    [
        (PHQ2_ITEMS, (1, 1), 2, False),
        (PHQ2_ITEMS, (2, 1), 3, True),
        (PHQ2_ITEMS, (3, 3), 6, True),
        (GAD2_ITEMS, (0, 2), 2, False),
        (GAD2_ITEMS, (0, 3), 3, True),
    ],
)
def test_sum_scores(items, values, total, positive):
    result = sum_score(dict(zip(items, values, strict=True)), items)
    assert (result.total, result.positive) == (total, positive)


def test_sum_score_none_when_unanswered():
    assert sum_score({}, PHQ2_ITEMS) is None


@pytest.mark.parametrize(
    ("answers", "signals"),
    [
        ({"hours_per_week": 50}, ()),
        ({"hours_per_week": 51}, ("long_hours",)),
        (
            {"hours_per_week": 120, "isolation": "yes", "sleep_problems": "yes"},
            ("long_hours", "sleep_problems", "isolation"),
        ),
        ({"incapacity": "yes", "life_event": "no"}, ("incapacity",)),
    ],
)
def test_context_signals(answers, signals):
    assert context_signals(answers) == signals
