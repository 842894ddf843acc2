"""POST /api/v1/triage/evaluate: validate and score a run, store nothing (DESIGN §7).

The body and the answer are described by `triage.schemas`.
"""

from cellule.api import ApiError, api_blueprint, api_roles
from cellule.roles import CASEWORK
from cellule.types import utcnow

from . import crisis
from .calendar import get_calendar
from .engine import TriageValidationError, evaluate
from .schemas import EVALUATE, EVALUATION

bp = api_blueprint("triage_api", __name__)


def run_evaluation(script, kwargs, complete=True):
    """Evaluate, turning the engine's validation errors into a 422."""
    try:
        return evaluate(script, calendar=get_calendar(), complete=complete, **kwargs)
    except TriageValidationError as error:
        raise ApiError(422, "invalid triage input", error.fields) from None


def evaluation_arguments(data, default_language="fr"):
    """The keyword arguments of `evaluate` from a body loaded by a `ScriptSchema`."""
    return {
        "answers": data["answers"],
        "immediate_danger": data["immediate_danger"],
        "notes": data.get("notes"),
        "language": data.get("language", default_language),
        "at": data.get("evaluated_at") or utcnow(),
    }


@bp.post("/triage/evaluate")
@bp.operation("Score a triage run and propose level, route and deadline (stores nothing)")
@api_roles(*CASEWORK)
@bp.arguments(EVALUATE)
@bp.response(200, EVALUATION, description="the evaluation")
@bp.refusals(**{"400": "the body is not a JSON object", "401": "no valid token",
                "403": "the role may not run triage",
                "422": "invalid input; `fields` names each problem"})
def evaluate_api(data):
    """Score a triage run and propose level, route and deadline; store nothing."""
    return crisis.answer(run_evaluation(data["script"], evaluation_arguments(data)),
                         data["script"])
