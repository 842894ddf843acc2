"""`POST /api/v1/tasks/<id>/attempts` (DESIGN §10): log an attempt on a follow-up task."""

from flask import jsonify
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
from cellule.roles import CASEWORK

from .. import operations as ops
from ..access import get_task_or_404
from . import operations as followup
from .schemas import ATTEMPT, NEW_ATTEMPT

api_bp = api_blueprint("followup_api", __name__)
api_components(ATTEMPT)


@api_bp.post("/tasks/<int:id>/attempts")
@api_bp.operation("Log an attempt to reach the person on a follow-up task",
                  "`reached` or `refused` ends the task; the third attempt in a row without "
                  "`reached` gives each on-duty supervisor a task.")
@api_roles(*CASEWORK)
@idempotency.idempotent
@api_bp.body(NEW_ATTEMPT)
@api_bp.response(201, ATTEMPT, description="the attempt")
@api_bp.refusals(**{"401": "no valid token", "403": "the role may not do this",
                    "404": "no such follow-up task, or not visible to the caller",
                    "409": "the task is done or the follow-up has ended",
                    "422": "invalid input; `fields` names each problem"})
def log_attempt(id):
    """Log an attempt (reached, no_answer, voicemail, refused) with a note."""
    raw = json_body()
    task = get_task_or_404(id, need="done", forbidden=ApiError(403, "you may not log attempts"))
    if task.kind != "follow_up" or followup.protocol_of(task.case_id) is None:
        raise ApiError(404, "not found")
    data = load_body(NEW_ATTEMPT, raw)
    try:
        attempt = followup.log_attempt(task, data["outcome"], data.get("note"), current_user)
    except (ops.TaskNotOpen, followup.ProtocolEnded) as error:
        db.session.rollback()
        return jsonify({"error": error.message, "fields": error.fields}), 409
    except ops.OperationError as error:
        raise ApiError(422, error.message, error.fields) from None
    return idempotency.commit_answer(ATTEMPT.dump(_answer(task, attempt)), 201)


idempotent_operation("/tasks/{id}/attempts")


def _answer(task, attempt):
    protocol = followup.protocol_of(task.case_id)
    return {"id": attempt.id, "task_id": task.id, "outcome": attempt.outcome,
            "note": attempt.note, "created_at": attempt.created_at, "task_status": task.status,
            "failures_in_a_row": followup.failures_in_a_row(protocol),
            "supervisors_alerted": protocol.alerted_at is not None}
