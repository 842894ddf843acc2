"""The dashboard's figures against a dataset worked out by hand (see conftest.activity)."""

from datetime import date

import pytest

from cases.reporting import anonymise, figures
from cases.reporting.anonymise import anonymised
from cases.reporting.figures import build_report
from cases.reporting.periods import BadPeriod, parse_period

from .conftest import NOW


@pytest.fixture
def report(activity, march):
    return build_report(march, now=NOW).to_dict()


def _by_day(series, key):
    return {s["from"]: s["counts"][key] for s in series if s["counts"][key]}


def test_contacts_by_channel_and_local_day(report):
    contacts = report["contacts"]
    assert contacts["total"] == 9
    assert contacts["by_channel"] == {"phone": 6, "email": 2, "internal_referral": 0,
                                      "web": 1, "walk_in": 0}
    assert contacts["by_direction"] == {"in": 8, "out": 1}
    assert len(contacts["series"]) == 31
    # 28 Feb 23:30 UTC is 1 March local; 10 March 23:30 UTC is 11 March; 31 March 21:30 UTC
    # (CEST) is still 31 March; 31 March 22:30 UTC is 1 April and stays out.
    assert _by_day(contacts["series"], "phone") == {
        "2025-03-01": 1, "2025-03-03": 2, "2025-03-11": 1, "2025-03-20": 1, "2025-03-31": 1}
    assert _by_day(contacts["series"], "email") == {"2025-03-05": 2}
    assert _by_day(contacts["series"], "web") == {"2025-03-15": 1}


def test_cases_opened_closed_and_mix(report):
    cases = report["cases"]
    assert cases["opened"] == 8
    assert cases["closed"] == 3  # K2 closed at 00:30 on 1 April local time
    assert _by_day(cases["series"], "opened") == {
        "2025-03-03": 1, "2025-03-05": 1, "2025-03-10": 1, "2025-03-12": 1, "2025-03-15": 1,
        "2025-03-20": 1, "2025-03-25": 1, "2025-03-31": 1}
    assert _by_day(cases["series"], "closed") == {"2025-03-02": 1, "2025-03-18": 1,
                                                  "2025-03-20": 1}
    assert cases["by_level"] == {"low": 0, "at_risk": 0, "elevated": 5, "serious": 2,
                                 "high": 1, "imminent": 0}
    assert cases["by_route"] == {"information": 1, "coaching": 4, "psychologist": 3,
                                 "crisis": 0}
    assert cases["outcomes"] == {"resolved": 2, "referred_external": 1, "declined": 0,
                                 "no_contact": 0, "other": 0}


def test_time_to_first_response_median_p90_and_on_time(report):
    levels = report["first_response"]["levels"]
    # Elevated: 2, 4, 8, 30 h → median 6, p90 = 8 + 0.7 × 22 = 23.4; 3 on time, K3 late,
    # K10 not yet due.
    assert levels["elevated"] == {"responded": 4, "median_hours": 6.0, "p90_hours": 23.4,
                                  "on_time": 3, "late": 1, "pending": 1, "share_on_time": 0.75}
    # Serious: K5 in 1 h; K6 never answered and past its deadline.
    assert levels["serious"] == {"responded": 1, "median_hours": 1.0, "p90_hours": 1.0,
                                 "on_time": 1, "late": 1, "pending": 0, "share_on_time": 0.5}
    assert levels["high"]["median_hours"] == 3.0
    assert levels["high"]["share_on_time"] == 1.0
    assert levels["low"] == {"responded": 0, "median_hours": None, "p90_hours": None,
                             "on_time": 0, "late": 0, "pending": 0, "share_on_time": None}
    # All: 1, 2, 3, 4, 8, 30 → median 3.5, p90 = 8 + 0.5 × 22 = 19; on time 5 of 7.
    everything = report["first_response"]["all"]
    assert everything == {"responded": 6, "median_hours": 3.5, "p90_hours": 19.0,
                          "on_time": 5, "late": 2, "pending": 1,
                          "share_on_time": round(5 / 7, 4)}


def test_tasks_overdue_and_queue_age(report):
    overdue = report["overdue"]
    assert (overdue["tasks_due"], overdue["tasks_on_time"], overdue["tasks_late"]) == (3, 1, 2)
    assert overdue["tasks_by_kind"]["callback"] == {"due": 2, "on_time": 1, "late": 1}
    assert overdue["tasks_by_kind"]["check_in"] == {"due": 1, "on_time": 0, "late": 1}
    assert overdue["now"]["tasks"] == 2
    assert overdue["now"]["tasks_by_kind"]["custom"] == 1
    assert overdue["now"]["cases"] == 2
    assert overdue["now"]["cases_by_route"] == {"information": 0, "coaching": 1,
                                                "psychologist": 1, "crisis": 0}
    queues = report["queues"]
    # Advisors: K11 waits 6 h, K9 314 h, K10 506 h; psychology: K6 624 h.
    assert queues["advisors"] == {"waiting": 3, "oldest_hours": 506.0, "median_hours": 314.0,
                                  "bands": {"lt_1d": 1, "1_3d": 0, "3_7d": 0, "ge_7d": 2}}
    assert queues["psychology"] == {"waiting": 1, "oldest_hours": 624.0,
                                    "median_hours": 624.0,
                                    "bands": {"lt_1d": 0, "1_3d": 0, "3_7d": 0, "ge_7d": 1}}


def test_satisfaction_against_the_target(report):
    assert report["satisfaction"] == {
        "sent": 6, "answered": 5, "response_rate": round(5 / 6, 4), "mean_score": 3.6,
        "satisfied": 3, "share_satisfied": 0.6, "target": 0.7,
        "scores": {"1": 0, "2": 1, "3": 1, "4": 2, "5": 1},
    }


def test_week_buckets_and_progress(activity, app):
    period = parse_period({"from": "2025-03-01", "to": "2025-03-31", "granularity": "week"},
                          now=NOW)
    calls = []
    report = build_report(period, now=NOW, progress=lambda done, total: calls.append(done))
    # 7: the re-assessments (reassess19); 8: the appointments (appoint20)
    assert calls == [1, 2, 3, 4, 5, 6, 7, 8]
    series = report.to_dict()["contacts"]["series"]
    # Weeks start on Monday; the first and last are cut to the period.
    assert [(s["from"], s["to"]) for s in series][:2] == [("2025-03-01", "2025-03-02"),
                                                          ("2025-03-03", "2025-03-09")]
    assert series[-1] == {"from": "2025-03-31", "to": "2025-03-31",
                          "counts": {"phone": 1, "email": 0, "internal_referral": 0, "web": 0,
                                     "walk_in": 0}, "total": 1}
    assert sum(s["total"] for s in series) == 9


def test_empty_period_gives_zeros_not_errors(app):
    report = build_report(parse_period({"from": "2024-01-01", "to": "2024-12-31"}, now=NOW),
                          now=NOW).to_dict()
    assert report["contacts"]["total"] == 0
    assert report["first_response"]["all"]["median_hours"] is None
    assert report["satisfaction"]["share_satisfied"] is None
    assert len(report["contacts"]["series"]) == 53  # weeks of 2024 (auto: by week)


# --------------------------------------------------------------------------- anonymising


def test_anonymised_report_suppresses_small_counts(report):
    published = anonymised(report, k=5)
    contacts = published["contacts"]
    assert contacts["total"] == 9
    assert contacts["by_channel"] == {"phone": 6, "email": None, "internal_referral": 0,
                                      "web": None, "walk_in": 0}
    # 1 outgoing alone would be given away by the total: the incoming count goes too.
    assert contacts["by_direction"] == {"in": None, "out": None}
    assert all(v in (0, None) for s in contacts["series"] for v in s["counts"].values())
    cases = published["cases"]
    assert cases["by_level"]["elevated"] == 5
    assert cases["by_level"]["serious"] is None and cases["by_level"]["high"] is None
    assert cases["opened"] == 8
    first = published["first_response"]
    assert first["all"]["median_hours"] == 3.5 and first["all"]["share_on_time"] == 0.7143
    assert first["all"]["on_time"] == 5
    assert first["all"]["late"] is None and first["all"]["pending"] is None
    assert first["levels"]["elevated"]["median_hours"] is None  # 4 answers only
    assert first["levels"]["elevated"]["responded"] is None
    satisfaction = published["satisfaction"]
    assert satisfaction["mean_score"] == 3.6 and satisfaction["share_satisfied"] == 0.6
    assert satisfaction["scores"] == {"1": 0, "2": None, "3": None, "4": None, "5": None}
    assert published["queues"]["psychology"]["oldest_hours"] is None
    assert published["suppression_threshold"] == 5
    # The raw report is untouched.
    assert report["contacts"]["by_channel"]["email"] == 2


def test_threshold_is_configurable(report, app):
    app.config["CELLULE_REPORT_MIN_COUNT"] = 2
    published = anonymised(report)
    assert published["first_response"]["levels"]["elevated"]["median_hours"] == 6.0
    assert published["satisfaction"]["scores"] == {"1": 0, "2": None, "3": None, "4": 2,
                                                   "5": None}
    assert published["suppression_threshold"] == 2


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"a": 10, "b": 3, "c": 0}, {"a": None, "b": None, "c": 0}),
        ({"a": 10, "b": 3, "c": 7}, {"a": 10, "b": None, "c": None}),
        ({"a": 10, "b": 3, "c": 2}, {"a": 10, "b": None, "c": None}),
        ({"a": 10, "b": 8}, {"a": 10, "b": 8}),
    ],
)
def test_secondary_suppression(counts, expected):
    assert anonymise.suppress_group(counts, 5) == expected


def test_table_suppression_protects_rows_and_columns():
    rows = [{"x": 9, "y": 2, "z": 8}, {"x": 7, "y": 6, "z": 9}]
    out = anonymise.suppress_table(rows, ("x", "y", "z"), 5)
    # y=2 alone in its row → the smallest other (z=8) goes; then columns y and z each
    # have one hidden cell → 6 and 9 go; row 2 now has two hidden cells.
    assert out == [{"x": 9, "y": None, "z": None}, {"x": 7, "y": None, "z": None}]
    for row in out:
        assert sum(v is None for v in row.values()) != 1
    for key in ("x", "y", "z"):
        assert sum(row[key] is None for row in out) != 1


# --------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("last_30_days", date(2025, 3, 17), date(2025, 4, 15)),
        ("this_month", date(2025, 4, 1), date(2025, 4, 15)),
        ("last_month", date(2025, 3, 1), date(2025, 3, 31)),
        ("this_quarter", date(2025, 4, 1), date(2025, 4, 15)),
        ("last_quarter", date(2025, 1, 1), date(2025, 3, 31)),
        ("this_year", date(2025, 1, 1), date(2025, 4, 15)),
        ("last_year", date(2024, 1, 1), date(2024, 12, 31)),
    ],
)
def test_presets(app, preset, start, end):
    period = parse_period({"preset": preset}, now=NOW)
    assert (period.start, period.end) == (start, end)


def test_period_in_local_time(app):
    period = parse_period({"from": "2025-03-01", "to": "2025-03-31"}, now=NOW)
    assert period.preset == "custom"
    assert period.start_at.isoformat() == "2025-02-28T23:00:00+00:00"  # CET
    assert period.end_at.isoformat() == "2025-03-31T22:00:00+00:00"  # CEST


@pytest.mark.parametrize(
    ("args", "status", "field"),
    [
        ({"from": "yesterday"}, 400, "from"),
        ({"from": "2025-02-30"}, 400, "from"),
        ({"preset": "forever"}, 400, "preset"),
        ({"granularity": "hour"}, 400, "granularity"),
        ({"from": "2025-03-31", "to": "2025-03-01"}, 422, "to"),
        ({"from": "2010-01-01", "to": "2025-01-01"}, 422, "to"),
    ],
)
def test_bad_periods(app, args, status, field):
    with pytest.raises(BadPeriod) as caught:
        parse_period(args, now=NOW)
    assert caught.value.status == status
    assert field in caught.value.fields


def test_percentile_matches_linear_interpolation(app, make_case):
    from sqlalchemy import literal

    from cases.models import Case

    for hours in (10, 1, 7, 3, 5):
        make_case(opened="2025-03-01 00:00", response=f"2025-03-01 {hours:02d}:00")
    result = figures.percentiles(
        literal("all"), figures._seconds(Case.opened_at, Case.first_response_at),
        [Case.first_response_at.is_not(None)], ks=(0, 25, 50, 90, 100))["all"]
    # Sorted 1, 3, 5, 7, 10 (hours): numpy/PostgreSQL percentile_cont.
    assert result["n"] == 5
    assert [round(result[k] / 3600, 4) for k in (0, 25, 50, 90, 100)] == [1, 3, 5, 8.8, 10]


def test_demo_history_fills_the_dashboard(app):
    from datetime import timedelta

    from cellule.cli import seed_demo
    from cellule.extensions import db
    from cellule.types import utcnow

    seed_demo()
    db.session.commit()
    today = utcnow().date()
    period = parse_period({"from": (today - timedelta(days=150)).isoformat(),
                           "to": today.isoformat()})
    report = build_report(period).to_dict()
    assert report["cases"]["closed"] >= 30
    assert report["first_response"]["all"]["median_hours"] is not None
    assert report["satisfaction"]["answered"] >= 15
    assert 0 < report["satisfaction"]["share_satisfied"] < 1
