"""Numbers, percentages, hours and money in the user's locale (cellule.formatting), the
directory's prices and hours, and the browser named on the account page
(cellule.user_agents)."""

import re

import pytest
from flask_babel import force_locale

from cellule import formatting, user_agents

NBSP = "\u00a0"


@pytest.mark.parametrize("lang, pct, hours, money", [
    ("fr", f"71,8{NBSP}%", "3,5 h", f"45,00{NBSP}€"),
    ("nl", "71,8%", "3,5 h", f"€{NBSP}45,00"),
    ("de", f"71,8{NBSP}%", "3,5 h", f"45,00{NBSP}€"),
    ("en", "71.8%", "3.5 h", "€45.00"),
])
def test_figures_follow_the_locale(app, lang, pct, hours, money):
    with app.test_request_context(), force_locale(lang):
        assert formatting.percent(71.8) == pct
        assert formatting.percent(100) == pct.replace(pct[:4], "100")  # no ",0" decimal
        assert formatting.hours(3.5).startswith(hours.split(" ")[0])  # the unit is translated
        assert formatting.money(4500) == money
        assert formatting.number(1234567, 0).replace(NBSP, " ").replace("\u202f", " ") in (
            "1 234 567", "1.234.567", "1,234,567")
        assert formatting.percent(None) == formatting.hours(None) == "—"


def test_a_price_is_an_amount_or_free(app):
    with app.test_request_context(), force_locale("en"):
        assert formatting.price(None) == formatting.price(0) == "free"
        assert formatting.price(6000) == "€60.00"


def test_directory_shows_prices_free_and_hours_in_french(app, client, login_as):
    from cases.demo import RESOURCES
    from cases.models import Resource
    from cellule.extensions import db

    db.session.add_all(Resource(**values) for values in RESOURCES)
    db.session.commit()
    login_as("advisor", language="fr")
    client.post_form("/language", {"language": "fr"})
    page = client.get("/resources").get_data(as_text=True)
    assert f"45,00{NBSP}€" in page and "45.00" not in page and "45.0 " not in page
    assert "gratuit" in page or "free" in page  # a resource without a price
    assert "lun.–ven. 08:30–17:00" in page  # "Mon-Fri 08:30-17:00" in the user's language
    for untranslated in ("Gratis", "Kostenlos", "Mon-Fri"):
        assert untranslated not in page


@pytest.mark.parametrize("agent, shown", [
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/156.0.7000.1 Safari/537.36", "Chrome 156 on Linux"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/131.0.6778.85 Safari/537.36", "Chrome 131 on Linux"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/140.0.0.0 Safari/537.36 Edg/140.0.3485.54", "Edge 140 on Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:141.0) Gecko/20100101 Firefox/141.0",
     "Firefox 141 on macOS"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1", "Safari 18 on iOS"),
    ("Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/139.0.0.0 Mobile Safari/537.36", "Chrome 139 on Android"),
    ("curl/8.5.0", "Unknown browser"),
    ("", "Unknown browser"),
])
def test_the_browser_is_named_as_a_person_reads_it(app, agent, shown):
    with app.test_request_context(), force_locale("en"):
        assert user_agents.describe(agent) == shown


def test_a_contact_is_labelled_never_by_its_raw_codes(app):
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from contacts.labels import contact_label

    contact = SimpleNamespace(channel="phone", direction="in",
                              occurred_at=datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    with app.test_request_context(), force_locale("fr"):
        label = contact_label(contact)
    assert label.startswith("Téléphone · entrant · ")
    assert not re.search(r"\b(phone|in)\b", label)
    assert app.jinja_env.globals["contact_label"] is contact_label  # on every page
