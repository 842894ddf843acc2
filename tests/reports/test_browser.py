"""The dashboard in a real browser: filters update the report in place, charts render."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_dashboard_filters_update_in_place_and_charts_render(
        page, browser_login, click_nav, make_user, activity):
    supervisor = make_user("supervisor", language="en")
    browser_login(supervisor)
    click_nav("Dashboard")
    page.locator("#language-select").select_option("en")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    page.evaluate("() => { window.cellMarker = 42; }")  # lost if the page reloads

    # Both dates typed in a row, the second before the first one's response: neither is lost.
    page.get_by_label("From", exact=True).fill("2025-03-01")
    page.get_by_label("To", exact=True).fill("2025-03-31")
    expect(page).to_have_url(re.compile(r"preset=custom.*from=2025-03-01&to=2025-03-31"))
    expect(page.get_by_label("Period", exact=True)).to_have_value("custom")
    expect(page.get_by_label("To", exact=True)).to_have_value("2025-03-31")
    expect(page.locator("#kpi-contacts")).to_have_text("9")
    expect(page.locator("#kpi-satisfied")).to_have_text("60%")

    chart = page.get_by_role("img", name=re.compile(r"^Contacts by channel"))
    expect(chart).to_be_visible()
    bars = page.locator("#chart-contacts rect[data-series='phone'] title")
    expect(bars.first).to_have_text(re.compile(r"Phone: \d"))
    assert bars.count() == 5  # five days with phone calls (the legend key has no title)
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 150

    page.get_by_label("Group by", exact=True).select_option("week")
    expect(page).to_have_url(re.compile(r"granularity=week"))
    rows = page.locator("#h-contacts ~ details table tbody tr")
    expect(rows).to_have_count(6)  # 1–2, 3–9, 10–16, 17–23, 24–30 and 31 March

    page.get_by_label("Period", exact=True).select_option("last_month")
    expect(page).to_have_url(re.compile(r"preset=last_month"))
    expect(page.get_by_label("Period", exact=True)).to_have_value("last_month")
    expect(page.get_by_label("From", exact=True)).not_to_have_value("2025-03-01")  # preset's dates
    assert page.evaluate("() => window.cellMarker") == 42  # no reload at any step


# Every text of every chart inside the chart's own box (no label cut at an edge).
TEXTS_OUTSIDE = """() => Array.from(document.querySelectorAll('svg.chart')).flatMap(svg => {
  const box = svg.viewBox.baseVal;
  return Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim()).map(t => {
    const b = t.getBBox();
    return (b.x < -0.5 || b.x + b.width > box.width + 0.5 || b.y < -0.5
            || b.y + b.height > box.height + 0.5) ? svg.id + ': ' + t.textContent : null;
  }).filter(Boolean);
})"""


@pytest.mark.parametrize("width", [1366, 390])
def test_charts_in_french_keep_their_labels_whole_and_figures_french(
        page, browser_login, click_nav, make_user, activity, width):
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(make_user("supervisor", language="fr"))
    click_nav("Tableau de bord")
    page.get_by_label("Depuis", exact=True).fill("2025-03-01")
    page.get_by_label("Jusqu'au", exact=True).fill("2025-03-31")
    expect(page.locator("#kpi-contacts")).to_have_text("9")
    expect(page.locator("#kpi-satisfied")).to_have_text("60\u00a0%")
    levels = page.get_by_role("img", name=re.compile(r"^Dossiers ouverts par niveau"))
    expect(levels).to_contain_text("Danger imminent")
    expect(page.locator("#chart-contacts")).to_contain_text("Visite au guichet")
    assert page.evaluate(TEXTS_OUTSIDE) == []
    on_time = page.locator("#chart-on-time").text_content()
    assert not re.search(r"\d\.\d", on_time) and "%" in on_time
