"""Throttling of sign-in attempts per account and per client address (Flask-Limiter on Redis).

Only failures count: the views answer a failed attempt (wrong password, wrong code) with
401, and a limit is deducted only then. Past a limit the attempt is refused with 429 and
`Retry-After` before any password is checked; the window moves, so there is no hard
lock-out. Storage errors are not swallowed: with Redis down, sign-in answers 503 instead of
running unthrottled.
"""

import hashlib
import hmac
import logging
import os
import time

from flask import current_app, request, session
from flask_limiter import Limiter
from flask_login import current_user
from redis.exceptions import RedisError

from .redis_conn import get_redis

log = logging.getLogger(__name__)

# Every view where a password or a second-factor code is checked.
GUARDED_ENDPOINTS = (
    "auth.login",
    "auth.login_code",
    "auth.login_enrol",
    "account.confirm",
    "account.password",
    "account.totp",
)


def storage_uri(app):
    """The Flask-Limiter storage URI of the app's Redis (the embedded one by default)."""
    url = app.config["REDIS_URL"]
    if not url:
        # The embedded server listens there once started (see `before_guarded` below).
        return "redis+unix://" + os.path.join(app.instance_path, "redis.sock")
    if url.startswith("unix://"):
        return "redis+" + url
    return url


def account_digest(email):
    """A keyed digest of an account's email: no address in Redis keys or logs."""
    key = current_app.config["SECRET_KEY"].encode()
    normalised = (email or "").strip().lower().encode()
    return hmac.new(key, normalised, hashlib.sha256).hexdigest()[:32]


def _account_key():
    """The account the request tries to prove itself as, by the view that checks it.

    The password step (`auth.login`) names its account in the form's email, whatever the
    session holds: a session already past another account's password step must not spend
    that account's allowance (nor spare the one being guessed). The second step
    (`auth.login_code`, `auth.login_enrol`) names no account: it checks the code of the
    pending one the password step put in the session. The account views (`account.*`)
    check the signed-in user's own password or code.
    """
    if request.endpoint == "auth.login":
        return "acct:" + account_digest(request.form.get("email", ""))
    if request.endpoint in ("auth.login_code", "auth.login_enrol"):
        pending = session.get("auth_pending")
        acct = pending.get("acct") if isinstance(pending, dict) else None
        return "acct:" + str(acct or "none")
    if current_user.is_authenticated:
        return "acct:" + account_digest(current_user.email)
    return "acct:none"


def _address_key():
    return "ip:" + (request.remote_addr or "unknown")


def _failed(response):
    return response.status_code == 401


def init_app(app):
    """Create the app's limiter and guard the sign-in views (call after the blueprints)."""
    timeout = app.config["REDIS_SOCKET_TIMEOUT"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(app))
    app.config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS",
        {"socket_timeout": timeout, "socket_connect_timeout": timeout * 4},
    )
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", False)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "cellule")
    limiter = Limiter(key_func=_address_key, default_limits=[], application_limits=[])
    limiter.init_app(app)
    _tolerate_storage_loss_after_the_answer(app)
    app.extensions["cellule_limiter"] = limiter

    per_account = limiter.shared_limit(
        lambda: current_app.config["CELLULE_LOGIN_LIMIT_ACCOUNT"],
        scope="signin-account",
        key_func=_account_key,
        deduct_when=_failed,
        methods=["POST"],
    )
    per_address = limiter.shared_limit(
        lambda: current_app.config["CELLULE_LOGIN_LIMIT_IP"],
        scope="signin-address",
        key_func=_address_key,
        deduct_when=_failed,
        methods=["POST"],
    )
    for endpoint in GUARDED_ENDPOINTS:
        view = app.view_functions.get(endpoint)
        if view is not None:
            app.view_functions[endpoint] = per_address(per_account(view))

    @app.before_request
    def before_guarded():
        # The embedded Redis starts on first use; make sure it runs before the limiter asks.
        if request.endpoint in GUARDED_ENDPOINTS and request.method == "POST":
            get_redis()
    # Run before the limiter's own check (registered by init_app above).
    funcs = app.before_request_funcs.setdefault(None, [])
    funcs.insert(0, funcs.pop())
    return limiter


def _tolerate_storage_loss_after_the_answer(app):
    """Redis lost between the limiter's check and its after-request hook (counting a failed
    attempt, writing the X-RateLimit headers) must not turn the answer already decided into
    a 500: that hook's error is logged and the answer goes out. The attempt was checked
    before the view ran, and with Redis gone the next one meets the check's 503."""
    funcs = app.after_request_funcs.setdefault(None, [])
    for index, func in enumerate(funcs):
        if getattr(func, "func", None) is getattr(Limiter, "_Limiter__inject_headers", None):
            funcs[index] = _tolerant(func)


def _tolerant(hook):
    def after_request(response):
        try:
            return hook(response)
        except (RedisError, OSError) as error:
            log.warning("sign-in throttle: Redis lost after the check (%s); answer sent",
                        type(error).__name__)
            return response

    return after_request


def get_limiter(app=None):
    return (app or current_app).extensions["cellule_limiter"]


def retry_after_seconds():
    """Seconds until the breached limit of this request lets one more attempt through."""
    try:
        limit = get_limiter().current_limit
    except Exception:  # no limit evaluated in this request
        return 60
    if limit is None:
        return 60
    return max(1, int(limit.reset_at - time.time()))
