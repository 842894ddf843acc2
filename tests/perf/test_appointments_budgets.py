"""SQL budgets of the appointments' pages (issue 20): "My availability" and the booking
page cost a fixed number of statements however many slots there are."""

from datetime import timedelta

import pytest

from cellule.extensions import db
from cellule.types import utcnow

from ..cases.conftest import make_contact, triage  # noqa: F401  (fixtures)

# the session's user; the coming slots; which are booked; the appointments to record
AVAILABILITY_BUDGET = 5
# the session's user; the case (+ the right to see it); the free slots with their
# psychologists; the audit row; the person (the language first)
BOOKING_BUDGET = 7


def _slots(psychologist, first, count):
    from cases.appointments import operations as ops

    for n in range(count):
        ops.publish_slot(psychologist, utcnow() + timedelta(days=first + n), 50, "video",
                         ["fr"])
    db.session.commit()


@pytest.mark.parametrize("page", ["availability", "booking"])
def test_appointment_pages_fit_their_budget(app, client, make_user, make_person, triage,  # noqa: F811
                                            count_queries, page):
    psychologist = make_user("psychologist")
    if page == "availability":
        client.sign_in(psychologist)
        url, budget = "/availability", AVAILABILITY_BUDGET
    else:
        advisor = make_user("advisor")
        case = triage("high", user=advisor, person=make_person(email="p@example.be"))[1]
        client.sign_in(advisor)
        url, budget = f"/cases/{case.id}/appointments/new", BOOKING_BUDGET
    client.get(url)  # warm-up: first-request caches
    counts = []
    for first in (1, 10):
        _slots(psychologist, first, 3)
        db.session.expire_all()
        with count_queries() as queries:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(queries.count)
        assert queries.count <= budget, queries.report()
    assert counts[0] == counts[1], counts
