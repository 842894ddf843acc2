"""Complete answer sets of the cellule-triage v1 script whose proposal is each level.

Known-good inputs for the tests, the benchmark and anyone trying the API by hand
(`tests/cases/test_routing.py` checks that each one still proposes its level).
"""

SAFETY_NO = {"cssrs_1_wish_dead": "no", "cssrs_2_thoughts": "no", "cssrs_6_behaviour": "no"}
DISTRESS_ZERO = {"phq_1_interest": 0, "phq_2_down": 0, "gad_1_nervous": 0, "gad_2_worry": 0}
CBI_ZERO = {f"cbi_{i}": 0 for i in ("1_tired", "2_physical", "3_emotional", "4_cant_take",
                                     "5_worn_out", "6_weak_ill")}
CONTEXT_NO = {"hours_per_week": 40, **{k: "no" for k in (
    "sleep_problems", "isolation", "financial_worries", "admin_overload", "client_pressure",
    "health_problem", "life_event", "contribution_arrears", "exemption_request",
    "bridging_right_request", "incapacity")}}
BUFFERS = {"support_person": "yes", "future_plans": "yes"}


def answers_for(level):
    """A complete answer set whose proposal is `level`."""
    answers = {**SAFETY_NO, **DISTRESS_ZERO, **CBI_ZERO, **CONTEXT_NO, **BUFFERS}
    if level == "at_risk":
        answers.update(sleep_problems="yes", isolation="yes", financial_worries="yes")
    elif level == "elevated":
        answers.update(phq_1_interest=2, phq_2_down=1)
    elif level == "serious":
        answers.update(cssrs_1_wish_dead="yes", acute_now="no")
    elif level == "high":
        answers.update(cssrs_2_thoughts="yes", cssrs_3_method="no", cssrs_4_intent="yes",
                       cssrs_5_plan="no", acute_now="no")
    elif level == "imminent":
        answers.update(cssrs_1_wish_dead="yes", acute_now="yes")
    return answers


LEVEL_ANSWERS = {level: answers_for(level) for level in
                 ("low", "at_risk", "elevated", "serious", "high", "imminent")}
