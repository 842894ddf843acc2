"""JSON API of people, contacts and the telephony screen-pop (DESIGN §7, contract).

Bodies, query strings and answers are described by `contacts.schemas`.
"""

from contextlib import contextmanager
from datetime import datetime

from flask import jsonify, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from cellule import audit, idempotency
from cellule.api import ApiError, api_blueprint, api_roles, idempotent_operation
from cellule.extensions import db
from cellule.paging import BadCursor, keyset_page

from . import claims, operations
from .access import (
    PEOPLE_ROLES,
    get_contact_or_404,
    visible_contacts,
    visible_persons,
)
from .models import Contact, Person
from .normalise import normalise_affiliate_number, normalise_phone
from .schemas import (
    CALL_EVENT,
    CONTACT,
    CONTACT_CREATED,
    CONTACT_FILTERS,
    CONTACT_PAGE_SCHEMA,
    NEW_CONTACT,
    PERSON_FILTERS,
    PERSONS_FOUND,
    SCREEN_POP,
)
from .search import search_persons
from .telephony import open_cases_for

bp = api_blueprint("contacts_api", __name__)

# The API's contact list: newest first (the (…, occurred_at, id) indexes, read backwards).
NEWEST_FIRST = ((Contact.occurred_at, datetime, True), (Contact.id, int, True))

_ERRORS_401_403 = {"401": "no valid token", "403": "role without access to people"}


# --- People ----------------------------------------------------------------


@bp.get("/persons")
@bp.operation(
    "Find people (screen-pop lookup); all given filters must match",
    "The contract's lookup. Its query string (names, phones, emails) reaches web servers' "
    "and proxies' access logs: use `POST /persons/search`, which takes the same filters in "
    "a JSON body and answers the same.")
@api_roles(*PEOPLE_ROLES)
@bp.arguments(PERSON_FILTERS, location="query", error_status_code=400)
@bp.response(200, PERSONS_FOUND, description="the people found")
@bp.refusals(**{"400": "no or bad query parameter", **_ERRORS_401_403})
def list_persons(filters):
    """Find people by free text, phone, email or affiliate number (screen-pop lookup, the
    contract's). Its query string reaches access logs: `POST /persons/search` does not."""
    return _find_persons(filters)


@bp.post("/persons/search")
@bp.operation(
    "Find people (screen-pop lookup), the filters in the body: the one to use; all given "
    "filters must match",
    "Answers as `GET /persons` does (same filters, limits, permissions and audit), with "
    "nothing personal in the URL.")
@api_roles(*PEOPLE_ROLES)
@bp.arguments(PERSON_FILTERS, error_status_code=400)
@bp.response(200, PERSONS_FOUND, description="the people found")
@bp.refusals(**{"400": "no filter, or a bad one", **_ERRORS_401_403,
                "422": "a text holds a lone surrogate"})
def search_persons_by_body(filters):
    """Find people as `GET /persons` does, the filters in a JSON body (out of the logs)."""
    return _find_persons(filters)


def _find_persons(filters):
    """The people the checked `filters` find that the user may see (at most `limit`),
    audited as listed; the lookup of both routes above."""
    limit = filters.pop("limit")
    if not any(filters.values()):
        raise ApiError(400, "give q, phone, email or affiliate_number",
                       {"q": "give at least one search parameter"})
    where = []
    if filters["phone"]:
        where.append(Person.phone == normalise_phone(filters["phone"]).value)
    if filters["email"]:
        where.append(Person.email == filters["email"])
    if filters["affiliate_number"]:
        where.append(claims.affiliate_number_is(
            current_user, normalise_affiliate_number(filters["affiliate_number"])))
    if filters["q"]:
        people = search_persons(filters["q"], current_user, limit, where)
    else:
        people = db.session.scalars(
            visible_persons(current_user).where(*where).order_by(Person.id).limit(limit)
        ).all()
    body = PERSONS_FOUND.dump({"items": people})  # before the audit's commit expires them
    audit.listed("person", [p.id for p in people])
    return jsonify(body)


# --- Contacts --------------------------------------------------------------


@bp.post("/contacts")
@bp.operation("Log a contact (person_id, or an inline person found or created, or neither "
              "for an anonymous contact)")
@api_roles(*PEOPLE_ROLES)
@idempotency.idempotent
@bp.arguments(NEW_CONTACT)
@bp.response(201, CONTACT_CREATED, description="the contact was logged")
@bp.refusals(**{"400": "the body is not a JSON object", "401": "no valid token",
                "403": "role without access to contacts",
                "409": "several people match, or the affiliate number is taken (for a user "
                "who sees every person; for the others, a number of a person they may not "
                "see files a new person, marked for review)",
                "422": "invalid fields, named in `fields`"})
def create_contact(values):
    """Log a contact for a known person, a new one (found or created), or nobody."""
    person, inline = values.pop("chosen_person", None), values.pop("person", None)
    values.pop("person_id", None)
    with _person_conflicts():
        if inline is not None:
            person, _ = operations.find_or_create_person(current_user, **inline)
        contact = operations.create_contact(current_user, person=person, **values)
        return idempotency.commit_answer(CONTACT_CREATED.dump(contact), 201)


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
@bp.operation("List contacts, newest first, with a keyset cursor")
@api_roles(*PEOPLE_ROLES)
@bp.arguments(CONTACT_FILTERS, location="query", error_status_code=400)
@bp.response(200, CONTACT_PAGE_SCHEMA, description="a page of contacts")
@bp.refusals(**{"400": "bad filter or cursor", "401": "no valid token",
                "403": "role without access to contacts"})
def list_contacts(filters):
    """List contacts, newest first, by person, channel or red flag (keyset pages)."""
    stmt = visible_contacts(current_user).where(*_contact_filters(filters))
    try:
        page, next_cursor = keyset_page(stmt, "contacts", NEWEST_FIRST,
                                        filters.get("cursor"), filters["limit"])
    except BadCursor:
        raise ApiError(400, "invalid cursor", {"cursor": "invalid cursor"}) from None
    body = CONTACT_PAGE_SCHEMA.dump({"items": page, "next_cursor": next_cursor})
    audit.listed("contact", [c.id for c in page])
    return jsonify(body)


def _contact_filters(filters):
    """The conditions of the contact list's checked query string."""
    where = []
    if filters.get("person_id") is not None:
        where.append(Contact.person_id == filters["person_id"])
    if filters.get("channel"):
        where.append(Contact.channel == filters["channel"])
    if filters.get("flagged"):
        where.append(Contact.red_flagged.is_(filters["flagged"] == "true"))
    return where


@bp.get("/contacts/<int:contact_id>")
@bp.operation("One contact")
@api_roles(*PEOPLE_ROLES)
@bp.response(200, CONTACT, description="the contact")
@bp.refusals(**{"401": "no valid token", "403": "role without access to contacts",
                "404": "no such contact, or not yours to see"})
def get_contact(contact_id):
    """Return one contact."""
    return get_contact_or_404(contact_id)


# --- Telephony ---------------------------------------------------------------


@bp.post("/telephony/calls")
@bp.operation("A call event: the matching people, their open cases, a screen-pop URL",
              "The screen-pop URL carries an opaque token valid 30 minutes; the caller's "
              "number stays on the server.")
@api_roles(*PEOPLE_ROLES)
@idempotency.idempotent
@bp.arguments(CALL_EVENT)
@bp.response(200, SCREEN_POP, description="the screen-pop")
@bp.refusals(**{"400": "the body is not a JSON object", **_ERRORS_401_403,
                "422": "invalid fields, named in `fields`"})
def telephony_call(call):
    """Answer a call event with the matching people, their open cases and a screen-pop URL."""
    caller = normalise_phone(call["caller"])
    people = _people_calling(caller)
    token = operations.create_screen_pop(
        current_user, call_id=call["call_id"], phone=caller.value if caller else "",
        dialled=call.get("to"), event=call["event"],
    )
    audit.listed("person", [p.id for p in people])  # written with the answer's commit
    return idempotency.commit_answer(SCREEN_POP.dump(_call_answer(people, token)))


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
        "persons": people,
        "open_cases": open_cases_for(people, current_user),
        "screen_pop_url": url_for("contacts.new_contact", pop=token, _external=True),
    }


idempotent_operation("/contacts")
idempotent_operation("/telephony/calls")
