"""`GET|POST /api/v1/persons/{id}/consents` (DESIGN §10's contract): a person's consents
per purpose, and a new answer (the cell's professionals; audited on the person)."""

from flask.views import MethodView
from flask_login import current_user

from cellule import audit, idempotency
from cellule.api import ApiError, api_blueprint, api_roles, idempotent_operation
from cellule.extensions import db

from ..access import get_person_or_404
from .operations import ConsentError, consents_of, history_of, record_consent
from .schemas import CONSENT, CONSENTS, NEW_CONSENT, consents_answer
from .views import CONSENT_ROLES

api_bp = api_blueprint("consent_api", __name__)
_REFUSALS = {"401": "no valid token", "403": "the role may not see consents",
             "404": "no such person, or not visible to the caller"}


@api_bp.route("/persons/<int:id>/consents")
class ConsentsView(MethodView):
    """One rule for both methods: a huge id is then a 404 for either (IdConverter)."""

    @api_bp.operation("A person's consents per purpose",
                      "Each purpose's state (`granted` only for a yes not withdrawn; a "
                      "purpose never asked is not consented), then every answer.")
    @api_roles(*CONSENT_ROLES)
    @api_bp.response(200, CONSENTS, description="the consents")
    @api_bp.refusals(**_REFUSALS)
    def get(self, id):
        """Return each purpose's state and the history of the person's answers."""
        person = get_person_or_404(id, audit_read=False)
        audit.read("person", person.id, {"consents": True})
        history = history_of(person.id)
        return consents_answer(person.id, history, consents_of(person.id, history))

    @api_bp.operation("Record a person's answer for one purpose",
                      "`granted: false` while a yes stands withdraws that yes (the answer "
                      "is then the withdrawn consent).")
    @api_roles(*CONSENT_ROLES)
    @idempotency.idempotent
    @api_bp.arguments(NEW_CONSENT)
    @api_bp.response(201, CONSENT, description="the consent recorded (or withdrawn)")
    @api_bp.refusals(**_REFUSALS, **{"422": "invalid input; `fields` names each problem"})
    def post(self, data, id):
        """Record the answer, on the text version shown, by the channel it came."""
        person = get_person_or_404(id, audit_read=False)
        try:
            row = record_consent(person, data["purpose"], granted=data["granted"],
                                 channel=data["channel"], text_version=data["text_version"],
                                 actor=current_user)
        except ConsentError as error:
            db.session.rollback()
            raise ApiError(422, error.message, error.fields) from None
        return idempotency.commit_answer(CONSENT.dump(row), 201)


idempotent_operation("/persons/{id}/consents")
