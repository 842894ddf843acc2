"""The failed-jobs page: supervisors and admins see failed jobs and run them again."""

import pytest
from sqlalchemy import select

from cellule import outbox
from cellule.extensions import db
from cellule.jobs import drain
from cellule.models import AuditEvent
from cellule.outbox import OutboxMessage


@pytest.fixture
def failed_row(app):
    """A send_email job whose SMTP server refused it through all its retries."""
    from .conftest import free_port

    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    from cellule.mailer import send_mail

    send_mail("a@example.be", "Objet", "Texte")
    db.session.commit()
    drain(app)
    [row] = outbox.failed_rows()
    return row


@pytest.fixture
def english(client):
    client.post_form("/language", {"language": "en"})


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_see_failed_jobs_and_the_nav_entry(client, login_as, failed_row,
                                                                   english, role):
    login_as(role)
    page = client.get("/jobs/failed")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="job-{failed_row.id}"' in html and "send_email" in html
    assert "ConnectionRefusedError" in html
    assert 'href="/jobs/failed"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["ambassador", "advisor", "psychologist"])
def test_other_roles_may_not_see_them(client, login_as, failed_row, role):
    login_as(role)
    assert client.get("/jobs/failed").status_code == 403
    assert client.post_form(f"/jobs/failed/{failed_row.id}/retry").status_code == 403
    assert 'href="/jobs/failed"' not in client.get("/").get_data(as_text=True)


def test_the_retry_button_runs_the_job_again(app, client, login_as, failed_row, smtp_server):
    supervisor = login_as("supervisor")
    response = client.post_form(f"/jobs/failed/{failed_row.id}/retry")
    assert response.status_code == 302 and response.headers["Location"] == "/jobs/failed"
    row = db.session.get(OutboxMessage, failed_row.id)
    assert row.status in ("pending", "relayed")  # relayed at once after the request
    drain(app)
    assert len(smtp_server.messages) == 1
    db.session.expire_all()
    assert db.session.get(OutboxMessage, failed_row.id).status == "done"
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retry"))
    assert (audit.user_id, audit.object_type, audit.object_id) == (
        supervisor.id, "job", str(failed_row.id))
    assert client.get("/jobs/failed").get_data(as_text=True).count('id="job-') == 0


def test_the_retry_button_with_htmx_swaps_the_row(client, login_as, failed_row, english):
    login_as("admin")
    response = client.htmx("POST", f"/jobs/failed/{failed_row.id}/retry")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.strip().startswith(f'<tr id="job-{failed_row.id}"')
    assert "Will run again" in html and "<form" not in html


def test_retrying_needs_the_csrf_token_and_a_failed_job(client, login_as, failed_row):
    login_as("supervisor")
    assert client.post(f"/jobs/failed/{failed_row.id}/retry").status_code == 400
    assert client.post_form("/jobs/failed/999999/retry").status_code == 404
    client.post_form(f"/jobs/failed/{failed_row.id}/retry")
    assert client.post_form(f"/jobs/failed/{failed_row.id}/retry").status_code == 404
