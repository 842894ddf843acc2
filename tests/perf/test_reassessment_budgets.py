"""SQL budgets of the re-assessment (issue 19): its page, its recording, and the case page,
which does not grow with the re-assessments on its card and timeline (one query)."""

from cellule.extensions import db
from triage.examples import CBI_ZERO, DISTRESS_ZERO, SAFETY_NO

from ..cases.conftest import make_contact, triage  # noqa: F401  (fixtures)

ANSWERS = {**SAFETY_NO, **DISTRESS_ZERO, **CBI_ZERO}
# The user, the case, the first run, the person, the audit row.
PAGE_BUDGET = 5
# The user, the case, the first run (read once for the questions and the comparison), the
# person (the language); the row, its timeline event, its audit row.
RECORD_BUDGET = 7


def _record(case_id, user, count):
    from cases.models import Case
    from cases.reassessment.operations import record_reassessment

    case = db.session.get(Case, case_id)
    for i in range(count):
        record_reassessment(case, {**ANSWERS, "phq_2_down": i % 3}, user, occasion="other")
    db.session.commit()


def test_the_page_and_the_recording_fit_their_budgets(app, triage, login_as, client,  # noqa: F811
                                                      count_queries):
    _run, case = triage("elevated")
    login_as("advisor")
    url = f"/cases/{case.id}/reassessment"
    client.get(url)  # warm-up: first-request caches
    with count_queries() as queries:
        assert client.get(url).status_code == 200
    assert queries.count <= PAGE_BUDGET, queries.report()
    form = {k: str(v) for k, v in ANSWERS.items()}
    form["csrf_token"] = client.csrf_token()
    record_url = f"/cases/{case.id}/reassessments"
    with count_queries() as queries:
        assert client.post(record_url, data=form).status_code == 303
    assert queries.count <= RECORD_BUDGET, queries.report()


def test_the_case_page_does_not_grow_with_reassessments(app, triage, login_as, client,  # noqa: F811
                                                        count_queries):
    _run, case = triage("elevated")
    advisor = login_as("advisor")
    url = f"/cases/{case.id}"
    counts = []
    for _round in range(2):
        _record(case.id, advisor, 3)
        db.session.expire_all()
        client.get(url)
        with count_queries() as queries:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(queries.count)
    assert counts[0] == counts[1], counts
    assert response.get_data(as_text=True).count('class="reassessment-change"') == 7
