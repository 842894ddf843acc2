"""SQL budget of Done on the case page with htmx (issue 18): the task's update, its event
and audit row, then the case page's tasks and timeline again — the case page's own
statements, not one more per task or event."""

from sqlalchemy import select

# the session's user, the task, the UPDATE, its case (for the event), the event and the
# audit row; then the case page's context, as the page builds it (its case again after
# the commit, the lists, the read's audit row): 21, one context for the page and the
# fragment rather than a second way to gather the tasks and the timeline.
BUDGET = 21


def _check_ins(world):
    from cases.models import Task
    from cellule.extensions import db

    return db.session.scalars(select(Task.id).where(
        Task.case_id == world.case, Task.kind == "check_in", Task.status == "open")
        .order_by(Task.id)).all()


def test_done_with_htmx_fits_its_budget(world, app, count_queries):
    from cellule.extensions import db

    client = world.clients["psychologist"]
    client.get(f"/cases/{world.case}")  # warm-up: first-request caches
    token = client.csrf_token()
    counts = []
    for task_id in _check_ins(world)[:2]:
        db.session.expire_all()
        with count_queries() as queries:
            response = client.post(f"/tasks/{task_id}/done", headers={
                "HX-Request": "true", "HX-Target": "case-task-list", "X-CSRFToken": token,
                "HX-Current-URL": f"http://localhost/cases/{world.case}"})
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        counts.append(queries.count)
        assert queries.count <= BUDGET, queries.report()
    assert counts[0] == counts[1], counts
