"""HTTP headers and configuration (ASVS V3.4, V12, V13): CSP, HSTS, nosniff, Referrer-Policy,
framing, no-store, request size, trusted hosts, proxies."""

import re
from pathlib import Path

import pytest

from cellule import create_app
from cellule.config import ConfigError, build_config
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parents[2]


def test_csp_is_strict(client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe" not in csp and "*" not in csp


@pytest.mark.parametrize("path", ["/login", "/api/v1/health", "/no-such-page", "/api/v1/nothing"])
def test_every_answer_has_the_headers(client, path):
    h = client.get(path).headers
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "same-origin"
    assert h["X-Frame-Options"] == "DENY"
    assert h["Cache-Control"] == "no-store"
    assert "camera=()" in h["Permissions-Policy"]
    assert h["Cross-Origin-Opener-Policy"] == "same-origin"


def test_static_files_may_be_cached_but_are_not_sniffed(client):
    response = client.get("/static/js/cellule.js")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_personal_pages_are_no_store(client, login_as):
    login_as("advisor")
    for path in ("/", "/account/"):
        assert client.get(path).headers["Cache-Control"] == "no-store"


def test_hsts_when_cookies_are_secure(client, app):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    app.config["SESSION_COOKIE_SECURE"] = True
    hsts = client.get("/login").headers["Strict-Transport-Security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000
    assert "includeSubDomains" in hsts


def test_production_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("CELLULE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 64)
    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    with pytest.raises(ConfigError, match="TRUSTED_HOSTS"):
        build_config(str(tmp_path))
    monkeypatch.setenv("TRUSTED_HOSTS", "cellule.fund.be, cellule.internal")
    config = build_config(str(tmp_path))
    assert config["TRUSTED_HOSTS"] == ["cellule.fund.be", "cellule.internal"]
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert 0 < config["MAX_CONTENT_LENGTH"] <= 10 * 1024 * 1024


def test_unknown_host_is_refused(database_url, redis_url, tmp_path):
    app = create_app(
        {**base_config(database_url, redis_url), "TRUSTED_HOSTS": ["cellule.fund.be"]}, tmp_path
    )
    client = app.test_client()
    assert client.get("/login", headers={"Host": "cellule.fund.be"}).status_code == 200
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400


def test_proxy_fix_is_off_by_default_and_configurable(database_url, redis_url, tmp_path):
    from flask import request

    seen = {}

    def probe(app):
        @app.get("/probe-address")
        def probe_address():
            seen["ip"], seen["scheme"] = request.remote_addr, request.scheme
            return ""

    plain = create_app(base_config(database_url, redis_url), tmp_path / "a")
    probe(plain)
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    plain.test_client().get("/probe-address", headers=headers)
    assert seen == {"ip": "127.0.0.1", "scheme": "http"}  # forged headers are ignored

    behind = create_app(
        {**base_config(database_url, redis_url), "CELLULE_PROXY_COUNT": 1}, tmp_path / "b"
    )
    probe(behind)
    behind.test_client().get("/probe-address", headers=headers)
    assert seen == {"ip": "203.0.113.9", "scheme": "https"}


def test_request_size_is_limited(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    response = client.post("/login", data={"email": "x" * 20_000})
    assert response.status_code == 413


def test_session_cookie_is_host_only_httponly_samesite(client, make_user, app):
    app.config["SESSION_COOKIE_SECURE"] = True
    response = client.login(make_user("advisor"))
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    assert "Domain=" not in cookie and "Expires=" not in cookie  # ends with the browser


# --- No inline script or style anywhere (the CSP would block it) ----------------

TEMPLATES = sorted(
    p for p in ROOT.rglob("*.html") if ".venv" not in p.parts and "node_modules" not in p.parts
)
INLINE = [
    (re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style[\s>]", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "on* event handler"),
    (re.compile(r"\shx-on[:-]", re.I), "hx-on (needs eval)"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"\shx-vars\s*=", re.I), "hx-vars (needs eval)"),
]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_script_or_style(template):
    text = template.read_text()
    for pattern, what in INLINE:
        match = pattern.search(text)
        assert not match, f"{what} in {template.relative_to(ROOT)}: {match.group(0)!r}"


def test_htmx_is_configured_for_the_csp_and_no_browser_storage(client):
    page = client.get("/login").get_data(as_text=True)
    import json

    meta = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page)
    config = json.loads(meta.group(1))
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False
    assert config["historyCacheSize"] == 0
    assert config["selfRequestsOnly"] is True


def test_javascript_has_no_eval_or_storage():
    for path in (ROOT / "static" / "js").rglob("*.js"):
        text = path.read_text()
        for needle in ("eval(", "new Function", "setItem(", "localStorage", "innerHTML"):
            assert needle not in text, f"{needle} in {path.name}"


def test_versioned_static_files_are_kept_a_year(client):
    """The pages name static files with their version (cellule.static_files): that URL's
    answer may be kept; the same file without it, or under an old version, is revalidated."""
    page = client.get("/login").get_data(as_text=True)
    url = re.search(r'src="(/static/js/cellule\.js\?v=[0-9a-f]{12})"', page).group(1)
    kept = client.get(url)
    assert kept.status_code == 200
    assert kept.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert kept.headers["X-Content-Type-Options"] == "nosniff"
    for other in ("/static/js/cellule.js", "/static/js/cellule.js?v=000000000000"):
        response = client.get(other)
        assert response.status_code == 200
        assert "immutable" not in response.headers.get("Cache-Control", ""), other
        response.close()
    kept.close()
    assert client.get("/static/../wsgi.py?v=0").status_code == 404
