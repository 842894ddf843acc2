"""Whether the background work runs, as `/api/v1/health` and the banner of supervisors and
administrators tell it (DESIGN §9): `workers`, `outbox_lag_s`, 503 when workers are
stale while jobs are due, "Background work stopped since HH:MM"."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from cellule import background, outbox
from cellule.extensions import db
from cellule.mailer import send_mail
from cellule.outbox import OutboxMessage
from cellule.redis_conn import get_redis
from cellule.types import utcnow

from .conftest import kill_group, wait_until
from .test_faults import outbox_rows

BANNER = "Background work stopped since"


def request_mail(age_s=0):
    send_mail("jeanne@example.be", "Votre rendez-vous", "Bonjour")
    db.session.commit()
    if age_s:
        db.session.execute(update(OutboxMessage).values(
            run_after=utcnow() - timedelta(seconds=age_s)))
        db.session.commit()


def stamp_heartbeat(moment):
    get_redis().set(background.HEARTBEAT_KEY, f"{moment.timestamp():.3f}")


def health(client):
    response = client.get("/api/v1/health")
    return response.status_code, response.get_json()


# --- /health -----------------------------------------------------------------------


def test_health_is_503_when_no_worker_runs_while_jobs_are_due(client):
    request_mail(age_s=90)
    code, body = health(client)
    assert code == 503
    assert body["workers"] == "stale" and body["status"] == "down"
    assert body["database"] == "ok" and body["redis"] == "ok"
    assert 90 <= body["outbox_lag_s"] < 120


def test_health_without_a_worker_and_nothing_due_is_200(client):
    code, body = health(client)
    assert code == 200
    assert (body["status"], body["workers"], body["outbox_lag_s"]) == ("ok", "stale", 0)


def test_health_counts_a_job_waiting_in_redis_as_due(client):
    request_mail()
    assert outbox.relay() == 1  # in Redis now, and no worker takes it
    code, body = health(client)
    assert (code, body["workers"], body["outbox_lag_s"]) == (503, "stale", 0)


def test_health_with_a_live_worker_then_after_it_died(app, client, smtp_server, worker_process):
    app.config["CELLULE_WORKER_HEARTBEAT"] = 2  # as the worker process's own setting
    request_mail(age_s=30)
    worker = worker_process()
    wait_until(lambda: outbox_rows()[0].status == "done", timeout=30,
               message="the worker to send the mail")
    code, body = health(client)
    assert (code, body["status"], body["workers"], body["outbox_lag_s"]) == (200, "ok", "ok", 0)

    kill_group(worker)
    request_mail()
    wait_until(lambda: health(client)[0] == 503, timeout=10,
               message="health to see the dead worker")
    code, body = health(client)
    assert body["workers"] == "stale"
    assert body["outbox_lag_s"] >= 0


def test_the_openapi_document_describes_the_new_health_fields(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schema = spec["paths"]["/health"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    assert {"workers", "outbox_lag_s"} <= set(schema["required"])
    assert schema["properties"]["workers"]["enum"] == ["ok", "stale"]
    assert schema["properties"]["outbox_lag_s"]["type"] == "integer"


# --- The banner ----------------------------------------------------------------------


def local_time(app, moment):
    return moment.astimezone(ZoneInfo(app.config["CELLULE_TIMEZONE"]))


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_see_since_when_background_work_stopped(app, client, login_as,
                                                                       role):
    stopped = (utcnow() - timedelta(minutes=25)).replace(second=0, microsecond=0)
    stamp_heartbeat(stopped)
    request_mail()
    login_as(role)
    page = client.get("/").get_data(as_text=True)
    local = local_time(app, stopped)
    # English short time, in the cell's time zone (Europe/Brussels), e.g. "9:05 AM".
    assert f"{BANNER} {local.hour % 12 or 12}:{local:%M}" in page
    assert 'id="background-stopped"' in page

    client.post_form("/language", {"language": "fr"})
    page = client.get("/").get_data(as_text=True)
    assert f"{local:%H:%M}" in page  # 24-hour clock in French, formatted by Babel


def test_without_any_heartbeat_the_banner_gives_the_time_the_oldest_job_came_due(
    app, client, login_as
):
    request_mail(age_s=600)
    login_as("supervisor")
    page = client.get("/").get_data(as_text=True)
    due = outbox_rows()[0].run_after
    local = local_time(app, due)
    assert f"{BANNER} {local.hour % 12 or 12}:{local:%M}" in page


def test_advisors_never_see_the_banner(client, login_as):
    request_mail(age_s=600)
    login_as("advisor")
    page = client.get("/").get_data(as_text=True)
    assert BANNER not in page


def test_no_banner_while_a_worker_runs(client, login_as):
    stamp_heartbeat(datetime.now(UTC))
    request_mail(age_s=600)
    login_as("supervisor")
    assert BANNER not in client.get("/").get_data(as_text=True)


def test_no_banner_when_nothing_is_due(client, login_as):
    stamp_heartbeat(datetime.now(UTC) - timedelta(hours=2))
    login_as("admin")
    assert BANNER not in client.get("/").get_data(as_text=True)


def test_the_banner_goes_once_a_worker_runs_again(app, client, login_as, smtp_server,
                                                  worker_process):
    app.config["CELLULE_WORKER_HEARTBEAT"] = 2
    request_mail(age_s=600)
    login_as("supervisor")
    assert BANNER in client.get("/").get_data(as_text=True)
    worker = worker_process()
    wait_until(lambda: outbox_rows()[0].status == "done", timeout=30,
               message="the worker to send the mail")
    app.extensions.pop("cellule_background_banner")  # pages keep it BANNER_CACHE seconds
    assert BANNER not in client.get("/").get_data(as_text=True)
    kill_group(worker)
