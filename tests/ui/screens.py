"""Screenshots of every main page of every role, at 1366 and 390 px.

    python -m tests.ui.screens OUTDIR [--languages fr,en] [--roles advisor,admin]

Starts the application on the embedded defaults (a SQLite file and an embedded Redis in a
temporary instance folder), seeds the demo world, serves it on a free loopback port and
walks tests/ui/pages.py in Chromium, one browser context per role, width and language:
OUTDIR/<language>/<role>-<width>-<page>.png, full page. OUTDIR is not committed
(`screens/` at the top of the repository is ignored by git).
"""

import argparse
import logging
import pathlib
import secrets
import shutil
import socket
import sys
import tempfile
import threading

from . import pages

CHROMIUM = "/usr/bin/chromium"


def make_app(instance):
    """The app on a fresh SQLite database and an embedded Redis under `instance`, migrated
    and seeded with the demo world; returns (app, {role: Login})."""
    from flask_migrate import upgrade

    from cellule import create_app

    app = create_app({
        "SECRET_KEY": secrets.token_hex(16),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/screens.db",
        "REDIS_URL": "",
        "CELLULE_OUT_OF_HOURS_REPLY": False,
    }, str(instance))
    with app.app_context():
        upgrade(revision="heads")
        logins = pages.build_world()
    return app, logins


def serve(app):
    """Serve `app` on a free loopback port in a thread; return (base_url, server)."""
    from werkzeug.serving import make_server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}", server


def capture(app, base_url, logins, outdir, languages, roles):
    from playwright.sync_api import sync_playwright

    count = 0
    with sync_playwright() as p, app.app_context():
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for language in languages:
            folder = outdir / language
            folder.mkdir(parents=True, exist_ok=True)
            for role in roles:
                for width in pages.WIDTHS:
                    context = browser.new_context(
                        viewport={"width": width, "height": pages.HEIGHT},
                        locale="en-GB", timezone_id="Europe/Brussels")
                    page = context.new_page()
                    pages.sign_in(page, base_url, logins[role], language)
                    problems = []
                    for name in pages.walk(page, role, problems):
                        page.screenshot(path=folder / f"{role}-{width}-{name}.png",
                                        full_page=True)
                        count += 1
                    for problem in problems:
                        print(f"{language} {role} {width}: {problem}", file=sys.stderr)
                    context.close()
        browser.close()
    return count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=pathlib.Path)
    parser.add_argument("--languages", default="fr,en")
    parser.add_argument("--roles", default=",".join(pages.ROLES))
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    instance = pathlib.Path(tempfile.mkdtemp(prefix="cellule-screens-"))
    try:
        app, logins = make_app(instance)
        base_url, server = serve(app)
        count = capture(app, base_url, logins, args.outdir, args.languages.split(","),
                        args.roles.split(","))
        server.shutdown()
    finally:
        shutil.rmtree(instance, ignore_errors=True)
    print(f"{count} screenshots in {args.outdir}")


if __name__ == "__main__":
    main()
