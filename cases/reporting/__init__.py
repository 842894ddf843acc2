"""Reporting: the supervisors' dashboard, the report API and the anonymised CSV export.

- `periods`: the period of a report (presets, dates, granularity);
- `figures`: the figures, counted in the database (`build_report`);
- `anonymise`: what may leave the cell (small counts suppressed);
- `export` and `models`: the CSV export, its table and its `export_report` job;
- `charts`: the dashboard's SVG charts;
- `views` (`/reports/…`), `api` (`/api/v1/reports/summary`) and its `schemas`.
"""

from flask_babel import format_date, format_decimal

from . import api, views


def _hours_filter(value):
    return "—" if value is None else f"{format_decimal(round(value, 1))} h"


def register(app):
    """Add the template filters, register the blueprints (settings: cellule.settings)."""
    app.jinja_env.filters["format_day"] = lambda d: format_date(d, "medium") if d else ""
    app.jinja_env.filters["hours"] = _hours_filter
    app.jinja_env.filters["pct"] = lambda v: "—" if v is None else f"{format_decimal(v)} %"
    app.register_blueprint(views.bp)
    app.register_blueprint(api.api_bp)
