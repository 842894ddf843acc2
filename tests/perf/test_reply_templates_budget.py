"""SQL budget of the admins' reply templates list: a fixed number of statements, however
many templates (one query for all of them, grouped in Python)."""

from cellule.extensions import db
from contacts.reply_templates import LANGUAGES, ReplyTemplate

from .conftest import ROWS

BUDGET = 2  # the signed-in user, the templates


def _add(count, start=0):
    for i in range(start, start + count):
        db.session.add(ReplyTemplate(kind=("reply", "out_of_hours")[i % 2],
                                     language=LANGUAGES[i % 4], name=f"Template {i}",
                                     subject="Objet", body="Bonjour {first_name}",
                                     active=i % 2 == 0 or i < 8))
    db.session.commit()


def _count(client, count_queries):
    client.get("/admin/reply-templates/")  # warm-up: first-request caches
    with count_queries() as queries:
        response = client.get("/admin/reply-templates/")
    assert response.status_code == 200
    return queries


def test_the_template_list_fits_its_budget_and_does_not_grow(app, client, login_as,
                                                             count_queries):
    login_as("admin")
    _add(ROWS)
    first = _count(client, count_queries)
    assert first.count <= BUDGET, first.report()
    _add(ROWS, start=ROWS)
    assert _count(client, count_queries).count == first.count
