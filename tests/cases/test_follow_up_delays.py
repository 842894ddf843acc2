"""The follow-up delays per level (issue 19): the administrators' page, its checks, its
audit, and the one rule that decides — configuration, then the table, then the defaults."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cellule.extensions import db

TUESDAY_10H = datetime(2026, 1, 13, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels


def _english(client):
    client.post_form("/language", {"language": "en"})


def _local(task):
    from triage.calendar import get_calendar

    return task.due_at.astimezone(get_calendar().tz).strftime("%a %d %H:%M")


def test_the_rule_config_then_table_then_defaults(app, make_user):
    from cases.followup import operations as followup

    admin = make_user("admin")
    assert followup.delays_for("high") == (24, 72, 168, 720, 2160)
    assert followup.set_delays("high", [4, 48], admin)
    db.session.commit()
    assert followup.delays_for("high") == (4, 48)
    assert followup.delays_for("imminent") == (24, 72, 168, 720, 2160)
    app.config["CELLULE_FOLLOW_UP_DELAYS"] = {"high": (2, 12)}
    assert followup.delays_for("high") == (2, 12)  # the configuration overrides
    app.config["CELLULE_FOLLOW_UP_DELAYS"] = None
    assert followup.set_delays("high", None, admin)  # back to the defaults
    db.session.commit()
    assert followup.delays_for("high") == (24, 72, 168, 720, 2160)


@pytest.mark.parametrize("hours,message", [
    ([], "between 1 and 10"), (list(range(1, 12)), "between 1 and 10"),
    ([0, 24], "from 1 to 8784"), ([24, 8785], "from 1 to 8784"),
    ([72, 24], "later than the one before"), ([24, 24], "later than the one before"),
])
def test_the_operation_refuses_what_cannot_be_a_plan(make_user, hours, message):
    from cases import operations as ops
    from cases.followup import operations as followup

    with pytest.raises(ops.OperationError) as refused:
        followup.set_delays("high", hours, make_user("admin"))
    assert message in refused.value.fields["hours"]


def test_admin_page_saves_audits_and_plans_new_cases(client, login_as, triage, resources):
    from cases.followup.operations import open_follow_ups
    from cellule.models import AuditEvent

    admin = login_as("admin")
    _english(client)
    page = client.get("/admin/follow-up-delays")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="high"' in html and 'name="imminent"' in html and "the defaults" in html
    assert client.post_form("/admin/follow-up-delays", {"high": "4, 48, 168"}).status_code \
        == 302
    audit = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "follow_up_delays")).all()
    assert [(a.object_id, a.user_id) for a in audit] == [("high", admin.id)]
    html = client.get("/admin/follow-up-delays").get_data(as_text=True)
    assert 'value="4, 48, 168"' in html
    _run, case = triage("high", at=TUESDAY_10H)
    assert [_local(t) for t in open_follow_ups(case.id)] == [
        "Tue 13 14:00", "Thu 15 10:00", "Tue 20 08:30"]


@pytest.mark.parametrize("value,message", [
    ("24, soon", "Write whole hours separated by commas"),
    ("72, 24", "in increasing order"),
    ("0", "from 1 hour to 366 days"),
    ("9000", "from 1 hour to 366 days"),
    ("1,2,3,4,5,6,7,8,9,10,11", "From 1 to 10 contacts"),
])
def test_admin_page_refuses_with_clear_messages(client, login_as, value, message):
    from cases.followup.models import FollowUpDelays

    login_as("admin")
    _english(client)
    refused = client.post_form("/admin/follow-up-delays", {"high": value, "serious": "24"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert message in html and 'id="high-error"' in html and 'aria-invalid="true"' in html
    assert f'value="{value}"' in html  # what was typed stays
    assert db.session.scalar(select(FollowUpDelays)) is None  # nothing saved, not even serious


def test_only_admins_reach_the_page(client, login_as):
    for role in ("supervisor", "advisor"):
        login_as(role)
        assert client.get("/admin/follow-up-delays").status_code == 403
        client.post_form("/logout")
    login_as("admin")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/admin/follow-up-delays"' in home


def test_a_configured_level_is_shown_as_set_by_the_server(app, client, login_as):
    app.config["CELLULE_FOLLOW_UP_DELAYS"] = {"imminent": (12, 24)}
    login_as("admin")
    _english(client)
    html = client.get("/admin/follow-up-delays").get_data(as_text=True)
    assert "Set by the server" in html and "CELLULE_FOLLOW_UP_DELAYS" in html


def test_saving_keeps_what_the_configuration_hides(app, client, login_as):
    from cases.followup import operations as followup

    admin = login_as("admin")
    followup.set_delays("imminent", [6, 30], admin)
    db.session.commit()
    app.config["CELLULE_FOLLOW_UP_DELAYS"] = {"imminent": (12, 24)}
    assert client.post_form("/admin/follow-up-delays", {"high": "8"}).status_code == 302
    app.config["CELLULE_FOLLOW_UP_DELAYS"] = None
    assert followup.stored_delays() == {"imminent": (6, 30), "high": (8,)}
