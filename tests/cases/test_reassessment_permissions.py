"""The re-assessment's rows of the permission matrix (DESIGN §1, issue 19): role × ownership
× route, on the page and the API — the case's team, like the safety plan. Written out
here independently of `cases.access`."""

import itertools

import pytest
from sqlalchemy import func, select

from cellule.extensions import db
from triage.examples import CBI_ZERO, DISTRESS_ZERO, SAFETY_NO

STAFF = ("advisor", "psychologist", "supervisor")
ROLES = ("ambassador", "advisor", "psychologist", "supervisor", "admin")
ANSWERS = {**SAFETY_NO, **DISTRESS_ZERO, **CBI_ZERO}


def visible(role, own, route):
    if role in ("advisor", "supervisor"):
        return True
    if role == "ambassador":
        return own
    if role == "psychologist":
        return route == "psychologist" or own
    return False


def expected(role, own, route, action):
    if role not in STAFF:
        return 403  # the role may never re-assess: refused before the case is loaded
    if not visible(role, own, route):
        return 404
    return {"page": 200, "record": 303, "api": 201}[action]


MATRIX = list(itertools.product(ROLES, (True, False), ("psychologist", "coaching"),
                                ("page", "record", "api")))


@pytest.mark.parametrize("role,own,route,action", MATRIX)
def test_reassessment_matrix(app, client, make_user, make_contact, triage, role, own, route,
                             action):
    from cases.reassessment.models import Reassessment
    from cellule.models import ApiToken

    actor = make_user(role)
    opener = actor if (own and role == "ambassador") else make_user("advisor")
    _run, case = triage("serious" if route == "psychologist" else "at_risk", user=opener,
                        contact=make_contact(opener))
    if own and role in STAFF:
        case.assignee_id = actor.id
        db.session.commit()
    if action == "api":
        row, token = ApiToken.issue(actor)
        db.session.add(row)
        db.session.commit()
        response = client.post(f"/api/v1/cases/{case.id}/reassessments",
                               json={"answers": ANSWERS},
                               headers={"Authorization": f"Bearer {token}"})
    else:
        client.sign_in(actor)
        if action == "page":
            response = client.get(f"/cases/{case.id}/reassessment")
        else:
            response = client.post_form(f"/cases/{case.id}/reassessments",
                                        {k: str(v) for k, v in ANSWERS.items()})
    status = expected(role, own, route, action)
    assert response.status_code == status, (role, own, route, action)
    made = db.session.scalar(select(func.count()).select_from(Reassessment))
    assert made == (1 if status in (201, 303) else 0)
