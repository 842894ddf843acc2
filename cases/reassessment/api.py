"""`POST /api/v1/cases/<id>/reassessments` (DESIGN §10): record a re-assessment of a case
(the case's team: advisors, psychologists, supervisors who see the case)."""

from flask_login import current_user

from cellule import idempotency
from cellule.api import (
    ApiError,
    api_blueprint,
    api_components,
    api_roles,
    idempotent_operation,
    json_body,
    load_body,
)
from cellule.extensions import db
from cellule.roles import STAFF

from ..access import get_case_or_404
from ..models import Task
from ..operations import OperationError
from .operations import record_reassessment
from .schemas import NEW_REASSESSMENT, REASSESSMENT, reassessment_answer

api_bp = api_blueprint("reassessment_api", __name__)
api_components(REASSESSMENT)


@api_bp.post("/cases/<int:id>/reassessments")
@api_bp.operation("Re-assess a case: the safety screen, PHQ-2, GAD-2 and CBI personal again",
                  "The answers are checked and scored like a triage's, in the script version "
                  "of the case's first run; `change` is the difference to that run. What the "
                  "answers say raises the case (never lowers it); an imminent answer alerts "
                  "the on-duty supervisors.")
@api_roles(*STAFF)
@idempotency.idempotent
@api_bp.body(NEW_REASSESSMENT)
@api_bp.response(201, REASSESSMENT, description="the re-assessment")
@api_bp.refusals(**{"401": "no valid token", "403": "the role may not do this",
                    "404": "no such case, or not visible to the caller",
                    "422": "invalid input; `fields` names each problem (`answers.<item>`)"})
def create(id):
    """Record a re-assessment and answer its scores and change."""
    raw = json_body()
    case = get_case_or_404(id, need="safety_plan", read=False,
                           forbidden=ApiError(403, "your role may not re-assess cases"))
    data = load_body(NEW_REASSESSMENT, raw)
    task = _task_named(data.get("task_id"))
    try:
        row = record_reassessment(case, data["answers"], current_user,
                                  occasion=data.get("occasion") or "other", task=task,
                                  immediate_danger=data["immediate_danger"])
    except OperationError as error:
        raise ApiError(422, "invalid re-assessment", error.fields) from None
    return idempotency.commit_answer(
        REASSESSMENT.dump(reassessment_answer(row, row.alerted)), 201)


def _task_named(task_id):
    """The task `task_id` names (None: none named); a missing one is a 422 naming it."""
    task = db.session.get(Task, task_id) if task_id else None
    if task_id is not None and task is None:
        raise ApiError(422, "invalid re-assessment", {"task_id": "a follow-up task of this case"})
    return task


idempotent_operation("/cases/{id}/reassessments")
