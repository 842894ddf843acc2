"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from cellule import create_app

app = create_app()
