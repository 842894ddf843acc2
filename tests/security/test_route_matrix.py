"""The permission matrix over every HTML route (ASVS V8): each role, each route, the expected
status — with ids that do not exist, so that what is tested is the guard, not the data.

The table below is the specification. A route missing from it fails the test until it is
classified: add its line (the failure message prints what the route answers now; check it
against DESIGN §1 before copying it). Objects a user may not see are 404, role-restricted
pages 403, anonymous users are sent to the sign-in page (302).

Columns: anonymous, ambassador, advisor, psychologist, supervisor, admin.
"""

import json
import os

import pytest

from tests.security.routes import (
    ALL,
    INLINE_SCRIPT,
    ROLES,
    build_path,
    html_rules,
    methods_of,
)


def row(anonymous=302, ambassador=None, advisor=None, psychologist=None, supervisor=None,
        admin=None, default=200):
    """Expected statuses per column; `default` for the signed-in roles not named."""
    values = {"ambassador": ambassador, "advisor": advisor, "psychologist": psychologist,
              "supervisor": supervisor, "admin": admin}
    return (anonymous, *(default if values[r] is None else values[r] for r in ROLES))


CASEWORK_ONLY = {"admin": 403}  # admins never see case content

# "METHOD rule": (anonymous, ambassador, advisor, psychologist, supervisor, admin)
EXPECTED = {
    # --- core: sign-in, account, home, audit, users -------------------------------
    "GET /login": row(200, default=302),
    "POST /login": row(422, default=302),
    "GET /login/code": row(302, default=302),
    "POST /login/code": row(302, default=302),
    "GET /login/enrol": row(302, default=302),
    "POST /login/enrol": row(302, default=302),
    "POST /language": row(302, default=302),
    "POST /logout": row(302, default=302),
    "GET /": row(),
    "GET /audit": row(default=403, supervisor=200),
    "GET /jobs/failed": row(default=403, supervisor=200, admin=200),
    "POST /jobs/failed/<int:row_id>/retry": row(default=403, supervisor=404, admin=404),
    "GET /account/": row(),
    "GET /account/confirm": row(),
    "POST /account/confirm": row(default=422),
    "GET /account/password": row(),
    "POST /account/password": row(default=422),
    "GET /account/totp": row(),
    "POST /account/totp": row(default=422),
    "POST /account/totp/disable": row(default=302, psychologist=403, supervisor=403, admin=403),
    "POST /account/recovery-codes": row(default=302, psychologist=200, supervisor=200,
                                       admin=200),
    "POST /account/sessions/<int:session_id>/end": row(default=404),
    "POST /account/sessions/end-others": row(default=302),
    # API tokens (issue 14): any role makes its own; an empty form is a 422.
    "POST /account/tokens": row(default=422),
    "POST /account/tokens/<int:token_id>/revoke": row(default=404),
    "GET /admin/users/": row(default=403, admin=200),
    "GET /admin/users/new": row(default=403, admin=200),
    "POST /admin/users/new": row(default=403, admin=422),
    "POST /admin/users/<int:user_id>/role": row(default=403, admin=404),
    "POST /admin/users/<int:user_id>/deactivate": row(default=403, admin=404),
    "POST /admin/users/<int:user_id>/activate": row(default=403, admin=404),
    "POST /admin/users/<int:user_id>/reset-password": row(default=403, admin=404),
    "POST /admin/users/<int:user_id>/reset-totp": row(default=403, admin=404),
    # Set-up links and approvals of account changes (issue 14): the link's page is public
    # and answers 404 without a known token; supervisors decide, admins withdraw.
    "GET /account/setup": row(404, default=404),
    "POST /account/setup": row(404, default=404),
    "GET /approvals/": row(default=403, supervisor=200),
    "POST /approvals/<int:approval_id>/approve": row(default=403, supervisor=404),
    "POST /approvals/<int:approval_id>/refuse": row(default=403, supervisor=404),
    "POST /admin/users/approvals/<int:approval_id>/withdraw": row(default=403, admin=404),
    "GET /admin/users/<int:user_id>/tokens": row(default=403, admin=404),
    "POST /admin/users/<int:user_id>/tokens/<int:token_id>/revoke": row(default=403, admin=404),
    # Mail quarantine (issue 12): admins only, metadata only (contacts/quarantine.py).
    "GET /admin/mail-quarantine/": row(default=403, admin=200),
    "POST /admin/mail-quarantine/<int:row_id>/retry": row(default=403, admin=404),
    "GET /admin/mail-quarantine/<int:row_id>/discard": row(default=403, admin=404),
    "POST /admin/mail-quarantine/<int:row_id>/discard": row(default=403, admin=404),
    # Reply templates and the out-of-hours answer (issue 15): admins only.
    "GET /admin/reply-templates/": row(default=403, admin=200),
    "GET /admin/reply-templates/new": row(default=403, admin=200),
    "POST /admin/reply-templates/new": row(default=403, admin=422),
    "GET /admin/reply-templates/<int:template_id>": row(default=403, admin=404),
    "POST /admin/reply-templates/<int:template_id>": row(default=403, admin=404),
    "POST /admin/reply-templates/<int:template_id>/deactivate": row(default=403, admin=404),
    "POST /admin/reply-templates/<int:template_id>/activate": row(default=403, admin=404),
    "POST /admin/reply-templates/defaults": row(default=403, admin=303),
    # --- contacts: people, contacts, inbox, referrals (DESIGN §1: admins see no case content)
    "GET /people": row(admin=403),
    "GET /people/new": row(admin=403),
    "POST /people/new": row(admin=403, default=422),
    "POST /people/search": row(admin=403, default=303),
    "GET /people/<int:person_id>": row(admin=403, default=404),
    "GET /people/<int:person_id>/edit": row(admin=403, default=404),
    "POST /people/<int:person_id>/edit": row(admin=403, default=404),
    # Possible duplicates (issue 14): the advisors' review, merge roles only.
    "GET /people/duplicates": row(advisor=200, supervisor=200, default=403),
    "POST /people/duplicates/<int:person_id>/keep-apart": row(advisor=404, supervisor=404,
                                                              default=403),
    "GET /people/<int:person_id>/merge": row(advisor=404, supervisor=404, default=403),
    "POST /people/<int:person_id>/merge": row(advisor=404, supervisor=404, default=403),
    "GET /contacts/new": row(admin=403),
    "POST /contacts/new": row(admin=403, default=422),
    "GET /contacts/<int:contact_id>": row(admin=403, default=404),
    # The original of an email contact (issue 15): same access as the contact.
    "GET /contacts/<int:contact_id>/original": row(admin=403, default=404),
    "POST /contacts/<int:contact_id>/handled": row(advisor=404, supervisor=404, default=403),
    # Email from Cellule (issue 15): advisors, psychologists and supervisors write.
    "GET /contacts/<int:contact_id>/reply": row(ambassador=403, admin=403, default=404),
    "POST /contacts/<int:contact_id>/reply": row(ambassador=403, admin=403, default=404),
    "GET /people/<int:person_id>/email": row(ambassador=403, admin=403, default=404),
    "POST /people/<int:person_id>/email": row(ambassador=403, admin=403, default=404),
    # consent20: consents per purpose (issue 20), the cell's professionals only.
    "GET /people/<int:person_id>/consents": row(ambassador=403, admin=403, default=404),
    "POST /people/<int:person_id>/consents/<purpose>": row(ambassador=403, admin=403,
                                                            default=404),
    "POST /people/<int:person_id>/consents/<purpose>/withdraw": row(ambassador=403, admin=403,
                                                                     default=404),
    "GET /inbox": row(advisor=200, supervisor=200, default=403),
    "GET /referrals": row(ambassador=200, default=403),  # my referrals (issue 18)
    "GET /referrals/new": row(admin=403),
    "POST /referrals/new": row(admin=403, default=422),
    # --- triage screens
    "GET /contacts/<int:contact_id>/triage": row(admin=403, default=404),
    "POST /contacts/<int:contact_id>/triage": row(admin=403, default=404),
    "POST /contacts/<int:contact_id>/triage/live": row(admin=403, default=404),
    "GET /triage/runs/<int:run_id>": row(default=404),
    "POST /triage/runs/<int:run_id>/decide": row(admin=403, default=404),
    "POST /triage/runs/<int:run_id>/sections/<section_id>": row(admin=403, default=404),
    "POST /triage/runs/<int:run_id>/signoff": row(psychologist=404, supervisor=404, default=403),
    # --- cases, queues, tasks, resources
    "GET /cases/<int:case_id>": row(default=404),
    "POST /cases/<int:case_id>/claim": row(advisor=404, psychologist=404, default=403),
    "GET /cases/<int:case_id>/close": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/close": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/contacts": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/level": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/notes": row(ambassador=403, admin=403, default=404),
    "GET /cases/<int:case_id>/person": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/person": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/person/search": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/reassess": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/reassign": row(supervisor=404, default=403),
    "POST /cases/<int:case_id>/referrals": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/response": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/status": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/tasks": row(ambassador=403, admin=403, default=404),
    # safety19: the safety plan (issue 19), the case's team only.
    "GET /cases/<int:case_id>/safety-plan": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/safety-plan": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/safety-plan/email": row(ambassador=403, admin=403, default=404),
    "GET /cases/<int:case_id>/safety-plan/pdf": row(ambassador=403, admin=403, default=404),
    "GET /cases/<int:case_id>/safety-plan/print": row(ambassador=403, admin=403, default=404),
    # the caring messages (cases.caring): the case's team, like the safety plan
    "POST /cases/<int:case_id>/caring": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/caring/stop": row(ambassador=403, admin=403, default=404),
    # a referral's life (cases.referrals): steps and pack by the case's team; the list per
    # partner for advisors and supervisors
    "POST /referrals/<int:referral_id>/steps": row(ambassador=403, admin=403, default=404),
    "GET /referrals/<int:referral_id>/pack": row(ambassador=403, admin=403, default=404),
    "GET /referrals/partners": row(advisor=200, supervisor=200, default=403),
    # the psychologists' appointments (cases.appointments): slots are the psychologist's
    # own; booking and cancelling, the case's team; the outcome, the psychologist
    "GET /availability": row(default=403, psychologist=200),
    "POST /availability/weekly": row(default=403, psychologist=422),
    "POST /availability/slot": row(default=403, psychologist=422),
    "POST /availability/<int:slot_id>/remove": row(default=403, psychologist=404),
    "GET /cases/<int:case_id>/appointments/new": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/appointments": row(ambassador=403, admin=403, default=404),
    "POST /appointments/<int:appointment_id>/cancel": row(ambassador=403, admin=403,
                                                          default=404),
    "POST /appointments/<int:appointment_id>/outcome": row(default=403, psychologist=404),
    "GET /cases/<int:case_id>/safety-plan/versions/<int:version>": row(
        ambassador=403, admin=403, default=404),
    # reassess19: the re-assessment (issue 19), the case's team only, like the safety plan.
    "GET /cases/<int:case_id>/reassessment": row(ambassador=403, admin=403, default=404),
    "POST /cases/<int:case_id>/reassessments": row(ambassador=403, admin=403, default=404),
    "GET /board": row(supervisor=200, default=403),
    "POST /board/reassign": row(supervisor=422, default=403),  # nothing ticked: 422
    "GET /my/cases": row(admin=403),
    "GET /my/tasks": row(admin=403),
    "GET /alerts/live": row(default=403, supervisor=204),  # nothing new to show: 204
    "GET /queues/advisors": row(advisor=200, supervisor=200, default=403),
    "GET /queues/psychology": row(psychologist=200, supervisor=200, default=403),
    "POST /tasks/<int:task_id>/<any(done, cancel):action>": row(admin=403, default=404),
    "POST /tasks/<int:task_id>/reassign": row(advisor=404, supervisor=404, default=403),
    # the follow-up protocol (cases.followup): permissions like tasks
    "GET /tasks/<int:task_id>/follow-up": row(admin=403, default=404),
    "POST /tasks/<int:task_id>/attempts": row(admin=403, default=404),
    "POST /tasks/<int:task_id>/follow-up/end": row(admin=403, default=404),
    "GET /resources": row(ambassador=403, admin=403),
    "GET /admin/resources": row(admin=200, default=403),
    "GET /admin/follow-up-delays": row(admin=200, default=403),
    "POST /admin/follow-up-delays": row(admin=302, default=403),  # empty: the defaults
    "GET /admin/resources/new": row(admin=200, default=403),
    "POST /admin/resources/new": row(admin=422, default=403),
    "GET /admin/resources/<int:resource_id>": row(admin=404, default=403),
    "POST /admin/resources/<int:resource_id>": row(admin=404, default=403),
    # --- reports, data-subject rights, surveys
    "GET /reports/": row(supervisor=200, default=403),
    "POST /reports/exports": row(supervisor=303, default=403),
    "GET /reports/exports/<int:export_id>": row(supervisor=404, default=403),
    "GET /reports/exports/<int:export_id>/download": row(supervisor=404, default=403),
    "GET /reports/exports/<int:export_id>/progress": row(supervisor=404, default=403),
    "GET /rights/": row(supervisor=200, admin=200, default=403),
    "POST /rights/": row(supervisor=422, admin=422, default=403),
    "GET /rights/people/<int:person_id>": row(supervisor=404, admin=404, default=403),
    "POST /rights/people/<int:person_id>/erase": row(supervisor=404, admin=404, default=403),
    "GET /rights/people/<int:person_id>/export": row(supervisor=404, default=403),
    "GET /rights/people/<int:person_id>/export.json": row(supervisor=404, default=403),
    "GET /survey/<token>": row(404, default=404),  # public, single-use token
    "POST /survey/<token>": row(404, default=404),
}


def signed_in_client(app, make_user, role):
    """A client signed in as a new user of `role` (anonymous: not signed in)."""
    client = app.test_client()
    if role != "anonymous":
        response = client.login(make_user(role))
        assert response.status_code == 302, (role, response.status_code)
    return client


def send(app, client, rule, method):
    path = build_path(app, rule)
    if method == "GET":
        return path, client.get(path)
    return path, client.open(path, method=method, data={"csrf_token": client.csrf_token()})


def all_routes(app):
    return [(rule, method) for rule in html_rules(app) for method in methods_of(rule)]


def test_every_html_route_is_classified(app):
    missing = sorted(
        f"{method} {rule.rule}"
        for rule, method in all_routes(app)
        if f"{method} {rule.rule}" not in EXPECTED
    )
    stale = sorted(
        set(EXPECTED) - {f"{method} {rule.rule}" for rule, method in all_routes(app)}
    )
    assert not missing, (
        "routes missing from the permission matrix (classify them in EXPECTED):\n  "
        + "\n  ".join(missing)
    )
    assert not stale, f"routes in the matrix that no longer exist: {stale}"


@pytest.mark.parametrize("role", ALL)
def test_permission_matrix(app, make_user, role):
    """Each route answers each role as the table says; no 5xx; pages are no-store and free
    of inline script."""
    column = ALL.index(role)
    wrong, unclassified = [], []
    routes = all_routes(app)
    # Signing out last: it ends the session the other requests use.
    routes.sort(key=lambda pair: pair[0].endpoint == "auth.logout")
    dump = os.environ.get("CELLULE_MATRIX_DUMP")  # write what each route answers (to classify)
    client = signed_in_client(app, make_user, role)
    for rule, method in routes:
        key = f"{method} {rule.rule}"
        path, response = send(app, client, rule, method)
        status = response.status_code
        assert status < 500, (key, role, status)
        if dump:
            with open(dump, "a") as out:
                out.write(json.dumps([key, role, status]) + "\n")
        if key not in EXPECTED:
            unclassified.append(f"{key!r}: {status},")
            continue
        if status != EXPECTED[key][column]:
            wrong.append(f"{key} ({path}) as {role}: {status}, expected {EXPECTED[key][column]}")
        if status == 200 and response.mimetype == "text/html":
            assert response.headers["Cache-Control"] == "no-store", key
            body = response.get_data(as_text=True)
            match = INLINE_SCRIPT.search(body)
            assert not match, f"{key}: inline script/style {match.group(0)!r}"
    assert not wrong, "\n".join(wrong)
    assert not unclassified, f"unclassified routes (as {role}):\n" + "\n".join(unclassified)
