"""The JSON API's common ground: bearer tokens, JSON errors, health, OpenAPI.

Domain API blueprints call `api_blueprint(name)` to get a blueprint under
`/api/v1` that only bearer tokens may use (no cookies, so no CSRF exposure).
"""

import json
import re
from datetime import timedelta
from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request

from . import background
from .extensions import csrf, database_unavailable, db
from .models import ApiToken
from .redis_conn import get_redis
from .types import utcnow

PREFIX = "/api/v1"

bp = Blueprint("api", __name__, url_prefix=PREFIX)

# Paths documented in /api/v1/openapi.json; each domain adds its own.
OPENAPI_PATHS = {}
OPENAPI_SCHEMAS = {}


class ApiError(Exception):
    """An error answered as `{"error": ..., "fields": {...}}` with its status."""

    def __init__(self, status, error, fields=None):
        super().__init__(error)
        self.status = status
        self.error = error
        self.fields = fields or {}

    def response(self):
        body = {"error": self.error}
        if self.fields:
            body["fields"] = self.fields
        return jsonify(body), self.status


def error_response(status, error, fields=None):
    return ApiError(status, error, fields).response()


# `last_used_at` is written at most once a minute per token: an UPDATE and a commit on
# every call cost more than most calls, and serialise the concurrent calls of one token.
TOKEN_TOUCH_EVERY = timedelta(seconds=60)


def _authenticate():
    """Resolve the bearer token to a user, or answer 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error_response(401, "authentication required")
    row = db.session.scalar(
        db.select(ApiToken).where(ApiToken.digest == ApiToken.digest_of(token.strip()))
    )
    if row is None or row.revoked_at is not None or not row.user.active:
        return error_response(401, "invalid or revoked token")
    now = utcnow()
    if row.expires_at <= now:
        # Said as such: the owner of an integration that stopped needs to know why.
        return error_response(401, "token expired")
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_EVERY:
        row.last_used_at = now
        db.session.commit()
    # Flask-Login reads the current user from here; no session cookie is involved.
    g._login_user = row.user
    g.api_token_id = row.id  # Idempotency-Key values are per token (cellule.idempotency)
    return None


def api_blueprint(name, import_name):
    """Return a CSRF-exempt blueprint under /api/v1 that requires a bearer token."""
    blueprint = Blueprint(name, import_name, url_prefix=PREFIX)
    blueprint.before_request(_authenticate)
    csrf.exempt(blueprint)
    return blueprint


# Deeper JSON is no request of ours, and 3000 nested brackets exhaust the decoder's stack.
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_body():
    """Return the request's JSON object; every API route reads its body here.

    A body that is not a JSON object, or nests deeper than MAX_JSON_DEPTH, is a 400; a
    string (or a name) holding a lone surrogate — which no database can store — is a 422
    naming its field ("person.name", "reasons.1").
    """
    if _too_deep(request.get_data(cache=True)):
        raise ApiError(400, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    fields = _lone_surrogates(data)
    if fields:
        raise ApiError(422, "a text holds a lone surrogate", fields)
    return data


def _too_deep(raw):
    """Whether the JSON text nests arrays and objects deeper than MAX_JSON_DEPTH, read
    before it is parsed (brackets inside strings do not count)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return False  # the common case, without decoding
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    except (UnicodeDecodeError, LookupError):
        return False  # not JSON: the parser refuses it
    depth = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


def _lone_surrogates(data):
    """{field path: message} for each string or name of `data` holding a lone surrogate
    (a "\\ud800" escape, or its bytes, pass the JSON decoder but cannot be encoded)."""
    fields = {}
    queue = [("", data)]
    for path, value in queue:  # breadth first; the depth is bounded already
        if len(fields) >= 20:
            break
        if isinstance(value, str):
            if _SURROGATE.search(value):
                fields[path] = "must not hold a lone surrogate (an unpaired \\ud800-\\udfff)"
        elif isinstance(value, dict):
            for key, child in value.items():
                name = f"{path}.{key}" if path else key
                if _SURROGATE.search(key):
                    fields[_SURROGATE.sub("\ufffd", name)] = "a name with a lone surrogate"
                else:
                    queue.append((name, child))
        elif isinstance(value, list):
            queue.extend((f"{path}.{i}", child) for i, child in enumerate(value))
    return fields


def documented(path, spec):
    """Add an OpenAPI path item for `path` (relative to /api/v1)."""
    OPENAPI_PATHS.setdefault(path, {}).update(spec)


csrf.exempt(bp)


def _check_database(status):
    """Read the outbox backlog and the emails in quarantine (awaiting an admin; they block
    nothing), in one statement that also checks the database; return (oldest, waiting).
    A database that fails is "down" in `status`."""
    try:
        oldest, waiting, quarantined = background.backlog(quarantine=True)
    except Exception as error:  # any driver error means "down" here
        _database_check_failed(error)
        status["database"] = "down"
        return None, None
    status["mail_quarantine"] = quarantined
    return oldest, waiting


def _database_check_failed(error):
    """Log a failed database check and drop the broken transaction."""
    from .errors import database_failed

    if database_unavailable(error):
        database_failed(error)  # one log line per outage, not one per probe
    else:
        current_app.logger.warning("health: database check failed", exc_info=True)
    try:
        db.session.rollback()
    except Exception:  # the connection itself may be what broke
        pass


def _check_redis(status):
    """Ping Redis; return the workers' last heartbeat. A Redis that fails is "down" in
    `status` (and the heartbeat None)."""
    try:
        connection = get_redis()
        connection.ping()
        return background.last_beat(connection)
    except Exception:
        current_app.logger.warning("health: redis unreachable")
        status["redis"] = "down"
        return None


@bp.get("/health")
def health():
    """Report whether the database, Redis and the workers answer (DESIGN §9)."""
    status = {"status": "ok", "database": "ok", "redis": "ok"}
    oldest, waiting = _check_database(status)
    heartbeat = _check_redis(status)
    status["workers"] = background.workers_state(heartbeat)
    status["outbox_lag_s"] = background.lag_seconds(oldest)
    if status["workers"] == "stale" and (oldest is not None or waiting):
        status["status"] = "down"  # jobs are due and no worker runs them
    if "down" in status.values():
        status["status"] = "down"
        return jsonify(status), 503
    return jsonify(status)


@bp.get("/openapi.json")
def openapi():
    """Serve the OpenAPI document of the JSON API."""
    return jsonify(
        {
            "openapi": "3.1.0",
            "info": {"title": "Cellule API", "version": "1"},
            "servers": [{"url": PREFIX}],
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                "schemas": {"Error": ERROR_SCHEMA, **OPENAPI_SCHEMAS},
            },
            "security": [{"bearer": []}],
            "paths": _with_common_errors(OPENAPI_PATHS),
        }
    )


def _error(description):
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


# Answers any operation may give before its own code runs (app-wide guards).
COMMON_ERRORS = {
    "400": f"malformed request (bad JSON, nested deeper than {MAX_JSON_DEPTH} levels, NUL "
    "characters, …)",
    "413": "request body too large",
    "503": "the database is unavailable for a moment (see Retry-After)",
}


def _with_common_errors(paths):
    """Add the app-wide error answers to every operation that does not document them."""
    result = {}
    for path, item in paths.items():
        result[path] = {}
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                result[path][method] = operation
                continue
            responses = dict(operation["responses"])
            for status, description in COMMON_ERRORS.items():
                responses.setdefault(status, _error(description))
            if "requestBody" in operation:  # read by json_body
                responses.setdefault("422", _error("a text holds a lone surrogate (fields "
                                                   "names it)"))
            if operation.get("security", [{}]) != []:
                responses.setdefault("401", _error("no valid bearer token"))
            result[path][method] = {**operation, "responses": responses}
    return result


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}

HEALTH = {
    "schema": {
        "type": "object",
        "required": ["status", "database", "redis", "workers", "outbox_lag_s"],
        "properties": {
            **{
                name: {"type": "string", "enum": ["ok", "down"]}
                for name in ("status", "database", "redis")
            },
            "workers": {
                "type": "string",
                "enum": ["ok", "stale"],
                "description": "stale: no worker showed it was alive within "
                "CELLULE_WORKER_HEARTBEAT seconds (503 when jobs are due meanwhile)",
            },
            "outbox_lag_s": {
                "type": "integer",
                "minimum": 0,
                "description": "age in seconds of the oldest due job not yet handed to "
                "Redis (0 when none)",
            },
            "mail_quarantine": {
                "type": "integer",
                "minimum": 0,
                "description": "emails that could not be ingested and await an admin's "
                "retry or discard (absent when the database is down)",
            },
        },
    }
}

documented(
    "/health",
    {
        "get": {
            "summary": "Database, Redis and workers status",
            "security": [],
            "responses": {
                "200": {"description": "all up", "content": {"application/json": HEALTH}},
                "503": {
                    "description": "the database or Redis is down, or the workers are "
                    "stale while jobs are due",
                    "content": {"application/json": HEALTH},
                },
            },
        }
    },
)


def api_roles(*roles):
    """Refuse (403) an API call unless the token's user has one of `roles`."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            from flask_login import current_user

            if current_user.role not in roles:
                from . import audit

                audit.denied("api", request.path)
                return error_response(403, "your role may not do this")
            return view(*args, **kwargs)

        return wrapped

    return decorator


core_bp = api_blueprint("api_core", __name__)


@core_bp.get("/me")
def me():
    """Return the user the token acts as."""
    from flask_login import current_user

    return jsonify({"id": current_user.id, "name": current_user.name, "role": current_user.role})


documented(
    "/me",
    {
        "get": {
            "summary": "The user the token acts as",
            "responses": {
                "200": {
                    "description": "the user",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["id", "name", "role"],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "name": {"type": "string"},
                                    "role": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "401": {"description": "no valid token"},
            },
        }
    },
)
