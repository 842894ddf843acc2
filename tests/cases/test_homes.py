"""The homes of the roles (issue 18): each shows the work, a few rows per panel, each row a
link; an empty panel says so calmly; the navigation is no longer repeated as cards."""

from datetime import timedelta

import pytest

from cases import operations as ops
from cellule.extensions import db
from cellule.types import utcnow
from contacts import operations as contacts_ops


def _english(client):
    client.post_form("/language", {"language": "en"})


def _home(client):
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["ambassador", "advisor", "psychologist", "supervisor",
                                  "admin"])
def test_every_home_renders_without_tiles_and_with_calm_empty_panels(client, login_as, role):
    login_as(role)
    _english(client)
    html = _home(client)
    assert 'class="tiles"' not in html and 'class="tile"' not in html
    assert 'id="shortcuts-help"' in html and "Keyboard shortcuts" in html
    expected = {
        "ambassador": ["You have not referred anyone yet.", ">Refer someone</a>"],
        "advisor": ["The inbox is empty.", "No task due today, none late.",
                    "No open case is assigned to you.", ">New contact</a>"],
        "psychologist": ["Nobody waits in the psychology queue.",
                         "No open case is assigned to you."],
        "supervisor": ["No high-level case waits for an answer.", "No case is past its deadline.",
                       "Open the board", "Background work and mailbox"],
        "admin": ["Accounts", "Resource directory", "Mail quarantine",
                  "Background work and mailbox"],
    }[role]
    for text in expected:
        assert text in html, text


def test_the_advisor_home_shows_the_inbox_head_my_tasks_and_my_cases(client, login_as,
                                                                      triage):
    advisor = login_as("advisor")
    _english(client)
    person = contacts_ops.create_person(advisor, name="Jeanne Lambert")
    flagged = contacts_ops.create_contact(
        None, person=person, channel="email", email_sender="j@example.be",
        email_subject="Je n'en peux plus", email_body="Je veux mourir.", mailbox="INBOX",
        mailbox_uidvalidity=1, mailbox_uid=1, email_message_id="<a@example.be>")
    now = utcnow()
    late = ops.create_task(title="Rappeler Jeanne", kind="callback", actor=advisor,
                           assignee=advisor, due_at=now - timedelta(hours=2))
    later = ops.create_task(title="Plus tard", kind="callback", actor=advisor,
                            assignee=advisor, due_at=now + timedelta(days=3))
    db.session.commit()
    _run, case = triage("elevated", user=advisor)
    ops.reassign_case(case, advisor, advisor, case.version)
    db.session.commit()
    html = _home(client)
    inbox = html.split('id="home-inbox"')[1].split("</section>")[0]
    assert "Jeanne Lambert" in inbox and "red flag" in inbox
    assert f'href="/contacts/{flagged.id}"' in inbox
    tasks = html.split('id="home-tasks"')[1].split("</section>")[0]
    assert "Rappeler Jeanne" in tasks and "late by" in tasks and "Plus tard" not in tasks
    assert late.id and later.id
    cases = html.split('id="home-cases"')[1].split("</section>")[0]
    assert f'href="/cases/{case.id}"' in cases and case.reference in cases
    # The first action comes first, as a button; the navigation is not repeated as cards.
    assert html.index('class="button" href="/contacts/new"') < html.index('id="home-inbox"')
