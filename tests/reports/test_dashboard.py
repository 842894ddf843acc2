"""The supervisors' dashboard: access, charts with their tables, htmx filters, the CSP."""

import re

import pytest
from sqlalchemy import event

from cellule.extensions import db

from .conftest import MARCH


@pytest.fixture
def supervisor(login_as):
    return login_as("supervisor")


def test_dashboard_shows_each_chart_with_its_table(client, supervisor, activity):
    response = client.get("/reports/", query_string=MARCH)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    charts = re.findall(r'<svg [^>]*id="(chart-[a-z-]+)"[^>]*role="img"', page)
    assert set(charts) == {"chart-contacts", "chart-cases", "chart-levels", "chart-routes",
                           "chart-response", "chart-on-time", "chart-overdue", "chart-queues",
                           "chart-satisfaction", "chart-scores"}
    for chart in charts:
        assert f'<title id="{chart}-title">' in page
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in page
    assert page.count("<details><summary>") >= 7  # the table behind each section
    assert 'id="kpi-contacts">9<' in page
    assert 'id="kpi-satisfied">60%<' in page  # English: no space before the sign
    # The response-time table: elevated median 6 h and p90 23.4 h.
    table = page[page.index('id="table-response"'):]
    assert re.search(r"<td>4</td><td>6 h</td><td>23.4 h</td>", table)


def test_dashboard_numbers_follow_the_users_locale_charts_included(client, supervisor,
                                                                   activity):
    """French: a decimal comma and a (no-break) space before "%" and "h", in the figures and
    in the charts alike; no figure is written the English way."""
    client.post_form("/language", {"language": "fr"})
    page = client.get("/reports/", query_string=MARCH).get_data(as_text=True)
    assert 'id="kpi-satisfied">60\u00a0%<' in page
    table = page[page.index('id="table-response"'):]
    assert re.search(r"<td>4</td><td>6\sh</td><td>23,4\sh</td>", table)
    charts = re.findall(r"<svg .*?</svg>", page, re.S)
    texts = " ".join(re.findall(r">([^<>]+)<", " ".join(charts)))
    assert re.search(r"23,4\sh", texts) and "60\u00a0%" in texts
    assert not re.search(r"\d\.\d", texts), "a figure written the English way in a chart"
    assert not re.search(r"\d %", texts)  # the percent sign never after a breaking space


def test_no_inline_style_or_script(client, supervisor, activity):
    page = client.get("/reports/", query_string=MARCH).get_data(as_text=True)
    assert not re.search(r"\sstyle=", page)
    assert "<style" not in page
    assert not re.search(r"<script(?![^>]*\ssrc=)", page)
    assert not re.search(r"\son[a-z]+=", page)  # no event handler attributes


def test_htmx_filter_returns_the_fragment_and_pushes_the_canonical_url(client, supervisor,
                                                                       activity):
    response = client.get(
        "/reports/",
        query_string={**MARCH, "preset": "last_quarter"},
        headers={"HX-Request": "true", "HX-Target": "report", "HX-Trigger-Name": "preset"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith('<div id="report">')
    assert "<html" not in page
    assert response.headers["HX-Push-Url"] == "/reports/?preset=last_quarter&granularity=day"
    assert 'hx-swap-oob="true"' in page  # the export form follows the period
    assert "Vary" in response.headers and "HX-Request" in response.headers["Vary"]


def test_editing_a_date_switches_to_custom(client, supervisor, app):
    response = client.get(
        "/reports/",
        query_string={"preset": "last_quarter", "from": "2025-02-01", "to": "2025-02-28"},
        headers={"HX-Request": "true", "HX-Target": "report", "HX-Trigger-Name": "to"},
    )
    assert response.headers["HX-Push-Url"] == (
        "/reports/?preset=custom&granularity=auto&from=2025-02-01&to=2025-02-28")
    assert 'value="2025-02-28"' in response.get_data(as_text=True)


def test_bad_period_is_a_422_page_not_a_500(client, supervisor):
    response = client.get("/reports/", query_string={"from": "2025-03-31", "to": "2025-01-01"})
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["ambassador", "advisor", "psychologist", "admin"])
def test_only_supervisors_see_the_dashboard(client, login_as, role):
    login_as(role)
    assert client.get("/reports/").status_code == 403


def test_navigation_entry_for_supervisors(client, supervisor):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/reports/"' in page


def test_query_budget(client, supervisor, activity, app):
    client.get("/reports/", query_string=MARCH)  # warm up
    statements = []

    def count(*args, **kwargs):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get("/reports/", query_string=MARCH).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    figures = [s for s in statements if "user_sessions" not in s and "users" not in s]
    # + 1 (reassess19): the re-assessments; + 1 (appoint20): the appointments
    assert len(figures) <= 22, statements
