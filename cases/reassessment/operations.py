"""Recording a re-assessment: the answers checked by the case's script, scored by the
triage engine, compared to the case's first run, audited.

The questions are the script's own (the sections scored by `cssrs`, `phq2`, `gad2` and
`cbi_personal`), asked in the version the first run used. The answers go through
`triage.engine.evaluate` — the one validation and scoring of a triage — and what they say
goes through the existing chain: the case is raised as an attached triage would raise it
(`ops.escalate`, never lowered), an imminent answer alerts the on-duty supervisors
(`routing.notify_supervisors`), a safety yes plans the follow-up protocol when the case has
none (`followup.schedule`, once per case). The caller commits.
"""

import logging
from collections.abc import Mapping

from flask import g
from sqlalchemy import select

from cellule import audit
from cellule.extensions import db
from cellule.types import utcnow
from triage.calendar import get_calendar
from triage.engine import TriageValidationError, evaluate
from triage.loader import get_script
from triage.scoring import GAD2_ITEMS, PHQ2_ITEMS, cbi_personal, cssrs_category, sum_score

from .. import operations as ops
from .. import routing
from ..followup import operations as followup
from ..models import TriageRun
from ..operations import OperationError
from .models import COMPARED, OCCASIONS, Reassessment

log = logging.getLogger(__name__)

SCRIPT_ID = "cellule-triage"
# The scorers whose sections a re-assessment asks again (SPEC: safety, distress, burnout).
SCORERS = ("cssrs", "phq2", "gad2", "cbi_personal")


def first_run(case_id):
    """The case's first triage run (the one a re-assessment compares to), or None; read
    once per request (the page and the operation both ask; a first run stays the first)."""
    cache = g.setdefault("_first_runs", {})
    if cache.get(case_id) is None:
        cache[case_id] = db.session.scalar(
            select(TriageRun).where(TriageRun.case_id == case_id)
            .order_by(TriageRun.created_at, TriageRun.id).limit(1))
    return cache[case_id]


def script_for(run):
    """The script a re-assessment asks: the first run's version, else the newest."""
    if run is not None:
        return get_script(run.script_id, run.script_version)
    return get_script(SCRIPT_ID)


def sections(script):
    """The script's sections a re-assessment asks, in the script's order."""
    wanted = {script.section_for_scorer(name).id for name in SCORERS
              if script.section_for_scorer(name) is not None}
    return [section for section in script.sections if section.id in wanted]


def language_for(case, run, script):
    """The person's language if the script has it, else the first run's, else French."""
    for language in (case.person.language if case.person else None,
                     run.language if run else None, "fr"):
        if language in script.languages:
            return language
    return script.languages[0]


def scores_of(answers):
    """The four scores of some answers, by the triage's scoring functions (the shape of
    the engine's `scores`)."""
    cssrs = cssrs_category(answers)
    phq2, gad2, cbi = (sum_score(answers, PHQ2_ITEMS), sum_score(answers, GAD2_ITEMS),
                       cbi_personal(answers))
    return {"cssrs": {"category": cssrs},
            "phq2": phq2.to_dict() if phq2 else None,
            "gad2": gad2.to_dict() if gad2 else None,
            "cbi_personal": cbi.to_dict() if cbi else None}


def _value(scores, name):
    score = scores.get(name)
    if not score:
        return None
    return score["score"] if name == "cbi_personal" else score["total"]


def change_between(first, now):
    """{score: now - first} for PHQ-2, GAD-2 and CBI personal (None where one is missing);
    lower is better for each."""
    out = {}
    for name in COMPARED:
        before, after = _value(first, name), _value(now, name)
        out[name] = None if before is None or after is None else round(after - before, 1)
    if out["phq2"] is not None:
        out["phq2"], out["gad2"] = int(out["phq2"]), (None if out["gad2"] is None
                                                       else int(out["gad2"]))
    return out


def improved(change):
    """Improved: at least one score lower and none higher (None: nothing to compare)."""
    values = [v for v in change.values() if v is not None]
    if not values:
        return None
    return any(v < 0 for v in values) and not any(v > 0 for v in values)


def direction(delta):
    """How a score moved: "improved", "same", "worse" (None: not compared)."""
    if delta is None:
        return None
    return "improved" if delta < 0 else "worse" if delta > 0 else "same"


def check_answers(script, answers, language, immediate_danger=False, at=None):
    """The engine's evaluation of re-assessment answers; an OperationError names each
    answer refused (`answers.<item>`): unknown here, not asked, out of range, missing."""
    if not isinstance(answers, Mapping):
        raise OperationError("invalid answers", {"answers": "must be an object of answers"})
    asked = {item.id for section in sections(script) for item in section.items}
    errors = {f"answers.{key}": "not asked in a re-assessment"
              for key in answers if key not in asked}
    try:
        evaluation = evaluate(script, {k: v for k, v in answers.items() if k in asked},
                              immediate_danger=immediate_danger, language=language,
                              at=at or utcnow(), calendar=get_calendar(), complete=False)
    except TriageValidationError as error:
        errors.update(error.fields)
        raise OperationError("invalid answers", errors) from None
    for item in script.visible_items(evaluation.answers):
        if item.id in asked and item.required and item.id not in evaluation.answers:
            errors[f"answers.{item.id}"] = "required: this item is asked and must be answered"
    if errors:
        raise OperationError("invalid answers", errors)
    return evaluation


def _check_occasion(case, occasion, task):
    if not case.is_open:
        raise OperationError("closed case", {"case": "the case is closed"})
    if occasion not in OCCASIONS:
        raise OperationError("invalid occasion", {"occasion": "follow_up, closing or other"})
    if task is not None and (task.case_id != case.id or task.kind != "follow_up"):
        raise OperationError("invalid task", {"task_id": "a follow-up task of this case"})
    if occasion == "follow_up" and task is None:
        raise OperationError("task required", {"task_id": "the follow-up task it was taken at"})


def record_reassessment(case, answers, actor, *, occasion, task=None, immediate_danger=False,
                        at=None):
    """Record a re-assessment of an open case; return it (`alerted` set on it when the
    answers say imminent and the supervisors were alerted)."""
    _check_occasion(case, occasion, task)
    at = at or utcnow()
    run = first_run(case.id)
    script = script_for(run)
    language = language_for(case, run, script)
    evaluation = check_answers(script, answers, language, immediate_danger, at)
    scores = evaluation.to_dict()["scores"]
    first = scores_of(run.answers or {}) if run is not None else {}
    change = change_between(first, scores)
    safety_yes = evaluation.any_safety_yes or evaluation.immediate_danger
    row = Reassessment(case_id=case.id, first_run_id=run.id if run else None,
                       script_id=script.id, script_version=script.version, language=language,
                       occasion=occasion, task_id=task.id if task else None, route=case.route,
                       improved=improved(change), safety_yes=safety_yes,
                       created_by_id=actor.id, created_at=at)
    row.store(dict(evaluation.answers), {**scores, "level": evaluation.level}, first, change)
    db.session.add(row)
    db.session.flush()
    g.pop("_reassessments", None)
    ops.add_event(case, "reassessed", actor, reassessment_id=row.id, occasion=occasion)
    audit.record("create", "reassessment", row.id,
                 {"case_id": case.id, "occasion": occasion, "task_id": row.task_id}, user=actor)
    row.alerted = _raise_case(case, evaluation, actor, at)
    log.info("case %s re-assessed (%s): reassessment %s", case.id, occasion, row.id)
    return row


def _raise_case(case, evaluation, actor, at):
    """What the answers say, through the chain a triage attached to the case goes through:
    raise (never lower), plan the follow-up on a safety yes, alert when imminent."""
    changes = ops.escalate(case, level=evaluation.level, route=evaluation.route,
                           due_at=evaluation.due_at, actor=actor, source="reassessment")
    followup.schedule(case, actor, safety_yes=evaluation.any_safety_yes,
                      raised="level" in changes, at=at)
    if evaluation.level == "imminent":
        routing.notify_supervisors(case.id, actor=actor)
        return True
    return False


def reassessments_of(case_id):
    """The case's re-assessments, newest first (read once per request: the case page's
    card and timeline both ask)."""
    cache = g.setdefault("_reassessments", {})
    if case_id not in cache:
        cache[case_id] = list(db.session.scalars(
            select(Reassessment).where(Reassessment.case_id == case_id)
            .order_by(Reassessment.id.desc())))
    return cache[case_id]


def latest(case_id):
    """The case's newest re-assessment (None: none yet)."""
    rows = reassessments_of(case_id)
    return rows[0] if rows else None


def shown(case_id):
    """The newest re-assessment as the case page's card shows it, its read audited."""
    row = latest(case_id)
    if row is not None:
        audit.read("reassessment", row.id)
    return row
