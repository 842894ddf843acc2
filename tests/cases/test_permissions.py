"""The permission matrix: role × ownership × route × every case action and field.

Expected results come from DESIGN §1, written out here independently of
`cases.access` so that a change of rules there fails here. Each row is one
real request through the UI or the API, permitted or denied, with its status.
"""

import itertools

import pytest
from sqlalchemy import func, select

from cellule.extensions import db

STAFF = ("advisor", "psychologist", "supervisor")
ROLES = ("ambassador", "advisor", "psychologist", "supervisor", "admin")
OWNERSHIP = ("own", "other")
ROUTES = ("psychologist", "coaching")

# action → (method, url template, form, permitted status, roles the endpoint admits at all)
ACTIONS = {
    "view": ("GET", "/cases/{id}", None, 200, None),
    "api_view": ("GET", "/api/v1/cases/{id}", None, 200, ("ambassador", *STAFF)),
    "claim": ("POST", "/cases/{id}/claim", {}, 302, ("psychologist", "advisor")),
    "reassign": ("POST", "/cases/{id}/reassign", {"assignee_id": "{worker}", "version": "{v}"},
                 302, ("supervisor",)),
    "raise_level": ("POST", "/cases/{id}/level", {"level": "imminent", "version": "{v}"}, 302,
                    STAFF),
    "set_status": ("POST", "/cases/{id}/status", {"status": "waiting", "version": "{v}"}, 302,
                   STAFF),
    "close": ("POST", "/cases/{id}/close", {"outcome": "resolved", "version": "{v}"}, 302,
              STAFF),
    "api_close": ("POST", "/api/v1/cases/{id}/close", {"outcome": "resolved", "version": "{v}"},
                  200, STAFF),
    "record_response": ("POST", "/cases/{id}/response", {}, 302, STAFF),
    "add_team_note": ("POST", "/cases/{id}/notes", {"body": "Note", "visibility": "team"}, 302,
                      STAFF),
    "add_clinical_note": ("POST", "/cases/{id}/notes",
                          {"body": "Clinique", "visibility": "clinical"}, 302, STAFF),
    "api_clinical_note": ("POST", "/api/v1/cases/{id}/notes",
                          {"body": "Clinique", "visibility": "clinical"}, 201, STAFF),
    "add_referral": ("POST", "/cases/{id}/referrals", {"resource_id": "{resource}"}, 302, STAFF),
    "add_task": ("POST", "/cases/{id}/tasks", {"title": "Rappeler", "kind": "callback"}, 302,
                 STAFF),
    "link_contact": ("POST", "/cases/{id}/contacts", {"contact_id": "{contact}"}, 302, STAFF),
}
# Fields of the case page and the API answer: who sees what.
FIELDS = ("team_note_body", "clinical_note_body", "clinical_note_exists")


def visible(role, own, route):
    if role in ("advisor", "supervisor"):
        return True
    if role == "ambassador":
        return own  # only the cases they opened
    if role == "psychologist":
        return route == "psychologist" or own  # routed to psychology, or assigned to them
    return False  # admin: no case content


def permitted(role, own, route, action):
    """The expected rule of DESIGN §1 for one action."""
    if action in ("view", "api_view"):
        return visible(role, own, route)
    if not visible(role, own, route):
        return False
    if action == "claim":  # unassigned cases only ("other"); psychologists: psychology queue
        return not own and ((role == "psychologist" and route == "psychologist")
                            or (role == "advisor" and route == "coaching"))
    if action == "reassign":
        return role == "supervisor"
    if action == "set_status":
        return role == "supervisor" or (role in STAFF and own)
    if action in ("close", "api_close"):
        return role in ("supervisor", "psychologist") or (role == "advisor" and
                                                           route == "coaching")
    if action in ("add_clinical_note", "api_clinical_note"):
        return role == "psychologist"
    return role in STAFF


def expected_status(role, own, route, action):
    _method, _url, _form, ok, admitted = ACTIONS[action]
    if admitted is not None and role not in admitted:
        return 403  # the role may never do this: the endpoint refuses before loading
    if permitted(role, own, route, action):
        return ok
    if action == "claim" and visible(role, own, route) and own and (
            (role, route) in (("psychologist", "psychologist"), ("advisor", "coaching"))):
        return 409  # already taken (by them): the claimer is told who has it
    if not visible(role, own, route):
        return 404  # existence does not leak
    return 403


def field_visible(role, own, route, field):
    if not visible(role, own, route):
        return None  # the page is a 404
    if field == "team_note_body":
        return True
    if field == "clinical_note_body":
        return role == "psychologist"
    return role in ("psychologist", "supervisor")  # supervisors see that it exists


MATRIX = [(role, own, route, action) for role, own, route, action in
          itertools.product(ROLES, OWNERSHIP, ROUTES, ACTIONS)]
FIELD_MATRIX = [(role, own, route, field) for role, own, route, field in
                itertools.product(ROLES, OWNERSHIP, ROUTES, FIELDS)]


def test_matrix_size(record_property):
    size = len(MATRIX) + len(FIELD_MATRIX) * 2  # fields are checked in the page and the API
    record_property("permission_matrix_size", size)
    print(f"\npermission matrix: {len(MATRIX)} action cells + {len(FIELD_MATRIX)} field cells"
          f" × 2 views = {size} checks")
    assert size == 5 * 2 * 2 * (len(ACTIONS) + 2 * len(FIELDS))


@pytest.fixture
def scenario(request, app, make_user, make_contact, triage, client, database_snapshot):
    """Build the case for (role, ownership, route) and sign the actor in.

    The 20 scenarios each serve 18 tests: each is built once, and its rows and the client's
    session cookie are put back for the next test of the same scenario."""
    from cases import operations as ops
    from cases.models import Case, Resource
    from cellule.models import ApiToken, User
    from contacts.models import Contact

    cookie = app.config["SESSION_COOKIE_NAME"]

    def make(role, own, route):
        resources = request.getfixturevalue("resources")  # only where the scenario is built
        actor = make_user(role)
        opener = actor if (own and role == "ambassador") else make_user("advisor")
        level = "serious" if route == "psychologist" else "at_risk"
        contact = make_contact(opener)
        _run, case = triage(level, user=opener, contact=contact)
        if own and role in STAFF:
            case.assignee_id = actor.id
            db.session.commit()
        extra = make_contact(opener, person=contact.person)
        psychologist = make_user("psychologist")
        ops.add_note(case, "Corps de la note d'équipe", "team", opener)
        ops.add_note(case, "Corps de la note clinique", "clinical", psychologist)
        db.session.commit()
        client.sign_in(actor)
        row, token = ApiToken.issue(actor)
        db.session.add(row)
        db.session.commit()
        return {"case": case.id, "actor": actor.id, "worker": make_user("advisor").id,
                "contact": extra.id, "resource": resources["Fiches « Gérer son stress »"].id,
                "token": token, "cookie": client.get_cookie(cookie).value}

    def build(role, own, route):
        ids = database_snapshot(("test_permissions", role, own, route),
                                lambda: make(role, own, route))
        client.set_cookie(cookie, ids["cookie"])
        get = db.session.get
        return {"case": get(Case, ids["case"]), "actor": get(User, ids["actor"]),
                "worker": get(User, ids["worker"]), "contact": get(Contact, ids["contact"]),
                "resource": get(Resource, ids["resource"]), "token": ids["token"]}

    return build


def _request(client, scenario, action):
    method, url, form, _ok, _roles = ACTIONS[action]
    case = scenario["case"]
    db.session.refresh(case)
    values = {"id": case.id, "v": case.version, "worker": scenario["worker"].id,
              "resource": scenario["resource"].id, "contact": scenario["contact"].id}
    url = url.format(**values)
    if action.startswith("api_"):
        headers = {"Authorization": f"Bearer {scenario['token']}"}
        body = {k: (int(v.format(**values)) if v.startswith("{") else v)
                for k, v in (form or {}).items()}
        if method == "GET":
            return client.get(url, headers=headers)
        return client.post(url, json=body, headers=headers)
    if method == "GET":
        return client.get(url)
    return client.post_form(url, {k: v.format(**values) for k, v in form.items()})


@pytest.mark.parametrize("role,own,route,action", MATRIX)
def test_action(client, scenario, role, own, route, action):
    from cases.models import CaseEvent

    built = scenario(role, own == "own", route)
    before = db.session.scalar(select(func.max(CaseEvent.id)).where(
        CaseEvent.case_id == built["case"].id))
    response = _request(client, built, action)
    expected = expected_status(role, own == "own", route, action)
    assert response.status_code == expected, (role, own, route, action,
                                               response.get_data(as_text=True)[:300])
    new = db.session.scalars(select(CaseEvent.kind).where(
        CaseEvent.case_id == built["case"].id, CaseEvent.id > before)).all()
    if expected >= 400:
        assert new == []  # a refused action leaves no trace on the case
    elif action not in ("view", "api_view"):
        assert new, "a permitted change writes the timeline"


@pytest.mark.parametrize("role,own,route,field", FIELD_MATRIX)
def test_field(client, scenario, role, own, route, field):
    built = scenario(role, own == "own", route)
    case = built["case"]
    page = client.get(f"/cases/{case.id}")
    api = client.get(f"/api/v1/cases/{case.id}",
                     headers={"Authorization": f"Bearer {built['token']}"})
    expected = field_visible(role, own == "own", route, field)
    if expected is None:
        assert page.status_code == 404
        assert api.status_code == (403 if role == "admin" else 404)
        return
    assert page.status_code == 200 and api.status_code == 200
    html = page.get_data(as_text=True)
    notes = api.get_json()["notes"]
    if field == "team_note_body":
        assert ("Corps de la note d&#39;équipe" in html) is expected
        assert any(n.get("body") == "Corps de la note d'équipe" for n in notes) is expected
    elif field == "clinical_note_body":
        assert ("Corps de la note clinique" in html) is expected
        assert any(n.get("body") == "Corps de la note clinique" for n in notes) is expected
    else:
        assert ("note-clinical" in html) is expected
        assert any(n["visibility"] == "clinical" for n in notes) is expected
