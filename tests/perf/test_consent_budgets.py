"""SQL budgets of the consents (issue 20): the person page with its "Consents" card, the
consents page and the API list cost a fixed number of statements however many answers
the person gave (their recorders and withdrawers come in the history's one query)."""

from cellule.extensions import db
from contacts.consent.operations import record_consent, withdraw_consent
from contacts.consent.texts import CURRENT

# The consents page: the user, the person, the history with its users (one query),
# the read's audit row (one INSERT).
PAGE_BUDGET = 4
# The API list: the token (and its use), the person, the history, the audit row.
API_BUDGET = 5


def _answers(person, users, rounds):
    for i in range(rounds):
        actor = users[i % len(users)]
        for purpose in ("survey", "outreach", "caring_messages", "share_partner"):
            record_consent(person, purpose, granted=True, channel="oral",
                           text_version=CURRENT[purpose], actor=actor)
            withdraw_consent(person, purpose, actor=users[(i + 1) % len(users)],
                             channel="written")
    db.session.commit()


def _count(client, count_queries, path):
    client.get(path)  # warm-up: first-request caches
    with count_queries() as queries:
        response = client.get(path)
    assert response.status_code == 200
    return queries


def test_the_consent_pages_fit_their_budgets_and_do_not_grow(app, client, make_user,
                                                             make_person, api_client,
                                                             count_queries):
    advisor = make_user("advisor")
    users = [advisor, make_user("psychologist"), make_user("supervisor")]
    person = make_person(advisor)
    _answers(person, users, 2)
    client.sign_in(advisor)
    api, _user = api_client("advisor")
    page = f"/people/{person.id}/consents"
    person_page = f"/people/{person.id}"
    first = {path: _count(client, count_queries, path).count for path in (page, person_page)}
    first_api = _count(api, count_queries, f"/api/v1/persons/{person.id}/consents")
    assert first[page] <= PAGE_BUDGET, _count(client, count_queries, page).report()
    assert first_api.count <= API_BUDGET, first_api.report()
    _answers(person, [make_user("advisor"), make_user("advisor"), advisor], 4)
    for path, count in first.items():
        assert _count(client, count_queries, path).count == count, path
    assert _count(api, count_queries, f"/api/v1/persons/{person.id}/consents").count \
        == first_api.count
