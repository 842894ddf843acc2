"""Engine: validation, skip logic, level rules, deadlines, crisis resources, overrides."""

import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from triage import (
    LEVELS,
    ROUTES,
    TriageValidationError,
    classify_override,
    deadline_for,
    evaluate,
    level_rules,
)
from triage.scoring import CbiScore, SumScore

BRUSSELS = ZoneInfo("Europe/Brussels")
DROP = object()


def bxl(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


AT = bxl(2026, 3, 2, 10)  # a Monday, 10:00, open
IMMINENT_DUE = bxl(2026, 3, 2, 10, 15)  # AT + the imminent grace (15 minutes, clock time)

CONTEXT_YES_NO = (
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
CBI = (
    "cbi_1_tired",
    "cbi_2_physical",
    "cbi_3_emotional",
    "cbi_4_cant_take",
    "cbi_5_worn_out",
    "cbi_6_weak_ill",
)
CALM = {
    "cssrs_1_wish_dead": "no",
    "cssrs_2_thoughts": "no",
    "cssrs_6_behaviour": "no",
    "phq_1_interest": 0,
    "phq_2_down": 0,
    "gad_1_nervous": 0,
    "gad_2_worry": 0,
    **dict.fromkeys(CBI, 0),
    "hours_per_week": 40,
    **dict.fromkeys(CONTEXT_YES_NO, "no"),
    "support_person": "yes",
    "future_plans": "yes",
    "buffers_note": "",
}
THOUGHTS = {
    "cssrs_2_thoughts": "yes",
    "cssrs_3_method": "no",
    "cssrs_4_intent": "no",
    "cssrs_5_plan": "no",
}
BEHAVIOUR = {"cssrs_6_behaviour": "yes", "cssrs_6_recent": "no"}


def make(**changes):
    """Return complete calm answers with changes; acute_now is added when it is asked."""
    answers = {**CALM, **changes}
    asked = ["cssrs_1_wish_dead", "cssrs_2_thoughts", "cssrs_6_behaviour"]
    if answers.get("cssrs_2_thoughts") == "yes":
        asked += ["cssrs_3_method", "cssrs_4_intent", "cssrs_5_plan"]
    if answers.get("cssrs_6_behaviour") == "yes":
        asked.append("cssrs_6_recent")
    if "acute_now" not in changes and any(answers.get(i) == "yes" for i in asked):
        answers["acute_now"] = "no"
    return {k: v for k, v in answers.items() if v is not DROP}


def run(script, calendar, answers, **kwargs):
    kwargs.setdefault("at", AT)
    return evaluate(script, answers, calendar=calendar, **kwargs)


def errors_of(script, calendar, answers, **kwargs):
    with pytest.raises(TriageValidationError) as caught:
        run(script, calendar, answers, **kwargs)
    return caught.value.fields


# --------------------------------------------------------------------------- level table

LEVEL_ROWS = [
    ("nothing -> low", make(), False, "low", "information", None),
    ("immediate danger", make(), True, "imminent", "crisis", IMMINENT_DUE),
    ("acute now", make(cssrs_1_wish_dead="yes", acute_now="yes"), False, "imminent", "crisis",
     IMMINENT_DUE),
    (
        "columbia high",
        make(**{**THOUGHTS, "cssrs_4_intent": "yes"}),
        False,
        "high",
        "psychologist",
        bxl(2026, 3, 2, 14),
    ),
    ("columbia moderate", make(**BEHAVIOUR), False, "serious", "psychologist", bxl(2026, 3, 3, 17)),
    (
        "columbia low",
        make(cssrs_1_wish_dead="yes"),
        False,
        "serious",
        "psychologist",
        bxl(2026, 3, 3, 17),
    ),
    (
        "phq-2 positive",
        make(phq_1_interest=2, phq_2_down=1),
        False,
        "elevated",
        "psychologist",
        bxl(2026, 3, 9, 17),
    ),
    (
        "gad-2 positive",
        make(gad_1_nervous=3),
        False,
        "elevated",
        "psychologist",
        bxl(2026, 3, 9, 17),
    ),
    (
        "cbi high",
        make(**dict.fromkeys(CBI, 3)),
        False,
        "elevated",
        "psychologist",
        bxl(2026, 3, 9, 17),
    ),
    (
        "cbi severe",
        make(**dict.fromkeys(CBI, 4)),
        False,
        "elevated",
        "psychologist",
        bxl(2026, 3, 9, 17),
    ),
    (
        "cbi moderate",
        make(**dict.fromkeys(CBI, 2)),
        False,
        "at_risk",
        "coaching",
        bxl(2026, 3, 16, 17),
    ),
    (
        "3 context signals",
        make(isolation="yes", sleep_problems="yes", incapacity="yes"),
        False,
        "at_risk",
        "coaching",
        bxl(2026, 3, 16, 17),
    ),
]


@pytest.mark.parametrize(
    ("answers", "danger", "level", "route", "due"),
    [r[1:] for r in LEVEL_ROWS],
    ids=[r[0] for r in LEVEL_ROWS],
)
def test_level_table(script, calendar, answers, danger, level, route, due):
    result = run(script, calendar, answers, immediate_danger=danger)
    assert (result.level, result.route, result.due_at) == (level, route, due)


COLUMBIA_PATHS = [
    ("4 yes", {**THOUGHTS, "cssrs_4_intent": "yes"}, "high", "high"),
    ("5 yes", {**THOUGHTS, "cssrs_5_plan": "yes"}, "high", "high"),
    ("6 + recent", {"cssrs_6_behaviour": "yes", "cssrs_6_recent": "yes"}, "high", "high"),
    ("3 yes", {**THOUGHTS, "cssrs_3_method": "yes"}, "moderate", "serious"),
    ("6 not recent", BEHAVIOUR, "moderate", "serious"),
    ("1 yes", {"cssrs_1_wish_dead": "yes"}, "low", "serious"),
    ("2 yes", THOUGHTS, "low", "serious"),
    ("none", {}, "none", "low"),
]


@pytest.mark.parametrize(
    ("safety", "category", "level"),
    [p[1:] for p in COLUMBIA_PATHS],
    ids=[p[0] for p in COLUMBIA_PATHS],
)
def test_columbia_paths(script, calendar, safety, category, level):
    result = run(script, calendar, make(**safety))
    assert result.cssrs == category
    assert result.to_dict()["scores"]["cssrs"] == {"category": category}
    assert result.level == level


@pytest.mark.parametrize(
    ("changes", "level", "codes"),
    [
        (
            {**THOUGHTS, "cssrs_4_intent": "yes", "phq_1_interest": 3, **dict.fromkeys(CBI, 2)},
            "high",
            ["cssrs_high", "phq2_positive", "cbi_moderate", "crisis_resources"],
        ),
        (
            {"cssrs_1_wish_dead": "yes", "acute_now": "yes", "gad_2_worry": 3},
            "imminent",
            ["acute_now", "cssrs_low", "gad2_positive", "crisis_resources"],
        ),
        (
            {
                **dict.fromkeys(CBI, 2),
                "phq_2_down": 3,
                "isolation": "yes",
                "life_event": "yes",
                "hours_per_week": 60,
            },
            "elevated",
            ["phq2_positive", "cbi_moderate", "context_signals"],
        ),
        (
            {**BEHAVIOUR, **dict.fromkeys(CBI, 4)},
            "serious",
            ["cssrs_moderate", "cbi_severe", "crisis_resources"],
        ),
    ],
)
def test_highest_rule_wins_and_all_matches_are_reasons(script, calendar, changes, level, codes):
    result = run(script, calendar, make(**changes))
    assert result.level == level
    assert [r.code for r in result.reasons] == codes


def test_immediate_danger_overrides_everything(script, calendar):
    result = run(
        script, calendar, make(**{**THOUGHTS, "cssrs_5_plan": "yes"}), immediate_danger=True
    )
    assert (result.level, result.route, result.due_at) == ("imminent", "crisis", IMMINENT_DUE)
    assert [r.code for r in result.reasons][:2] == ["immediate_danger", "cssrs_high"]


# --------------------------------------------------------------------------- thresholds


@pytest.mark.parametrize(
    ("changes", "level"),
    [
        ({"phq_1_interest": 1, "phq_2_down": 1}, "low"),
        ({"phq_1_interest": 1, "phq_2_down": 2}, "elevated"),
        ({"gad_1_nervous": 2, "gad_2_worry": 0}, "low"),
        ({"gad_1_nervous": 2, "gad_2_worry": 1}, "elevated"),
        ({"isolation": "yes", "admin_overload": "yes"}, "low"),
        ({"isolation": "yes", "admin_overload": "yes", "client_pressure": "yes"}, "at_risk"),
        ({"hours_per_week": 50, "isolation": "yes", "admin_overload": "yes"}, "low"),
        ({"hours_per_week": 51, "isolation": "yes", "admin_overload": "yes"}, "at_risk"),
    ],
)
def test_thresholds(script, calendar, changes, level):
    assert run(script, calendar, make(**changes)).level == level


def test_phq_gad_scores(script, calendar):
    result = run(script, calendar, make(phq_1_interest=1, phq_2_down=1, gad_1_nervous=3))
    scores = result.to_dict()["scores"]
    assert scores["phq2"] == {"total": 2, "positive": False}
    assert scores["gad2"] == {"total": 3, "positive": True}


@pytest.mark.parametrize(
    ("values", "score", "band", "level"),
    [
        ((2, 2, 2, 2, 2, 1), 45.8, "low", "low"),
        ((2, 2, 2, 2, 2, 2), 50.0, "moderate", "at_risk"),
        ((3, 3, 3, 3, 3, 2), 70.8, "moderate", "at_risk"),
        ((3, 3, 3, 3, 3, 3), 75.0, "high", "elevated"),
        ((4, 4, 4, 4, 4, 3), 95.8, "high", "elevated"),
        ((4, 4, 4, 4, 4, 4), 100.0, "severe", "elevated"),
    ],
)
def test_cbi_bands_from_real_answers(script, calendar, values, score, band, level):
    result = run(script, calendar, make(**dict(zip(CBI, values, strict=True))))
    assert result.to_dict()["scores"]["cbi_personal"] == {"score": score, "band": band}
    assert result.level == level


def test_signals_listed_in_order(script, calendar):
    result = run(script, calendar, make(hours_per_week=70, incapacity="yes", isolation="yes"))
    assert result.signals == ("long_hours", "isolation", "incapacity")


# --------------------------------------------------------------------------- validation

SKIP_ERRORS = [
    (
        "3 answered when 2 is no",
        make(cssrs_3_method="no"),
        "answers.cssrs_3_method",
        "not asked: answer only when cssrs_2_thoughts is 'yes'",
    ),
    ("4 answered when 2 is no", make(cssrs_4_intent="yes"), "answers.cssrs_4_intent", "not asked"),
    (
        "6-recent answered when 6 is no",
        make(cssrs_6_recent="no"),
        "answers.cssrs_6_recent",
        "not asked: answer only when cssrs_6_behaviour is 'yes'",
    ),
    (
        "acute_now answered when all no",
        make(acute_now="no"),
        "answers.acute_now",
        "not asked: answer only when one of cssrs_1_wish_dead",
    ),
    (
        "acute_now missing when one yes",
        make(cssrs_1_wish_dead="yes", acute_now=DROP),
        "answers.acute_now",
        "required",
    ),
    (
        "3 missing when 2 is yes",
        make(**{**THOUGHTS, "cssrs_3_method": DROP}),
        "answers.cssrs_3_method",
        "required",
    ),
    (
        "6-recent missing when 6 is yes",
        make(cssrs_6_behaviour="yes"),
        "answers.cssrs_6_recent",
        "required",
    ),
    ("1 missing", make(cssrs_1_wish_dead=DROP), "answers.cssrs_1_wish_dead", "required"),
    ("phq missing", make(phq_2_down=DROP), "answers.phq_2_down", "required"),
    ("cbi missing", make(cbi_6_weak_ill=DROP), "answers.cbi_6_weak_ill", "required"),
    ("hours missing", make(hours_per_week=DROP), "answers.hours_per_week", "required"),
    ("buffer missing", make(future_plans=DROP), "answers.future_plans", "required"),
    ("null counts as missing", make(isolation=None), "answers.isolation", "required"),
]


@pytest.mark.parametrize(
    ("answers", "field", "message"), [e[1:] for e in SKIP_ERRORS], ids=[e[0] for e in SKIP_ERRORS]
)
def test_skip_logic_errors(script, calendar, answers, field, message):
    fields = errors_of(script, calendar, answers)
    assert list(fields) == [field]
    assert fields[field].startswith(message)


def test_not_asked_cascades_through_skip_logic(script, calendar):
    # cssrs_3 is not asked, so its "yes" cannot make acute_now asked either.
    fields = errors_of(script, calendar, make(cssrs_3_method="yes", acute_now="yes"))
    assert set(fields) == {"answers.cssrs_3_method", "answers.acute_now"}


def test_invalid_controller_does_not_pile_up_errors(script, calendar):
    fields = errors_of(script, calendar, make(cssrs_2_thoughts="maybe", cssrs_3_method="yes"))
    assert fields == {"answers.cssrs_2_thoughts": 'must be "yes" or "no"'}


def test_buffers_note_is_optional(script, calendar):
    assert run(script, calendar, make(buffers_note=DROP)).level == "low"


VALUE_ERRORS = [
    ("cssrs_1_wish_dead", "Yes", 'must be "yes" or "no"'),
    ("cssrs_1_wish_dead", "oui", 'must be "yes" or "no"'),
    ("cssrs_1_wish_dead", True, 'must be "yes" or "no"'),
    ("cssrs_2_thoughts", 1, 'must be "yes" or "no"'),
    ("isolation", "", 'must be "yes" or "no"'),
    ("phq_1_interest", 4, "must be an integer from 0 to 3"),
    ("phq_1_interest", -1, "must be an integer from 0 to 3"),
    ("phq_2_down", 1.0, "must be an integer from 0 to 3"),
    ("gad_1_nervous", True, "must be an integer from 0 to 3"),
    ("gad_2_worry", "2", "must be an integer from 0 to 3"),
    ("cbi_1_tired", 5, "must be an integer from 0 to 4"),
    ("cbi_2_physical", False, "must be an integer from 0 to 4"),
    ("hours_per_week", 121, "must be an integer from 0 to 120"),
    ("hours_per_week", -1, "must be an integer from 0 to 120"),
    ("hours_per_week", 50.5, "must be an integer from 0 to 120"),
    ("hours_per_week", "40", "must be an integer from 0 to 120"),
    ("hours_per_week", True, "must be an integer from 0 to 120"),
    ("buffers_note", 42, "must be text"),
    ("buffers_note", "x" * 4001, "must be at most 4000 characters"),
]


@pytest.mark.parametrize(("item", "value", "message"), VALUE_ERRORS)
def test_value_errors(script, calendar, item, value, message):
    assert errors_of(script, calendar, make(**{item: value})) == {f"answers.{item}": message}


@pytest.mark.parametrize(
    ("item", "value"),
    [("hours_per_week", 0), ("hours_per_week", 120), ("phq_1_interest", 3), ("cbi_1_tired", 4)],
)
def test_range_limits_accepted(script, calendar, item, value):
    run(script, calendar, make(**{item: value}))


def test_unknown_item(script, calendar):
    fields = errors_of(script, calendar, make(cssrs_7_extra="yes"))
    assert fields == {"answers.cssrs_7_extra": "unknown item for cellule-triage v1"}


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"language": "it"}, "language", "unsupported language 'it'"),
        ({"language": "FR"}, "language", "unsupported language 'FR'"),
        ({"immediate_danger": "yes"}, "immediate_danger", "must be true or false"),
        ({"notes": 12}, "notes", "must be text"),
        ({"complete": "yes"}, "complete", "must be true or false"),
        ({"at": datetime(2026, 3, 2, 10)}, "evaluated_at", "must be a date-time"),
    ],
)
def test_argument_errors(script, calendar, kwargs, field, message):
    fields = errors_of(script, calendar, make(), **kwargs)
    assert fields[field].startswith(message)


@pytest.mark.parametrize("answers", [None, [], "yes", 3])
def test_answers_must_be_a_mapping(script, calendar, answers):
    assert errors_of(script, calendar, answers) == {
        "answers": "must be an object mapping item ids to answers"
    }


def test_all_errors_are_collected(script, calendar):
    answers = make(cssrs_3_method="yes", phq_1_interest=9, hours_per_week=DROP, bogus=1)
    fields = errors_of(script, calendar, answers, language="es")
    assert set(fields) == {
        "language",
        "answers.bogus",
        "answers.cssrs_3_method",
        "answers.phq_1_interest",
        "answers.hours_per_week",
    }
    with pytest.raises(TriageValidationError, match="answers.bogus: unknown item"):
        run(script, calendar, answers)


# --------------------------------------------------------------------------- incomplete runs


@pytest.mark.parametrize(
    ("answers", "level", "cssrs", "phq2", "cbi"),
    [
        ({}, "low", None, None, None),
        ({"cssrs_1_wish_dead": "yes"}, "serious", "low", None, None),
        ({"cssrs_1_wish_dead": "no", "cssrs_6_behaviour": "yes"}, "high", "high", None, None),
        (
            {
                "cssrs_1_wish_dead": "no",
                "cssrs_2_thoughts": "no",
                "cssrs_6_behaviour": "no",
                "phq_1_interest": 3,
            },
            "elevated",
            "none",
            {"total": 3, "positive": True},
            None,
        ),
        ({"cbi_1_tired": 4, "cbi_2_physical": 4}, "low", None, None, None),
        (
            {"cbi_1_tired": 4, "cbi_2_physical": 4, "cbi_3_emotional": 4},
            "elevated",
            None,
            None,
            {"score": 100.0, "band": "severe"},
        ),
        (
            {"cbi_1_tired": 2, "cbi_2_physical": 1, "cbi_3_emotional": 1, "cbi_4_cant_take": 1},
            "low",
            None,
            None,
            {"score": 31.3, "band": "low"},
        ),
    ],
)
def test_incomplete_runs_use_what_was_answered(script, calendar, answers, level, cssrs, phq2, cbi):
    result = run(script, calendar, answers, complete=False)
    data = result.to_dict()
    assert data["complete"] is False
    assert data["level"] == level
    assert data["scores"]["cssrs"] == (None if cssrs is None else {"category": cssrs})
    assert data["scores"]["phq2"] == phq2
    assert data["scores"]["gad2"] is None
    assert data["scores"]["cbi_personal"] == cbi
    assert data["reasons"][-1]["code"] == "incomplete"


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"cssrs_2_thoughts": "no", "cssrs_3_method": "yes"}, "answers.cssrs_3_method"),
        ({"cssrs_3_method": "yes"}, "answers.cssrs_3_method"),
        ({"cssrs_1_wish_dead": "no", "acute_now": "no"}, "answers.acute_now"),
        ({"phq_1_interest": 7}, "answers.phq_1_interest"),
        ({"nope": "yes"}, "answers.nope"),
    ],
)
def test_incomplete_runs_still_refuse_bad_answers(script, calendar, answers, field):
    assert list(errors_of(script, calendar, answers, complete=False)) == [field]


def test_incomplete_run_with_immediate_danger(script, calendar):
    result = run(script, calendar, {}, complete=False, immediate_danger=True, language="de")
    assert (result.level, result.route, result.due_at) == ("imminent", "crisis", IMMINENT_DUE)
    assert [r["phone"] for r in result.to_dict()["crisis_resources"]] == ["108", "112"]


# --------------------------------------------------------------------------- red flags


def test_red_flags_report_without_changing_the_level(script, calendar):
    result = run(script, calendar, make(), notes="Il m'a dit : je vais ME SUICIDER.")
    data = result.to_dict()
    assert data["level"] == "low"
    assert data["signals"] == ["text_red_flag"]
    assert data["text_red_flags"] == [
        {"phrase": "me suicider", "language": "fr", "matched": "ME SUICIDER"}
    ]
    assert [r["code"] for r in data["reasons"]] == ["no_risk_signal", "text_red_flag"]
    assert data["crisis_resources"] == []


def test_red_flags_never_lower_a_level(script, calendar):
    answers = make(**{**THOUGHTS, "cssrs_5_plan": "yes"})
    with_flag = run(script, calendar, answers, notes="wants to end it all")
    without = run(script, calendar, answers)
    assert with_flag.level == without.level == "high"
    assert with_flag.due_at == without.due_at
    assert with_flag.signals == ("text_red_flag",)


def test_red_flag_reported_in_the_persons_language(script, calendar):
    result = run(script, calendar, make(), notes="thinking about suicide", language="en")
    assert result.text_red_flags[0].language == "en"
    assert "run the safety section" in result.reasons[-1].text


# --------------------------------------------------------------------------- crisis resources


@pytest.mark.parametrize(
    ("language", "phones", "first_name"),
    [
        ("fr", ["0800 32 123", "112"], "Centre de Prévention du Suicide"),
        ("nl", ["1813", "112"], "Zelfmoordlijn 1813"),
        ("de", ["108", "112"], "Telefonhilfe"),
        ("en", ["0800 32 123", "1813", "112"], "Centre de Prévention du Suicide"),
    ],
)
def test_crisis_resources_in_the_persons_language(script, calendar, language, phones, first_name):
    result = run(script, calendar, make(cssrs_1_wish_dead="yes"), language=language)
    resources = result.to_dict()["crisis_resources"]
    assert [r["phone"] for r in resources] == phones
    assert resources[0]["name"] == first_name
    assert resources[-1]["name"] == script.text("resource.emergency_112.name", language)
    assert resources[-1]["description"] == script.text(
        "resource.emergency_112.description", language
    )
    assert resources[-1]["language"] == "all"


@pytest.mark.parametrize(
    ("answers", "danger", "shown"),
    [
        (make(), False, False),
        (make(), True, True),
        (make(cssrs_6_behaviour="yes", cssrs_6_recent="no"), False, True),
        (make(phq_1_interest=3, phq_2_down=3, **dict.fromkeys(CBI, 4)), False, False),
    ],
)
def test_crisis_resources_when_safety_yes_or_danger(script, calendar, answers, danger, shown):
    result = run(script, calendar, answers, immediate_danger=danger)
    assert bool(result.crisis_resources) is shown
    assert result.any_safety_yes is (shown and not danger)


def test_reasons_in_the_requested_language(script, calendar):
    answers = make(phq_1_interest=2, phq_2_down=1, **dict.fromkeys(CBI, 3))
    texts = {
        lang: [r.text for r in run(script, calendar, answers, language=lang).reasons]
        for lang in ("fr", "nl", "en", "de")
    }
    assert texts["fr"] == [
        "PHQ-2 positif : 3/6 (seuil 3).",
        "Épuisement personnel (CBI) élevé : 75,0/100 (75 ou plus).",
    ]
    assert texts["nl"][0] == "PHQ-2 positief: 3/6 (drempel 3)."
    assert texts["en"][1] == "Personal burnout (CBI) high: 75.0/100 (75 or more)."
    assert texts["de"][0] == "PHQ-2 positiv: 3/6 (Schwelle 3)."


def test_context_reason_names_the_signals(script, calendar):
    answers = make(hours_per_week=60, isolation="yes", financial_worries="yes")
    reason = run(script, calendar, answers, language="fr").reasons[0]
    assert reason.code == "context_signals"
    assert reason.text == (
        "3 signaux liés à la situation d'indépendant : Plus de 50 heures par semaine, "
        "Isolement, Soucis financiers."
    )


# --------------------------------------------------------------------------- deadlines


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("imminent", bxl(2026, 3, 6, 15, 15)),  # the grace: 15 minutes, clock time
        ("high", bxl(2026, 3, 9, 10, 30)),
        ("serious", bxl(2026, 3, 9, 17)),
        ("elevated", bxl(2026, 3, 13, 17)),
        ("at_risk", bxl(2026, 3, 20, 17)),
        ("low", None),
    ],
)
def test_deadline_for(calendar, level, expected):
    assert deadline_for(level, bxl(2026, 3, 6, 15), calendar) == expected


def test_deadline_for_unknown_level(calendar):
    with pytest.raises(ValueError, match="unknown level"):
        deadline_for("urgent", AT, calendar)


# --------------------------------------------------------------------------- overrides

OVERRIDES = [
    ("serious", "psychologist", "serious", "psychologist", "confirm"),
    ("imminent", "crisis", "imminent", "crisis", "confirm"),
    ("at_risk", "coaching", "at_risk", "psychologist", "raise"),
    ("at_risk", "coaching", "high", "coaching", "raise"),
    ("low", "information", "imminent", "crisis", "raise"),
    ("elevated", "psychologist", "elevated", "coaching", "downgrade"),
    ("high", "psychologist", "serious", "psychologist", "downgrade"),
    ("serious", "psychologist", "high", "coaching", "downgrade"),
    ("at_risk", "coaching", "low", "psychologist", "downgrade"),
    ("imminent", "crisis", "imminent", "psychologist", "downgrade"),
]


@pytest.mark.parametrize(("pl", "pr", "cl", "cr", "expected"), OVERRIDES)
def test_classify_override(pl, pr, cl, cr, expected):
    assert classify_override(pl, pr, cl, cr) == expected


@pytest.mark.parametrize(
    "args",
    [("urgent", "crisis", "low", "crisis"), ("low", "information", "low", "hospital")],
)
def test_classify_override_unknown_names(args):
    with pytest.raises(ValueError, match="unknown"):
        classify_override(*args)


def test_orders():
    assert LEVELS == ("low", "at_risk", "elevated", "serious", "high", "imminent")
    assert ROUTES == ("information", "coaching", "psychologist", "crisis")


# --------------------------------------------------------------------------- shape


def test_to_dict_shape(script, calendar):
    answers = make(**{**THOUGHTS, "cssrs_4_intent": "yes", "phq_1_interest": 2})
    result = run(
        script,
        calendar,
        answers,
        notes="I want to die",
        language="en",
        at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    data = result.to_dict()
    assert list(data) == [
        "level",
        "route",
        "due_at",
        "scores",
        "signals",
        "text_red_flags",
        "crisis_resources",
        "reasons",
        "any_safety_yes",
        "complete",
    ]
    assert list(data["scores"]) == ["cssrs", "phq2", "gad2", "cbi_personal"]
    assert data["scores"]["cssrs"] == {"category": "high"}
    assert data["scores"]["phq2"] == {"total": 2, "positive": False}
    assert data["scores"]["gad2"] == {"total": 0, "positive": False}
    assert data["scores"]["cbi_personal"] == {"score": 0.0, "band": "low"}
    assert data["due_at"] == "2026-03-02T13:00:00+00:00"
    assert datetime.fromisoformat(data["due_at"]).utcoffset() is not None
    assert data["text_red_flags"] == [
        {"phrase": "want to die", "language": "en", "matched": "want to die"}
    ]
    assert all(
        set(r) == {"name", "phone", "language", "description"} for r in data["crisis_resources"]
    )
    assert all(set(r) == {"code", "text"} for r in data["reasons"])
    assert data["any_safety_yes"] is True
    assert data["complete"] is True
    assert json.loads(json.dumps(data)) == data


def test_evaluation_keeps_run_metadata(script, calendar):
    result = run(script, calendar, make(), language="nl")
    assert (result.script_id, result.script_version, result.language) == ("cellule-triage", 1, "nl")
    assert result.evaluated_at == AT and result.evaluated_at.tzinfo is UTC
    assert result.answers["hours_per_week"] == 40
    assert result.cbi_personal.score == Decimal("0.0")


def test_level_rules_list_the_highest_level_first():
    sums = [None, SumScore(2, False), SumScore(3, True)]
    cbis = [None] + [
        CbiScore(Decimal(s), b)
        for s, b in (("10", "low"), ("50", "moderate"), ("75", "high"), ("100", "severe"))
    ]
    for danger, acute, cssrs, phq2, gad2, cbi, count in itertools.product(
        (False, True),
        (False, True),
        (None, "none", "low", "moderate", "high"),
        sums,
        sums,
        cbis,
        (0, 2, 3),
    ):
        matched = level_rules(
            immediate_danger=danger,
            acute_now=acute,
            cssrs=cssrs,
            phq2=phq2,
            gad2=gad2,
            cbi=cbi,
            signal_count=count,
        )
        ranks = [LEVELS.index(level) for level, _ in matched]
        assert ranks == sorted(ranks, reverse=True)
