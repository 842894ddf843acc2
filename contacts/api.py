"""JSON API of people, contacts and the telephony screen-pop (DESIGN §7, contract)."""

from contextlib import contextmanager
from datetime import datetime
from functools import partial

from flask import jsonify, request, url_for
from flask_babel import force_locale
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from cellule import audit, idempotency
from cellule import limits as text_limits
from cellule.api import OPENAPI_SCHEMAS, ApiError, api_blueprint, api_roles, documented, json_body
from cellule.extensions import db
from cellule.paging import BadCursor, keyset_page
from cellule.security import MAX_ID
from cellule.timeparse import openapi_instant

from . import claims, operations
from .access import (
    PEOPLE_ROLES,
    audit_listed,
    can_see_person,
    get_contact_or_404,
    survivor,
    visible_contacts,
    visible_persons,
)
from .models import CHANNELS, REASONS, SECTORS, Contact, Person
from .normalise import normalise_affiliate_number, normalise_phone
from .search import MAX_LIMIT, search_persons
from .telephony import open_cases_for
from .validation import (
    check_email,
    check_instant,
    check_phone,
    clean_contact,
    clean_person,
)

bp = api_blueprint("contacts_api", __name__)

CALL_EVENTS = ("ringing", "answered", "ended")
CONTACT_PAGE = 50
# The API's contact list: newest first (the (…, occurred_at, id) indexes, read backwards).
NEWEST_FIRST = ((Contact.occurred_at, datetime, True), (Contact.id, int, True))


# --- Shapes ----------------------------------------------------------------


def _iso(value):
    return value.isoformat() if value else None


def person_json(person):
    """A person as the signed-in user knows it: for someone who does not see every person,
    the affiliate number they typed even when another record holds it (contacts.claims)."""
    return {
        "id": person.id,
        "name": person.name,
        "phone": person.phone,
        "email": person.email,
        "affiliate_number": claims.shown_affiliate_number(person, current_user),
        "language": person.language,
        "starter": person.starter,
        "sector": person.sector,
        "merged_into_id": person.merged_into_id,
        "created_at": _iso(person.created_at),
    }


def contact_json(contact, full=True):
    body = {
        "id": contact.id,
        "person_id": contact.person_id,
        "channel": contact.channel,
        "direction": contact.direction,
        "occurred_at": _iso(contact.occurred_at),
        "duration_minutes": contact.duration_minutes,
        "reasons": list(contact.reasons or []),
        "summary": contact.summary,
        "red_flagged": contact.red_flagged,
        "text_red_flags": list(contact.red_flags or []),
        "handled_by_id": contact.handled_by_id,
        "handled_at": _iso(contact.handled_at),
        "created_by_id": contact.created_by_id,
        "created_at": _iso(contact.created_at),
        "call_id": contact.call_id,
    }
    if contact.channel == "internal_referral":
        body["referral"] = {
            "reach": contact.referral_reach,
            "consent_to_contact": contact.consent_to_contact,
        }
    if contact.channel == "email":
        body["email"] = {
            "sender": contact.email_sender,
            "subject": contact.email_subject,
            "message_id": contact.email_message_id,
            "mailbox": contact.mailbox,
            "mailbox_uid": contact.mailbox_uid,
        }
        if full:
            body["email"]["body"] = contact.email_body
    return body


def _unprocessable(errors):
    return ApiError(422, "invalid input", {k: str(v) for k, v in errors.items()})


def _int_arg(name, default=None, low=1, high=2**31 - 1, values=None):  # 32-bit ids
    """The whole number `name` of the query string (or of `values`, a JSON body)."""
    raw = (request.args if values is None else values).get(name)
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if raw is None or raw == "":
        return default
    if not isinstance(raw, str) or not (raw.isascii() and raw.isdigit()) or not (
        low <= int(raw) <= high
    ):
        raise ApiError(400, f"{name} must be a whole number from {low} to {high}",
                       {name: "invalid number"})
    return int(raw)


# --- People ----------------------------------------------------------------


PERSON_FILTERS = ("q", "phone", "email", "affiliate_number")


@bp.get("/persons")
@api_roles(*PEOPLE_ROLES)
def list_persons():
    """Find people by free text, phone, email or affiliate number (screen-pop lookup, the
    contract's). Its query string reaches access logs: `POST /persons/search` does not."""
    args = {k: request.args.get(k) or "" for k in PERSON_FILTERS}
    return _find_persons(args, lambda: _int_arg("limit", 20, 1, MAX_LIMIT))


@bp.post("/persons/search")
@api_roles(*PEOPLE_ROLES)
def search_persons_by_body():
    """Find people as `GET /persons` does, the filters in a JSON body (out of the logs)."""
    data = json_body()
    errors = {k: "must be a text" for k in PERSON_FILTERS
              if data.get(k) is not None and not isinstance(data[k], str)}
    if errors:
        raise ApiError(400, "invalid query", errors)
    args = {k: data.get(k) or "" for k in PERSON_FILTERS}
    return _find_persons(args, lambda: _int_arg("limit", 20, 1, MAX_LIMIT, values=data))


def _find_persons(args, read_limit):
    """Check the filters `args` (texts), then answer the people they find that the user
    may see, at most `read_limit()`; the lookup of both routes above."""
    args = {k: v.strip() for k, v in args.items()}
    limits = {"q": text_limits.SEARCH, "phone": text_limits.PHONE, "email": text_limits.EMAIL,
              "affiliate_number": text_limits.AFFILIATE_NUMBER}
    errors = {k: f"at most {limits[k]} characters" for k, v in args.items() if len(v) > limits[k]}
    if errors:
        raise ApiError(400, "invalid query", errors)
    if not any(args.values()):
        raise ApiError(400, "give q, phone, email or affiliate_number",
                       {"q": "give at least one search parameter"})
    limit = read_limit()
    where = []
    if args["phone"]:
        phone = normalise_phone(args["phone"])
        where.append(Person.phone == phone.value)
    if args["email"]:
        with force_locale("en"):
            try:
                where.append(Person.email == check_email(args["email"]))
            except ValueError as error:
                raise ApiError(400, "invalid query", {"email": str(error)}) from None
    if args["affiliate_number"]:
        where.append(claims.affiliate_number_is(
            current_user, normalise_affiliate_number(args["affiliate_number"])))
    if args["q"]:
        people = search_persons(args["q"], current_user, limit, where)
    else:
        people = db.session.scalars(
            visible_persons(current_user).where(*where).order_by(Person.id).limit(limit)
        ).all()
    items = [person_json(p) for p in people]
    audit_listed("person", [p.id for p in people])
    return jsonify({"items": items})


# --- Contacts --------------------------------------------------------------


@bp.post("/contacts")
@api_roles(*PEOPLE_ROLES)
@idempotency.idempotent
def create_contact():
    """Log a contact for a known person, a new one (found or created), or nobody."""
    values, person, person_values, errors = _check_contact_body(json_body())
    if errors:
        raise _unprocessable(errors)
    with _person_conflicts():
        if person_values is not None:
            person, _ = operations.find_or_create_person(current_user, **person_values)
        contact = operations.create_contact(current_user, person=person, **values)
        return idempotency.commit_answer(
            {"id": contact.id, "person_id": contact.person_id,
             "text_red_flags": contact.red_flags}, 201)


def _check_contact_body(data):
    """Check the body of a new contact (messages in English); return (values, person,
    person_values, errors): the person `person_id` names, the inline person's values
    (None without one)."""
    person_id, inline = data.get("person_id"), data.get("person")
    with force_locale("en"):
        values, errors = clean_contact(data)
        person_values, person_errors = _check_inline_person(person_id, inline)
    errors.update(person_errors)
    person = None
    if person_id is not None and "person" not in errors:
        person, error = _chosen_person(person_id)
        if error:
            errors["person_id"] = error
    return values, person, person_values, errors


def _check_inline_person(person_id, inline):
    """(values, errors) of the inline person; (None, {}) without one."""
    if inline is None:
        return None, {}
    if person_id is not None:
        return None, {"person": "give person_id or person, not both"}
    return clean_person(inline, "person.", unique=False)


def _chosen_person(person_id):
    """(person, error) for `person_id`: the survivor of a person the user may see, else
    the message for the field (a person they may not see is "no such person", audited)."""
    if isinstance(person_id, bool) or not isinstance(person_id, int):
        return None, "must be a whole number"
    person = db.session.get(Person, person_id) if 0 < person_id <= MAX_ID else None
    if not can_see_person(current_user, person):
        audit.denied("person", person_id)
        return None, "no such person"
    return survivor(person, current_user), None


@contextmanager
def _person_conflicts():
    """Roll back and answer 409 when several people match or the number is taken."""
    try:
        yield
    except operations.AmbiguousPerson:
        db.session.rollback()
        raise ApiError(409, "several people match these details; give person_id",
                       {"person": "several people match"}) from None
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, "this affiliate number belongs to another person",
                       {"person.affiliate_number": "already registered"}) from None


@bp.get("/contacts")
@api_roles(*PEOPLE_ROLES)
def list_contacts():
    """List contacts, newest first, by person, channel or red flag (keyset pages)."""
    stmt = visible_contacts(current_user).where(*_contact_filters())
    limit = _int_arg("limit", CONTACT_PAGE, 1, 100)
    try:
        page, next_cursor = keyset_page(stmt, "contacts", NEWEST_FIRST,
                                        request.args.get("cursor"), limit)
    except BadCursor:
        raise ApiError(400, "invalid cursor", {"cursor": "invalid cursor"}) from None
    audit_listed("contact", [c.id for c in page])
    return jsonify({"items": [contact_json(c, full=False) for c in page],
                    "next_cursor": next_cursor})


def _contact_filters():
    """The conditions of the contact list's query string (a bad one is a 400 naming it)."""
    where = []
    person_id = _int_arg("person_id")
    if person_id is not None:
        where.append(Contact.person_id == person_id)
    channel = request.args.get("channel")
    if channel:
        if channel not in CHANNELS:
            raise ApiError(400, "unknown channel", {"channel": "one of " + ", ".join(CHANNELS)})
        where.append(Contact.channel == channel)
    flagged = request.args.get("flagged")
    if flagged:
        if flagged not in ("true", "false"):
            raise ApiError(400, "flagged must be true or false", {"flagged": "true or false"})
        where.append(Contact.red_flagged.is_(flagged == "true"))
    return where


@bp.get("/contacts/<int:contact_id>")
@api_roles(*PEOPLE_ROLES)
def get_contact(contact_id):
    """Return one contact."""
    contact = get_contact_or_404(contact_id)
    return jsonify(contact_json(contact))


# --- Telephony ---------------------------------------------------------------


@bp.post("/telephony/calls")
@api_roles(*PEOPLE_ROLES)
@idempotency.idempotent
def telephony_call():
    """Answer a call event with the matching people, their open cases and a screen-pop URL."""
    data = json_body()
    errors = _call_errors(data)
    if errors:
        raise _unprocessable(errors)
    caller = normalise_phone(data.get("from"))
    people = _people_calling(caller)
    token = operations.create_screen_pop(
        current_user, call_id=data["call_id"].strip(), phone=caller.value if caller else "",
        dialled=check_phone(data.get("to")), event=data["event"],
    )
    shown = [p.id for p in people]  # read before the commit expires them
    response = idempotency.commit_answer(_call_answer(people, token))
    audit_listed("person", shown)
    return response


def _call_errors(data):
    """What is wrong with a call event, by field (in English)."""
    call_id, errors = data.get("call_id"), {}
    if not isinstance(call_id, str) or not call_id.strip() or len(call_id) > text_limits.CALL_ID:
        errors["call_id"] = f"a text of 1 to {text_limits.CALL_ID} characters is required"
    if data.get("event") not in CALL_EVENTS:
        errors["event"] = "one of " + ", ".join(CALL_EVENTS)
    if "from" not in data:
        errors["from"] = "required (an empty text for a withheld number)"
    checks = {name: partial(check_phone, data[name]) for name in ("from", "to")
              if name in data and name not in errors}
    checks["at"] = partial(check_instant, data.get("at"))
    with force_locale("en"):
        errors.update(_failed(checks))
    return errors


def _failed(checks):
    """The message of each check (a callable, by field name) that raises ValueError."""
    errors = {}
    for name, check in checks.items():
        try:
            check()
        except ValueError as error:
            errors[name] = str(error)
    return errors


def _people_calling(caller):
    """The people the user may see with the caller's number (none when it is withheld)."""
    if caller is None:
        return []
    return db.session.scalars(
        visible_persons(current_user)
        .where(Person.phone == caller.value)
        .order_by(Person.id)
        .limit(10)
    ).all()


def _call_answer(people, token):
    """The answer to a call event: the people, their open cases, the screen-pop URL."""
    return {
        "persons": [person_json(p) for p in people],
        "open_cases": open_cases_for(people, current_user),
        "screen_pop_url": url_for("contacts.new_contact", pop=token, _external=True),
    }


# --- OpenAPI ---------------------------------------------------------------

OPENAPI_SCHEMAS.setdefault(
    "Person",
    {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "phone": {"type": ["string", "null"], "description": "E.164, or as typed"},
            "email": {"type": ["string", "null"]},
            "affiliate_number": {"type": ["string", "null"],
                                 "description": "as the caller knows it: for an ambassador, "
                                 "the number they typed"},
            "language": {"type": "string", "enum": ["fr", "nl", "de", "en"]},
            "starter": {"type": "boolean"},
            "sector": {"type": ["string", "null"]},
            "merged_into_id": {"type": ["integer", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
)
OPENAPI_SCHEMAS.setdefault(
    "RedFlag",
    {
        "type": "object",
        "properties": {
            "phrase": {"type": "string"},
            "language": {"type": "string"},
            "matched": {"type": "string"},
        },
    },
)
OPENAPI_SCHEMAS.setdefault(
    "Contact",
    {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "person_id": {"type": ["integer", "null"]},
            "channel": {"type": "string", "enum": list(CHANNELS)},
            "direction": {"type": "string", "enum": ["in", "out"]},
            "occurred_at": {"type": "string", "format": "date-time"},
            "duration_minutes": {"type": ["integer", "null"]},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "summary": {"type": "string"},
            "red_flagged": {"type": "boolean"},
            "text_red_flags": {"type": "array", "items": {"$ref": "#/components/schemas/RedFlag"}},
            "handled_by_id": {"type": ["integer", "null"]},
            "handled_at": {"type": ["string", "null"], "format": "date-time"},
            "created_by_id": {"type": ["integer", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "call_id": {"type": ["string", "null"]},
            "referral": {"type": "object"},
            "email": {"type": "object"},
        },
    },
)

_ERR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _error(description):
    return {"description": description, "content": _ERR}


def _query(name, description, schema=None):
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


_PERSONS_FOUND = {
    "description": "the people found",
    "content": {"application/json": {"schema": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {
            "type": "array", "items": {"$ref": "#/components/schemas/Person"}
        }},
    }}},
}

documented(
    "/persons",
    {
        "get": {
            "summary": "Find people (screen-pop lookup); all given filters must match",
            "description": "The contract's lookup. Its query string (names, phones, emails) "
            "reaches web servers' and proxies' access logs: use `POST /persons/search`, "
            "which takes the same filters in a JSON body and answers the same.",
            "parameters": [
                _query("q", "free text: name, phone digits, email, affiliate number",
                       text_limits.text(text_limits.SEARCH)),
                _query("phone", "exact phone, any common format (normalised to E.164)",
                       text_limits.text(text_limits.PHONE)),
                _query("email", "exact email, case-insensitive",
                       text_limits.text(text_limits.EMAIL)),
                _query("affiliate_number", "exact affiliate number",
                       text_limits.text(text_limits.AFFILIATE_NUMBER)),
                _query("limit", "at most this many (1-50, default 20)", {"type": "integer"}),
            ],
            "responses": {
                "200": _PERSONS_FOUND,
                "400": _error("no or bad query parameter"),
                "401": _error("no valid token"),
                "403": _error("role without access to people"),
            },
        }
    },
)
documented(
    "/persons/search",
    {
        "post": {
            "summary": "Find people (screen-pop lookup), the filters in the body: the one "
            "to use; all given filters must match",
            "description": "Answers as `GET /persons` does (same filters, limits, "
            "permissions and audit), with nothing personal in the URL.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {
                    "q": text_limits.text(
                        text_limits.SEARCH,
                        description="free text: name, phone digits, email, affiliate number"),
                    "phone": text_limits.text(
                        text_limits.PHONE, description="exact phone, any common format"),
                    "email": text_limits.text(
                        text_limits.EMAIL, description="exact email, case-insensitive"),
                    "affiliate_number": text_limits.text(text_limits.AFFILIATE_NUMBER),
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                              "description": "at most this many (default 20)"},
                },
            }}}},
            "responses": {
                "200": _PERSONS_FOUND,
                "400": _error("no filter, or a bad one"),
                "401": _error("no valid token"),
                "403": _error("role without access to people"),
                "422": _error("a text holds a lone surrogate"),
            },
        }
    },
)
documented(
    "/contacts",
    {
        "post": {
            "summary": "Log a contact (person_id, or an inline person found or created, "
            "or neither for an anonymous contact)",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["channel"],
                    "properties": {
                        "person_id": {"type": "integer"},
                        "person": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "name": text_limits.text(text_limits.NAME),
                                "phone": text_limits.text(text_limits.PHONE),
                                "email": text_limits.text(text_limits.EMAIL),
                                "language": {"type": "string", "enum": ["fr", "nl", "de", "en"]},
                                "affiliate_number": text_limits.text(
                                    text_limits.AFFILIATE_NUMBER),
                                "starter": {"type": "boolean"},
                                "sector": {"type": "string", "enum": list(SECTORS)},
                            },
                        },
                        "channel": {"type": "string", "enum": list(CHANNELS)},
                        "direction": {"type": "string", "enum": ["in", "out"], "default": "in"},
                        "occurred_at": openapi_instant(),
                        "duration_minutes": {"type": "integer", "minimum": 0, "maximum": 1440},
                        "reasons": {"type": "array",
                                    "items": {"type": "string", "enum": list(REASONS)}},
                        "summary": text_limits.text(text_limits.SUMMARY),
                    },
                }}},
            },
            "responses": {
                "201": {
                    "description": "the contact was logged",
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["id", "person_id", "text_red_flags"],
                        "properties": {
                            "id": {"type": "integer"},
                            "person_id": {"type": ["integer", "null"]},
                            "text_red_flags": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/RedFlag"},
                            },
                        },
                    }}},
                },
                "400": _error("the body is not a JSON object"),
                "401": _error("no valid token"),
                "403": _error("role without access to contacts"),
                "409": _error("several people match, or the affiliate number is taken (for "
                              "a user who sees every person; for the others, a number of a "
                              "person they may not see files a new person, marked for review)"),
                "422": _error("invalid fields, named in `fields`"),
            },
        },
        "get": {
            "summary": "List contacts, newest first, with a keyset cursor",
            "parameters": [
                _query("person_id", "only this person's contacts", {"type": "integer"}),
                _query("channel", "only this channel", {"type": "string", "enum": list(CHANNELS)}),
                _query("flagged", "true: only red-flagged; false: only the others",
                       {"type": "string", "enum": ["true", "false"]}),
                _query("cursor", "next_cursor of the previous page (opaque and signed; "
                       "at most 200 characters)"),
                _query("limit", "page size (1-100, default 50)", {"type": "integer"}),
            ],
            "responses": {
                "200": {
                    "description": "a page of contacts",
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["items", "next_cursor"],
                        "properties": {
                            "items": {
                                "type": "array", "items": {"$ref": "#/components/schemas/Contact"}
                            },
                            "next_cursor": {"type": ["string", "null"]},
                        },
                    }}},
                },
                "400": _error("bad filter or cursor"),
                "401": _error("no valid token"),
                "403": _error("role without access to contacts"),
            },
        },
    },
)
documented(
    "/contacts/{contact_id}",
    {
        "get": {
            "summary": "One contact",
            "parameters": [{"name": "contact_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {
                "200": {"description": "the contact", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Contact"}}}},
                "401": _error("no valid token"),
                "403": _error("role without access to contacts"),
                "404": _error("no such contact, or not yours to see"),
            },
        }
    },
)
documented(
    "/telephony/calls",
    {
        "post": {
            "summary": "A call event: the matching people, their open cases, a screen-pop URL",
            "description": "The screen-pop URL carries an opaque token valid 30 minutes; the "
            "caller's number stays on the server.",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["call_id", "from", "event"],
                    "properties": {
                        "call_id": text_limits.text(text_limits.CALL_ID),
                        "from": text_limits.text(text_limits.PHONE,
                                                 description="caller; empty if withheld"),
                        "to": text_limits.text(text_limits.PHONE),
                        "event": {"type": "string", "enum": list(CALL_EVENTS)},
                        "at": openapi_instant(),
                    },
                }}},
            },
            "responses": {
                "200": {
                    "description": "the screen-pop",
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["persons", "open_cases", "screen_pop_url"],
                        "properties": {
                            "persons": {
                                "type": "array", "items": {"$ref": "#/components/schemas/Person"}
                            },
                            "open_cases": {"type": "array", "items": {"type": "object"}},
                            "screen_pop_url": {"type": "string", "format": "uri"},
                        },
                    }}},
                },
                "400": _error("the body is not a JSON object"),
                "401": _error("no valid token"),
                "403": _error("role without access to people"),
                "422": _error("invalid fields, named in `fields`"),
            },
        }
    },
)
idempotency.document("/contacts")
idempotency.document("/telephony/calls")
