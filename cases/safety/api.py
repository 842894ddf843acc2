"""`GET|PUT /api/v1/cases/{id}/safety-plan`: the case's newest safety plan, and a new
version of it (the case's team: advisors, psychologists, supervisors who see the case)."""

from flask.views import MethodView
from flask_login import current_user

from cellule import audit
from cellule.api import ApiError, api_blueprint, api_roles
from cellule.extensions import db
from cellule.roles import STAFF

from ..access import get_case_or_404
from ..operations import OperationError
from .operations import StalePlan, latest_plan, save_plan
from .schemas import SAFETY_PLAN, SAFETY_PLAN_BODY, plan_answer

api_bp = api_blueprint("safety_api", __name__)
_REFUSALS = {"401": "no valid token", "403": "the role may not do this",
             "404": "no such case, not visible to the caller, or no plan yet"}


def _case(case_id):
    return get_case_or_404(case_id, need="safety_plan", read=False,
                           forbidden=ApiError(403, "your role may not see safety plans"))


@api_bp.route("/cases/<int:id>/safety-plan")
class SafetyPlanView(MethodView):
    """One rule for both methods: a huge id is then a 404 for either (IdConverter)."""

    @api_bp.operation("The case's newest safety plan")
    @api_roles(*STAFF)
    @api_bp.response(200, SAFETY_PLAN, description="the plan")
    @api_bp.refusals(**_REFUSALS)
    def get(self, id):
        """Return the newest version of the case's safety plan (404 before the first)."""
        case = _case(id)
        plan = latest_plan(case.id)
        if plan is None:
            raise ApiError(404, "no safety plan yet")
        audit.read("safety_plan", plan.id)
        return plan_answer(plan)

    @api_bp.operation("Write or review the case's safety plan",
                      "A changed plan becomes the next version; the same plan again changes "
                      "nothing. With `version` (the one read), a save made meanwhile is a 409.")
    @api_roles(*STAFF)
    @api_bp.arguments(SAFETY_PLAN_BODY)
    @api_bp.response(200, SAFETY_PLAN, description="the plan as saved")
    @api_bp.refusals(**_REFUSALS, **{"409": "another version was saved since `version`",
                                     "422": "invalid input; `fields` names each problem"})
    def put(self, data, id):
        """Save the plan as its next version unless nothing changed."""
        case = _case(id)
        current = latest_plan(case.id)
        expected = data.pop("version", current.version if current else 0)
        language = data.pop("language")
        try:
            plan = save_plan(case, data, language, current_user, expected)[0]
        except OperationError as error:
            raise ApiError(422, "invalid plan", error.fields) from None
        except StalePlan as stale:
            raise ApiError(409, "another version of the plan was saved meanwhile",
                           {"version": f"the current version is {stale.current}"}) from None
        answer = plan_answer(plan)  # plain values, read before the commit expires the row
        db.session.commit()
        return answer
