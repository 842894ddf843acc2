"""The JSON API's common ground: bearer tokens, JSON errors, health, OpenAPI.

Domain APIs call `api_blueprint(name)` to get a flask-smorest blueprint under `/api/v1`
that only bearer tokens may use (no cookies, so no CSRF exposure). Its views declare their
request schema (`@bp.arguments`, parsed and validated by webargs) and response schema
(`@bp.response`, which serialises the answer); registering the blueprint on the app also
adds its operations to the app's flask-smorest `Api`, whose apispec document is served at
`/api/v1/openapi.json` with the app-wide answers (`_with_common_errors`) added.
"""

import json
import re
from copy import deepcopy
from datetime import timedelta
from functools import wraps

import flask_smorest
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, g, has_request_context, jsonify, request
from flask_login import current_user
from marshmallow import ValidationError, fields
from marshmallow.validate import OneOf, Range
from sqlalchemy import event, update
from sqlalchemy.orm import Session, joinedload
from webargs.flaskparser import FlaskParser

from . import audit, background
from .extensions import csrf, database_unavailable, db
from .models import ApiToken
from .redis_conn import get_redis
from .schemas import ErrorSchema, Schema, component_name, compose, flatten
from .types import utcnow

PREFIX = "/api/v1"


# (path, method) of the operations that take an Idempotency-Key (cellule.idempotency).
IDEMPOTENT_OPERATIONS = []


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


# `last_used_at` is written at most once a minute per token: an UPDATE on every call
# costs more than most calls, and serialises the concurrent calls of one token. The
# UPDATE joins the request's own transaction, sent when it commits (`_write_touch`), or
# committed at the end of a call that commits nothing else (`_touch_uncommitted`): no
# second commit, nothing reloaded. A call whose transaction is rolled back leaves the
# old time, and the next call of the token writes it.
TOKEN_TOUCH_EVERY = timedelta(seconds=60)
_TOUCH = "cellule_token_touch"


@event.listens_for(Session, "before_commit")
def _write_touch(session):
    touch = g.pop(_TOUCH, None) if has_request_context() else None
    if touch is not None:
        token_id, at = touch
        session.execute(update(ApiToken).where(ApiToken.id == token_id)
                        .values(last_used_at=at).execution_options(synchronize_session=False))


def _touch_uncommitted(response):
    """Commit the token's touch when the call committed nothing (an evaluation, a 404)
    and no audit row is waiting for the end of the request (cellule.errors commits them,
    and the touch with them)."""
    if g.get(_TOUCH) is not None and not audit.pending():
        try:
            audit.commit_pending()  # the touch alone: what the call left is rolled back
        except Exception as error:  # the touch is best effort: never fail the call for it
            db.session.rollback()
            if not database_unavailable(error):
                raise
    return response


def _authenticate():
    """Resolve the bearer token to a user, or answer 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error_response(401, "authentication required")
    # The token and its user in one query (the user is needed by every call).
    row = db.session.scalar(
        db.select(ApiToken).where(ApiToken.digest == ApiToken.digest_of(token.strip()))
        .options(joinedload(ApiToken.user))
    )
    if row is None or row.revoked_at is not None or not row.user.active:
        return error_response(401, "invalid or revoked token")
    now = utcnow()
    if row.expires_at <= now:
        # Said as such: the owner of an integration that stopped needs to know why.
        return error_response(401, "token expired")
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_EVERY:
        g.setdefault(_TOUCH, (row.id, now))
    # Flask-Login reads the current user from here; no session cookie is involved.
    g._login_user = row.user
    g.api_token_id = row.id  # Idempotency-Key values are per token (cellule.idempotency)
    return None


class ApiParser(FlaskParser):
    """webargs' parser with the API's rules: a JSON body goes through `json_body` (an
    object, bounded depth, no lone surrogate), and a failed validation is an `ApiError`
    (422 unless the route says 400) whose `fields` are the dotted names of the problems —
    the same answer the hand-written checks gave, not flask-smorest's own error shape."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None,
                                   "querystring": None, "json": None}

    def load_json(self, req, schema):
        return json_body()

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        messages = error.messages
        if isinstance(messages, dict) and len(messages) == 1:
            messages = next(iter(messages.values()))  # webargs' location ("json": {...})
        raise invalid(schema, messages, error_status_code or 422)


def invalid(schema, messages, status=422):
    """The ApiError of input `schema` refused with marshmallow's `messages`: its `ERROR`,
    the problems by dotted field name."""
    fields = flatten(messages)
    error = getattr(schema, "ERROR", "invalid input")
    if len(fields) == 1:  # a field may say more, alone (IntArg: "limit must be …")
        error = getattr(schema.fields.get(next(iter(fields))), "error_text", error)
    return ApiError(status, error, fields)


def load_body(schema, data=None):
    """The request's JSON body (`data`, else `json_body()`) loaded by `schema`, or its
    ApiError (422)."""
    try:
        return schema.load(json_body() if data is None else data)
    except ValidationError as error:
        raise invalid(schema, error.messages) from None


class ApiBlueprint(flask_smorest.Blueprint):
    """A blueprint of the JSON API: bearer tokens, CSRF-exempt, documented by schemas.

    Registered on an app the usual way (`app.register_blueprint`), its operations go into
    that app's `Api` when the document is first asked for (`_api_of`): making the document
    takes longer than making the app, and most apps (tests) never serve it.
    """

    ARGUMENTS_PARSER = ApiParser()

    def register(self, app, options):
        super().register(app, options)
        app.extensions.setdefault("cellule_api_blueprints", []).append(
            (self, options.get("name", self.name)))

    def arguments(self, schema, *, location="json", error_status_code=422, **kwargs):
        """`flask_smorest.Blueprint.arguments`, without the generic 422 it documents: each
        operation documents its own refusals (`refusals`)."""
        decorator = super().arguments(schema, location=location,
                                      error_status_code=error_status_code, **kwargs)

        def wrap(view):
            wrapped = decorator(view)
            wrapped._apidoc["arguments"]["responses"].pop(error_status_code, None)
            return wrapped

        return wrap

    def body(self, schema):
        """Document `schema` as the JSON body of a view that loads it itself, with
        `load_body`, when something must come first (a lookup that answers 404)."""

        def decorator(view):
            view._apidoc = deepcopy(getattr(view, "_apidoc", {}))
            view._apidoc.setdefault("arguments", {}).setdefault("parameters", []).append(
                {"in": "json", "required": True, "schema": schema})
            return view

        return decorator

    def refusals(self, **descriptions):
        """Document error answers, `{"error", "fields"}` bodies: `refusals(**{"404": "…"})`."""

        def decorator(view):
            for status, description in descriptions.items():
                view = self.alt_response(int(status), schema=ERROR_SCHEMA,
                                         description=description)(view)
            return view

        return decorator

    def operation(self, summary, description=None, **doc):
        """The summary and description of an operation (not its docstring, which says why)."""
        return self.doc(summary=summary, description=description, **doc)


class Api(flask_smorest.Api):
    """flask-smorest's Api, without its error handlers: cellule.errors answers errors, as
    JSON on API paths only, and HTML pages keep their error pages."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        pass


ERROR_SCHEMA = ErrorSchema()
# /health and /openapi.json: open to all (no token), CSRF-exempt.
bp = ApiBlueprint("api", __name__, url_prefix=PREFIX)
csrf.exempt(bp)


def _api_of(app):
    """The app's `Api`, with the operations of every API blueprint registered on the app
    (made once, the first time the document is asked for)."""
    api = app.extensions.get("cellule_api")
    if api is None:
        api = Api(spec_kwargs={
            "title": "Cellule API", "version": "1", "openapi_version": "3.1.0",
            "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=component_name),
        })
        api.init_app(app)
        for blueprint, name in app.extensions.get("cellule_api_blueprints", []):
            app.extensions["flask-smorest"]["blp_name_to_api"][name] = api
            blueprint.register_views_in_doc(api, app, api.spec, name=name, parameters=None)
        for schema in COMPONENTS:
            if component_name(schema) not in api.spec.components.schemas:
                api.spec.components.schema(component_name(schema), schema=type(schema))
        app.extensions["cellule_api"] = api
    return api


# Schemas named in the document only by reference (e.g. in an `anyOf`), added to every
# app's components (`api_components`).
COMPONENTS = []


def api_components(*schemas):
    """Add these schemas (instances with a `COMPONENT` name) to the OpenAPI components."""
    COMPONENTS.extend(schemas)


def api_blueprint(name, import_name):
    """Return a CSRF-exempt blueprint under /api/v1 that requires a bearer token."""
    blueprint = ApiBlueprint(name, import_name, url_prefix=PREFIX)
    blueprint.before_request(_authenticate)
    blueprint.after_request(_touch_uncommitted)
    csrf.exempt(blueprint)
    return blueprint


def idempotent_operation(path, method="post"):
    """Document that the operation at `path` takes an Idempotency-Key (added to the
    document as it is served, by cellule.idempotency)."""
    IDEMPOTENT_OPERATIONS.append((path, method))


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


class HealthSchema(Schema):
    """The body of `GET /health`, up (200) or down (503)."""

    status = fields.String(required=True, validate=OneOf(["ok", "down"]))
    database = fields.String(required=True, validate=OneOf(["ok", "down"]))
    redis = fields.String(required=True, validate=OneOf(["ok", "down"]))
    workers = fields.String(required=True, validate=OneOf(["ok", "stale"]), metadata={
        "description": "stale: no worker showed it was alive within CELLULE_WORKER_HEARTBEAT "
        "seconds (503 when jobs are due meanwhile)"})
    outbox_lag_s = fields.Integer(required=True, validate=Range(min=0), metadata={
        "description": "age in seconds of the oldest due job not yet handed to Redis (0 "
        "when none)"})
    mail_quarantine = fields.Integer(validate=Range(min=0), metadata={
        "description": "emails that could not be ingested and await an admin's retry or "
        "discard (absent when the database is down)"})


HEALTH = HealthSchema()


@bp.get("/health")
@bp.operation("Database, Redis and workers status", security=[])
@bp.response(200, HEALTH, description="all up")
@bp.alt_response(503, schema=HEALTH, description="the database or Redis is down, or the "
                 "workers are stale while jobs are due")
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
        return status, 503
    return status


def openapi():
    """Serve the OpenAPI document of the JSON API (made once per app)."""
    document = current_app.extensions.get("cellule_openapi")
    if document is None:
        document = current_app.extensions["cellule_openapi"] = openapi_document(current_app)
    return jsonify(document)


# Not an operation of the API: added as a plain route, out of the generated document.
Blueprint.add_url_rule(bp, "/openapi.json", "openapi", openapi, methods=["GET"])


def openapi_document(app):
    """The OpenAPI document: flask-smorest's, paths relative to /api/v1 (the `servers`
    entry), plus the app-wide and Idempotency-Key answers of each operation."""
    generated = deepcopy(_api_of(app).spec.to_dict())
    paths = {}
    for path, item in generated.get("paths", {}).items():
        shared = item.pop("parameters", [])  # the path's, stated in each operation
        paths[path.removeprefix(PREFIX)] = {
            method: _tidy(operation, shared) for method, operation in item.items()
        }
    _document_idempotency(paths)
    schemas = compose(generated.get("components", {}).get("schemas", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Cellule API", "version": "1"},
        "servers": [{"url": PREFIX}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "security": [{"bearer": []}],
        "paths": _with_common_errors(paths),
    }


def _tidy(operation, parameters):
    """A generated operation with its path's `parameters`, without flask-smorest's tags
    and unset descriptions."""
    if parameters:
        operation["parameters"] = [*parameters, *operation.get("parameters", [])]
    operation.pop("tags", None)
    if operation.get("description") is None:
        operation.pop("description", None)
    return operation


def _document_idempotency(paths):
    """Add the Idempotency-Key header and its answers to the operations that take it."""
    from . import idempotency  # cellule.idempotency builds on this module

    for path, method in IDEMPOTENT_OPERATIONS:
        operation = paths[path][method]
        operation["parameters"] = [*operation.get("parameters", []), idempotency.PARAMETER]
        responses = operation["responses"]
        for status, description in idempotency.ANSWERS.items():
            if status in responses:
                responses[status] = {**responses[status], "description":
                                     f"{responses[status]['description']}; or {description}"}
            else:
                responses[status] = _error(description)
        for status, response in responses.items():
            if status.startswith("2"):
                response.setdefault("headers", {})["Idempotent-Replayed"] = {
                    "description": "`true` when this is the stored answer to an earlier "
                    f"request with the same {idempotency.HEADER}",
                    "schema": {"type": "string", "enum": ["true"]},
                }


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


def api_roles(*roles):
    """Refuse (403) an API call unless the token's user has one of `roles`."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                # The endpoint names the operation in the 40 characters an object id has
                # (a path may be longer); the path itself goes in the detail.
                audit.denied("api", request.endpoint, {"path": request.path})
                return error_response(403, "your role may not do this")
            return view(*args, **kwargs)

        return wrapped

    return decorator


core_bp = api_blueprint("api_core", __name__)


class MeSchema(Schema):
    """The user a token acts as."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)


ME = MeSchema()


@core_bp.get("/me")
@core_bp.operation("The user the token acts as")
@core_bp.response(200, ME, description="the user")
@core_bp.refusals(**{"401": "no valid token"})
def me():
    """Return the user the token acts as."""
    return current_user
