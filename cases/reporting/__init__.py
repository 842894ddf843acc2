"""Reporting: the supervisors' dashboard, the report API and the anonymised CSV export.

- `periods`: the period of a report (presets, dates, granularity);
- `figures`: the figures, counted in the database (`build_report`);
- `anonymise`: what may leave the cell (small counts suppressed);
- `export` and `models`: the CSV export, its table and its `export_report` job;
- `charts`: the dashboard's SVG charts;
- `views` (`/reports/…`), `api` (`/api/v1/reports/summary`) and its `schemas`.
"""

from flask_babel import format_date

from cellule import formatting

from . import api, views


def register(app):
    """Add the template filters, register the blueprints (settings: cellule.settings)."""
    app.jinja_env.filters["format_day"] = lambda d: format_date(d, "medium") if d else ""
    app.jinja_env.filters["pct"] = formatting.percent  # hours: cellule.formatting
    app.register_blueprint(views.bp)
    app.register_blueprint(api.api_bp)
