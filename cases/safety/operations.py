"""Every change of a safety plan: saving a version, emailing it to the person.

Each writes its audit row in the caller's transaction. A save names the version the
writer read (0 for no plan yet): another save since then is a StalePlan (409).
"""

import logging

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from cellule import audit
from cellule.extensions import db
from cellule.mailer import send_mail

from ..operations import OperationError
from .models import (
    CONSENT_CHANNELS,
    LANGUAGES,
    MAX_ITEM,
    MAX_ITEMS,
    STEPS,
    SafetyPlan,
    SafetyPlanSend,
)

log = logging.getLogger(__name__)


class StalePlan(Exception):
    """The plan was saved by someone else since the writer read it."""

    def __init__(self, case_id, expected, current):
        super().__init__(f"safety plan of case {case_id} is at version {current}, "
                         f"not {expected}")
        self.case_id, self.expected, self.current = case_id, expected, current


def latest_plan(case_id):
    """The case's newest plan version, or None."""
    return db.session.scalar(select(SafetyPlan).where(SafetyPlan.case_id == case_id)
                             .order_by(SafetyPlan.version.desc()).limit(1))


def plan_versions(case_id):
    """Every version of the case's plan, newest first."""
    return list(db.session.scalars(select(SafetyPlan).where(SafetyPlan.case_id == case_id)
                                   .options(joinedload(SafetyPlan.written_by))
                                   .order_by(SafetyPlan.version.desc())))


def clean_steps(values):
    """{step: [lines]} without blank lines; an OperationError names a step too long."""
    steps, errors = {}, {}
    for step in STEPS:
        lines = [" ".join(str(line).split()) for line in (values.get(step) or [])]
        lines = [line for line in lines if line]
        if len(lines) > MAX_ITEMS:
            errors[step] = f"at most {MAX_ITEMS} lines"
        elif any(len(line) > MAX_ITEM for line in lines):
            errors[step] = f"at most {MAX_ITEM} characters a line"
        steps[step] = lines
    if errors:
        raise OperationError("invalid plan", errors)
    return steps


def save_plan(case, steps, language, actor, expected):
    """Save the plan as its next version unless nothing changed; return (plan, saved)."""
    if expected is None:
        raise OperationError("version required", {"version": "required"})
    if language not in LANGUAGES:
        raise OperationError("invalid plan", {"language": "fr, nl, de or en"})
    steps = clean_steps(steps)
    current = latest_plan(case.id)
    version = current.version if current else 0
    if int(expected) != version:
        raise StalePlan(case.id, expected, version)
    if current is not None and current.steps == steps and current.language == language:
        return current, False
    plan = SafetyPlan(case_id=case.id, version=version + 1, language=language,
                      written_by_id=actor.id)
    plan.steps = steps
    try:
        with db.session.begin_nested():
            db.session.add(plan)
    except IntegrityError:  # a save of the same version committed in between
        raise StalePlan(case.id, expected, version + 1) from None
    audit.record("update", "safety_plan", plan.id,
                 {"case_id": case.id, "version": plan.version}, user=actor)
    log.info("case %s: safety plan version %s saved", case.id, plan.version)
    return plan, True


def email_plan(plan, actor, consent_channel):
    """Email the plan's PDF to the person in the plan's language, recording their consent
    (who recorded it, when, oral or written); return the send."""
    person = plan.case.person
    errors = {}
    if consent_channel not in CONSENT_CHANNELS:
        errors["consent"] = "the person's consent (oral or written) is required"
    if person is None or not person.email:
        errors["email"] = "the person has no email address"
    if errors:
        raise OperationError("cannot send", errors)
    with force_locale(plan.language):
        subject = _("Your safety plan")
        body = _("Hello,\n\nAs agreed, here is the safety plan we wrote together, as a PDF. "
                 "Keep it where you can find it quickly.\n\nIf your life is in danger, "
                 "call 112.\n\nThe Cellule team")
    mail = send_mail(person.email, subject, body, person_id=person.id, case_id=plan.case_id,
                     created_by_id=actor.id, attachment=f"safety_plan:{plan.id}")
    send = SafetyPlanSend(plan_id=plan.id, consent_channel=consent_channel,
                          consent_by_id=actor.id, mail_id=mail.id)
    db.session.add(send)
    db.session.flush()
    audit.record("create", "safety_plan_send", send.id,
                 {"plan_id": plan.id, "mail_id": mail.id, "consent": consent_channel},
                 user=actor)
    log.info("safety plan %s emailed (mail %s)", plan.id, mail.id)
    return send
