"""Enumerate the application's routes, so that the cross-cutting security tests cover the
routes added later too."""

import re

from werkzeug.routing import AnyConverter, IntegerConverter, PathConverter, UUIDConverter

from cellule.api import PREFIX

ROLES = ("ambassador", "advisor", "psychologist", "supervisor", "admin")
ANONYMOUS = "anonymous"
ALL = (ANONYMOUS, *ROLES)
MISSING_ID = 999_999
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def is_api(rule):
    return rule.rule.startswith(PREFIX + "/") or rule.rule == PREFIX


def html_rules(app):
    """Every rule of the HTML interface (not the API, not static files), sorted."""
    return sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint != "static" and not is_api(r)),
        key=lambda r: (r.rule, r.endpoint),
    )


def methods_of(rule):
    return [m for m in HTTP_METHODS if m in rule.methods]


def arg_value(converter, object_id=MISSING_ID):
    if isinstance(converter, IntegerConverter):
        return object_id
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    if isinstance(converter, UUIDConverter):
        return "00000000-0000-0000-0000-000000000000"
    if isinstance(converter, PathConverter):
        return "nonexistent/path"
    return "nonexistent"


def build_path(app, rule, object_id=MISSING_ID):
    """A path of `rule` whose arguments point at nothing (ids that do not exist)."""
    values = {name: arg_value(conv, object_id) for name, conv in rule._converters.items()}
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def has_arguments(rule):
    return bool(rule.arguments)


def main_pages(app):
    """The pages without arguments that a browser opens with GET."""
    skip = {"auth.login_code", "auth.login_enrol"}  # steps of signing in, not pages
    return [
        r.rule
        for r in html_rules(app)
        if "GET" in r.methods and not r.arguments and r.endpoint not in skip
    ]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>|\sstyle\s*=|\son[a-z]+\s*=", re.I)
