"""The anonymised CSV export: requested through the outbox, built by a real RQ worker."""

import csv
import io
import re

import pytest
from rq import SimpleWorker
from rq.job import Job

from cases.reporting.models import ReportExport
from cellule.extensions import db
from cellule.jobs import get_queue
from cellule.outbox import OutboxMessage
from cellule.redis_conn import get_redis

from .conftest import MARCH, SECRETS


@pytest.fixture
def supervisor(login_as):
    return login_as("supervisor")


@pytest.fixture
def saved_progress(monkeypatch):
    """Every progress value the job saves to its meta, in order."""
    values = []
    original = Job.save_meta

    def save_meta(self):
        if "progress" in self.meta:
            values.append(self.meta["progress"])
        return original(self)

    monkeypatch.setattr(Job, "save_meta", save_meta)
    return values


def run_worker(app):
    queue = get_queue(app=app)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def request_export(client):
    data = {**MARCH, "preset": "custom"}
    return client.htmx("POST", "/reports/exports", data=data)


def test_export_runs_in_a_worker_with_progress_and_holds_no_personal_data(
        client, supervisor, activity, app, saved_progress):
    response = request_export(client)
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    export = db.session.scalars(db.select(ReportExport)).one()
    assert f'hx-get="/reports/exports/{export.id}/progress"' in fragment
    assert '<progress id="export-' in fragment and 'max="100" value="0"' in fragment
    # The request went through the outbox and was relayed to Redis after the commit.
    row = db.session.get(OutboxMessage, export.outbox_id)
    assert (row.job_name, row.args, row.status) == ("export_report", [export.id], "relayed")

    run_worker(app)

    assert saved_progress[0] == 0 and saved_progress[-1] == 100
    assert saved_progress == sorted(saved_progress) and len(saved_progress) >= 8
    job = Job.fetch(str(export.outbox_id), connection=get_redis(app))
    assert job.meta["progress"] == 100 and job.meta["stage"] == "done"
    db.session.expire_all()
    assert db.session.get(OutboxMessage, export.outbox_id).status == "done"

    status = client.get(f"/reports/exports/{export.id}/progress").get_data(as_text=True)
    assert "hx-trigger" not in status  # polling stops
    assert f'href="/reports/exports/{export.id}/download"' in status

    download = client.get(f"/reports/exports/{export.id}/download")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert "cellule-report-2025-03-01-2025-03-31.csv" in download.headers["Content-Disposition"]
    text = download.get_data(as_text=True)

    # No name, phone, email, affiliate number or free text of the fixtures, in any form.
    lowered = text.lower()
    for value in SECRETS.values():
        assert value.lower() not in lowered
    assert "123456" not in text and "998877" not in text and "@" not in text

    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["section", "from", "to", "category", "measure", "value", "note"]
    cells = {(r["section"], r["from"], r["to"], r["category"], r["measure"]): r for r in rows}
    phone = cells[("contacts_by_channel", "2025-03-01", "2025-03-31", "phone", "contacts")]
    assert phone["value"] == "6"
    email = cells[("contacts_by_channel", "2025-03-01", "2025-03-31", "email", "contacts")]
    assert (email["value"], email["note"]) == ("", "suppressed (fewer than 5)")
    median = cells[("first_response", "2025-03-01", "2025-03-31", "all", "median_hours")]
    assert median["value"] == "3.5"
    day = cells[("contacts_by_channel", "2025-03-03", "2025-03-03", "phone", "contacts")]
    assert day["value"] == "" and day["note"].startswith("suppressed")
    # Only codes, dates and numbers: every category and measure comes from a fixed list.
    for r in rows:
        assert re.fullmatch(r"[a-z0-9_:]+", r["category"]), r
        assert re.fullmatch(r"-?[0-9.]*", r["value"]), r


def test_a_second_run_of_the_job_changes_nothing(client, supervisor, activity, app):
    from cases.reporting.export import export_report

    request_export(client)
    run_worker(app)
    export = db.session.scalars(db.select(ReportExport)).one()
    content = export.content
    export_report(export.id)  # idempotent: a done export is left as it is
    db.session.expire_all()
    assert db.session.get(ReportExport, export.id).content == content


def test_export_is_its_requesters_only(client, supervisor, activity, app, make_user):
    request_export(client)
    export = db.session.scalars(db.select(ReportExport)).one()
    other = make_user("supervisor")
    client.post_form("/logout")
    client.sign_in(other)
    assert client.get(f"/reports/exports/{export.id}/progress").status_code == 404
    assert client.get(f"/reports/exports/{export.id}/download").status_code == 404


def test_download_before_the_end_is_a_conflict(client, supervisor, app):
    request_export(client)
    export = db.session.scalars(db.select(ReportExport)).one()
    assert client.get(f"/reports/exports/{export.id}/download").status_code == 409
    page = client.get(f"/reports/exports/{export.id}").get_data(as_text=True)
    assert "<progress" in page


def test_without_javascript_the_form_redirects_to_the_export_page(client, supervisor, app):
    response = client.post_form("/reports/exports", {**MARCH})
    assert response.status_code == 303
    assert re.fullmatch(r"/reports/exports/\d+", response.headers["Location"])


def test_invalid_period_is_refused(client, supervisor, app):
    response = client.htmx("POST", "/reports/exports", data={"from": "2025-03-31",
                                                             "to": "2025-03-01"})
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count(ReportExport.id))) == 0


def test_only_supervisors_export(client, login_as):
    login_as("advisor")
    assert client.post_form("/reports/exports", {**MARCH}).status_code == 403
