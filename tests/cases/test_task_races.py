"""Two people finishing one task at once: one wins, the other is told who did (409)."""

import pytest
from sqlalchemy import func, select

from cases import operations as ops
from cases.models import CaseEvent, Task
from cellule.extensions import db
from cellule.models import User

from .test_conflicts import meanwhile  # noqa: F401 (fixture)


@pytest.fixture
def open_task(triage):
    """`open_task(user)`: an open call-back task of a case, given to `user`."""
    def make(user):
        _run, case = triage("serious")
        task = ops.create_task(title="Call back", kind="callback", actor=user,
                               assignee=user, case=case)
        db.session.commit()
        return task
    return make


def _done_events(case_id):
    return db.session.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.case_id == case_id, CaseEvent.kind.in_(("task_done", "task_cancelled"))))


def _finish_by(user_id, status="done"):
    def change(task_id):
        ops.finish_task(db.session.get(Task, task_id), db.session.get(User, user_id), status)
    return change


def test_html_a_task_finished_meanwhile_is_409_saying_by_whom(client, login_as, open_task,
                                                               make_user, meanwhile):  # noqa: F811
    task = open_task(login_as("advisor"))
    other = make_user("supervisor", name="Yves Premier")
    meanwhile("finish_task", _finish_by(other.id, "cancelled"))
    response = client.post_form(f"/tasks/{task.id}/done", {"next": "/my/tasks"})
    assert response.status_code == 409
    assert "This task was already cancelled by Yves Premier." in response.get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(Task, task.id)
    assert (stored.status, stored.done_by_id) == ("cancelled", other.id)
    assert _done_events(task.case_id) == 1
    # And once more, plainly: finishing a finished task is 409 (it was a 500).
    again = client.post_form(f"/tasks/{task.id}/cancel", {"next": "/my/tasks"})
    assert again.status_code == 409 and "already cancelled by Yves Premier" in again.get_data(
        as_text=True)


def test_api_a_task_finished_meanwhile_is_409_with_its_state(api_client, open_task, make_user,
                                                             meanwhile):  # noqa: F811
    client, advisor = api_client("advisor")
    task = open_task(advisor)
    other = make_user("supervisor")
    meanwhile("finish_task", _finish_by(other.id))
    response = client.post(f"/api/v1/tasks/{task.id}/done")
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "the task is already done" and body["current"]["status"] == "done"
    assert _done_events(task.case_id) == 1
