"""A request's reads are audited in its own transaction (issue 17, cellule.audit):
written with its commit, or at its end; a refused change is not written with them."""

from sqlalchemy import func, select

from cases.models import Case
from cellule.extensions import db
from cellule.models import AuditEvent


def _reads(case_id):
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "read", AuditEvent.object_type == "case",
        AuditEvent.object_id == str(case_id)))


def test_a_page_read_is_audited_once_with_its_request(client, login_as, triage):
    advisor = login_as("advisor")
    _run, case = triage("serious", user=advisor)
    assert client.get(f"/cases/{case.id}").status_code == 200
    assert _reads(case.id) == 1


def test_a_refused_change_writes_nothing(client, login_as, triage):
    """A stale version (409) and an invalid level (422): the case is unchanged, and no
    row of the refused change was committed with the request's end."""
    supervisor = login_as("supervisor")
    _run, case = triage("elevated", user=supervisor)
    count = db.session.scalar(select(func.count()).select_from(AuditEvent))
    stale = client.post_form(f"/cases/{case.id}/level",
                             {"level": "serious", "version": str(case.version + 5)})
    invalid = client.post_form(f"/cases/{case.id}/level",
                               {"level": "no-such-level", "version": str(case.version)})
    assert (stale.status_code, invalid.status_code) == (409, 422)
    case = db.session.get(Case, case.id)
    assert case.level == "elevated"
    assert not db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.id > count, AuditEvent.action == "update")).all()


def test_an_api_read_is_audited_in_the_one_commit_of_the_call(api_client, triage):
    client, advisor = api_client("advisor")
    _run, case = triage("serious", user=advisor)
    assert client.get(f"/api/v1/cases/{case.id}").status_code == 200
    assert _reads(case.id) == 1
