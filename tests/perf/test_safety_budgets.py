"""SQL budget of the safety plan page (issue 19): a fixed number of statements however
many versions the plan has (their writers come in the versions' query)."""

from cases.safety.operations import save_plan
from cellule.extensions import db

from .conftest import _triage_case

# The user, the case, the versions with their writers, the person, the directory, the audit
# rows of the case and the plan read (one INSERT).
BUDGET = 6


def _add_versions(case, user, count, start=0):
    from cases.models import Case
    case = db.session.get(Case, case)
    for i in range(start, start + count):
        save_plan(case, {"coping": [f"Marcher {i}"], "people": [f"Ami {i}"]}, "fr", user, i)
    db.session.commit()


def _count(client, count_queries, case_id):
    client.get(f"/cases/{case_id}/safety-plan")  # warm-up: first-request caches
    with count_queries() as queries:
        response = client.get(f"/cases/{case_id}/safety-plan")
    assert response.status_code == 200
    return queries


def test_the_plan_page_fits_its_budget_and_does_not_grow(app, client, make_user, api_client,
                                                         make_person, count_queries):
    from contacts.models import Contact

    api, advisor = api_client("advisor")
    person = make_person()
    contact = Contact(person_id=person.id, created_by_id=advisor.id, channel="phone",
                      direction="in")
    db.session.add(contact)
    db.session.commit()
    case_id = _triage_case(api, contact.id, "high")
    writers = [make_user("advisor"), make_user("psychologist"), advisor]
    for i in range(3):
        _add_versions(case_id, writers[i], 1, start=i)
    client.sign_in(advisor)
    first = _count(client, count_queries, case_id)
    assert first.count <= BUDGET, first.report()
    _add_versions(case_id, make_user("supervisor"), 5, start=3)
    assert _count(client, count_queries, case_id).count == first.count
