"""The case page as a workspace (issue 18): the header's time left, the timeline filtered
with and without htmx under the clinical-note rule, tasks finished from the case page,
referral notes shown, raw codes through their labels, no empty actions on a closed case."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from cases import operations as ops
from cases.models import Task
from cellule.extensions import db
from cellule.types import utcnow


@pytest.fixture
def busy_case(make_user, triage, resources, make_contact):
    """A serious case with a team note, a clinical note, a task, a referral with a note and
    an outbound phone contact linked."""
    advisor = make_user("advisor", name="Bram Conseiller")
    psychologist = make_user("psychologist", name="Chloé Psychologue")
    _run, case = triage("serious", user=advisor)
    assert ops.claim_case(case.id, psychologist)
    db.session.refresh(case)
    ops.add_note(case, "Team: called twice.", "team", advisor)
    ops.add_note(case, "Clinical: dark thoughts.", "clinical", psychologist)
    ops.create_task(title="Call back on Monday", kind="callback", actor=advisor,
                    assignee=advisor, case=case, by_hand=True)
    paid = next(r for r in resources.values() if r.price_cents)
    ops.add_referral(resource=paid, actor=advisor, case=case, consent=True,
                     note="Prefers Thursday evenings.")
    db.session.commit()
    ops.link_contact(case, make_contact(advisor, person=case.person, direction="out"), advisor)
    db.session.commit()
    return {"case": case, "advisor": advisor, "psychologist": psychologist}


def _english(client):
    client.post_form("/language", {"language": "en"})


def _timeline(html):
    start = html.index('id="case-timeline"')
    return html[start:html.index("</ol>", start)]


def test_the_timeline_interleaves_everything_newest_first(client, busy_case):
    client.sign_in(busy_case["advisor"])
    _english(client)
    html = client.get(f"/cases/{busy_case['case'].id}").get_data(as_text=True)
    timeline = _timeline(html)
    order = [timeline.index(text) for text in (
        "Phone · outgoing", "Prefers Thursday evenings.", "Call back on Monday",
        "Team: called twice.", "Case opened")]
    assert order == sorted(order)  # newest first
    assert "€" in timeline and "consent recorded" in timeline
    assert not re.search(r"#\d+ · phone", html)  # no raw codes
    # The advisor sees neither the clinical note nor that it exists.
    assert "Clinical: dark thoughts." not in html and "note-clinical" not in html


@pytest.mark.parametrize("show,present,absent", [
    ("notes", "Team: called twice.", "Case opened"),
    ("tasks", "Call back on Monday", "Team: called twice."),
    ("referrals", "Prefers Thursday evenings.", "Call back on Monday"),
    ("contacts", "Phone · outgoing", "Prefers Thursday evenings."),
    ("triage", "Triage record of", "Team: called twice."),
    ("nonsense", "Case opened", "Nothing of this kind"),
])
def test_the_timeline_filters_with_and_without_htmx(client, busy_case, show, present, absent):
    client.sign_in(busy_case["advisor"])
    _english(client)
    url = f"/cases/{busy_case['case'].id}?show={show}"
    page = client.get(url).get_data(as_text=True)
    fragment = client.htmx("GET", url, headers={"HX-Target": "case-timeline"})
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="case-timeline"') and "<h1" not in body
    for html in (_timeline(page), body):
        assert present in html and absent not in html
    current = "all" if show == "nonsense" else show
    assert re.search(rf'id="timeline-show-{current}"[^>]*aria-current="true"', body)


def test_a_clinical_note_shows_apart_to_psychologists_and_only_its_existence_to_supervisors(
        client, busy_case, make_user):
    url = f"/cases/{busy_case['case'].id}?show=notes"
    client.sign_in(busy_case["psychologist"])
    _english(client)
    html = _timeline(client.get(url).get_data(as_text=True))
    assert "note-clinical" in html and "Clinical: dark thoughts." in html
    assert "Clinical · psychologists only" in html
    client.post_form("/logout")
    client.sign_in(make_user("supervisor"))
    _english(client)
    html = _timeline(client.get(url).get_data(as_text=True))
    assert "note-clinical" in html and "Clinical: dark thoughts." not in html
    assert "Clinical content: visible to psychologists only." in html


def test_a_task_is_finished_from_the_case_page_and_back_to_it(client, busy_case):
    case = busy_case["case"]
    client.sign_in(busy_case["advisor"])
    _english(client)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    task = db.session.scalar(select(Task).where(Task.case_id == case.id,
                                                Task.kind != "follow_up"))
    action = f'action="/tasks/{task.id}/done"'
    assert action in html and "Mark done: Call back on Monday" in html
    nxt = re.search(r'name="next" value="([^"]+)"', html[html.index(action):]).group(1)
    response = client.post_form(f"/tasks/{task.id}/done", {"next": nxt})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{case.id}#case-tasks")
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert action not in html and "Mark done: Call back on Monday" not in html
    assert "Task done" in _timeline(html)


def test_the_header_says_the_time_left_or_how_late(client, make_user, triage):
    advisor = make_user("advisor")
    _run, case = triage("serious", user=advisor)
    client.sign_in(advisor)
    _english(client)
    case.due_at = utcnow() + timedelta(hours=3, minutes=5)
    db.session.commit()
    due = re.search(r'id="case-due">(.*?)</dd>', client.get(f"/cases/{case.id}")
                    .get_data(as_text=True)).group(1)
    assert "due in 3 hr" in due and "due-due" in due
    case.due_at = utcnow() - timedelta(days=2, hours=1)
    db.session.commit()
    due = re.search(r'id="case-due">(.*?)</dd>', client.get(f"/cases/{case.id}")
                    .get_data(as_text=True)).group(1)
    assert "late by 2 days" in due and "due-late" in due
    client.post_form("/language", {"language": "fr"})
    due = re.search(r'id="case-due">(.*?)</dd>', client.get(f"/cases/{case.id}")
                    .get_data(as_text=True)).group(1)
    assert "2\xa0jours" in due or "2\u202fj" in due  # Babel's words in the user's language


def test_a_closed_case_shows_no_empty_actions(client, make_user, triage):
    advisor = make_user("advisor")
    _run, case = triage("at_risk", user=advisor)
    ops.close_case(case, "resolved", advisor, case.version)
    db.session.commit()
    client.sign_in(advisor)
    _english(client)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert ">Actions<" not in html
    assert "Close the case…" not in html and 'id="case-tasks"' not in html
    assert "Write a note" in html  # a closing summary may still come (team notes)


# desk18: Done and Cancel swap the case page's tasks and timeline (htmx), 409 kept.


def _finish(client, task, action, url):
    return client.htmx("POST", f"/tasks/{task.id}/{action}", {"next": url + "#case-tasks"},
                       headers={"HX-Target": "case-task-list", "HX-Current-URL": url})


def test_done_with_htmx_answers_with_the_tasks_and_the_timeline_out_of_band(client, busy_case):
    from cellule.models import AuditEvent

    case = busy_case["case"]
    client.sign_in(busy_case["advisor"])
    _english(client)
    task = db.session.scalar(select(Task).where(Task.case_id == case.id,
                                                Task.kind == "callback"))
    url = f"http://localhost/cases/{case.id}?show=tasks"
    response = _finish(client, task, "done", url)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="case-task-list"') and "<h1" not in body
    tasks = body[:body.index('id="case-timeline"')]
    assert "Task done: Call back on Monday" in tasks and 'role="status"' in tasks
    assert "Mark done: Call back on Monday" not in tasks
    timeline = _timeline(body)
    assert 'hx-swap-oob="true"' in body[body.index('<div id="case-timeline"'):][:120]
    assert "Task done" in timeline and "Team: called twice." not in timeline  # its filter
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "done"
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "update", AuditEvent.object_type == "task",
        AuditEvent.object_id == str(task.id))) is not None
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "read", AuditEvent.object_type == "case",
        AuditEvent.object_id == str(case.id))) is not None  # the timeline shown is a read


def test_a_task_finished_meanwhile_is_a_409_in_the_tasks_block(client, busy_case):
    case = busy_case["case"]
    client.sign_in(busy_case["advisor"])
    _english(client)
    task = db.session.scalar(select(Task).where(Task.case_id == case.id,
                                                Task.kind == "callback"))
    ops.finish_task(task, busy_case["psychologist"], "cancelled")
    db.session.commit()
    response = _finish(client, task, "done", f"http://localhost/cases/{case.id}")
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="case-task-list"')
    assert "This task was already cancelled by Chloé Psychologue." in body
    assert 'role="alert"' in body and "Mark done: Call back on Monday" not in body
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "cancelled"  # the first one stands


def test_cancel_with_htmx_says_cancelled_and_the_page_holds_the_same_block(client, busy_case):
    case = busy_case["case"]
    client.sign_in(busy_case["advisor"])
    _english(client)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert '<div id="case-task-list"' in page and 'hx-target="#case-task-list"' in page
    task = db.session.scalar(select(Task).where(Task.case_id == case.id,
                                                Task.kind == "callback"))
    body = _finish(client, task, "cancel", f"http://localhost/cases/{case.id}") \
        .get_data(as_text=True)
    assert "Task cancelled: Call back on Monday" in body
    assert "Task cancelled" in _timeline(body)
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "cancelled"
