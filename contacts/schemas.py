"""The request and response schemas of the people, contacts and telephony API.

Request fields run the checks the HTML forms use (`contacts.validation`), in English;
responses dump the models as the contract shapes them (`Person`, `Contact`, `RedFlag`).
"""

import marshmallow as ma
from flask_login import current_user
from marshmallow import ValidationError, fields, validates_schema

from cellule import audit
from cellule import limits as text_limits
from cellule.extensions import db
from cellule.schemas import (
    Checked,
    Choice,
    EnglishSchema,
    Int,
    IntArg,
    ListOrEmpty,
    Raw,
    Schema,
)
from cellule.security import MAX_ID
from cellule.timeparse import openapi_instant

from . import claims
from .access import can_see_person, survivor
from .models import CHANNELS, DIRECTIONS, LANGUAGES, REASONS, SECTORS, Person
from .search import MAX_LIMIT
from .validation import (
    check_affiliate_number,
    check_bool,
    check_choice,
    check_duration,
    check_email,
    check_instant,
    check_name,
    check_phone,
    check_reasons,
    check_summary,
)

CALL_EVENTS = ("ringing", "answered", "ended")
CONTACT_PAGE = 50

# --- Requests ----------------------------------------------------------------


class Filter(fields.String):
    """A search filter: a text, stripped, of at most `limit` characters ("" when absent);
    `check` (English messages) cleans a non-empty one."""

    def __init__(self, limit, check=None, **kwargs):
        super().__init__(**kwargs)
        self.limit, self.check = limit, check
        self.metadata = {"maxLength": limit, **self.metadata}

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value is ma.missing or value is None:
            return ""
        if not isinstance(value, str):
            raise ValidationError("must be a text")
        value = value.strip()
        if len(value) > self.limit:
            raise ValidationError(f"at most {self.limit} characters")
        if value and self.check is not None:
            try:
                return self.check(value)
            except ValueError as error:
                raise ValidationError(str(error)) from None
        return value


class PersonFilterSchema(EnglishSchema):
    """The filters of `GET /persons` (query string) and `POST /persons/search` (body)."""

    ERROR = "invalid query"

    class Meta:
        unknown = ma.EXCLUDE

    q = Filter(text_limits.SEARCH, metadata={
        "description": "free text: name, phone digits, email, affiliate number"})
    phone = Filter(text_limits.PHONE, metadata={
        "description": "exact phone, any common format (normalised to E.164)"})
    email = Filter(text_limits.EMAIL, check_email, metadata={
        "description": "exact email, case-insensitive"})
    affiliate_number = Filter(text_limits.AFFILIATE_NUMBER, metadata={
        "description": "exact affiliate number"})
    limit = IntArg(1, MAX_LIMIT, load_default=20, metadata={
        "description": f"at most this many (1-{MAX_LIMIT}, default 20)"})


def _text(limit, **extra):
    return text_limits.text(limit, **extra)


class InlinePersonSchema(EnglishSchema):
    """A person given with a new contact, found or created (`find_or_create_person`)."""

    error_messages = {"type": "Must be an object."}

    class Meta:
        unknown = ma.EXCLUDE

    name = Checked(check_name, required=True, metadata=_text(text_limits.NAME))
    phone = Checked(check_phone, metadata=_text(text_limits.PHONE))
    email = Checked(check_email, metadata=_text(text_limits.EMAIL))
    # Not refused when taken: for someone who does not see every person, another
    # record's number is filed aside (contacts.claims), and a taken one is a 409.
    affiliate_number = Checked(lambda v: check_affiliate_number(v, unique=False),
                               metadata=_text(text_limits.AFFILIATE_NUMBER))
    language = Checked(lambda v: check_choice(v, LANGUAGES, default="fr"),
                       metadata={"type": "string", "enum": ["fr", "nl", "de", "en"]})
    starter = Checked(check_bool, metadata={"type": "boolean"})
    sector = Checked(lambda v: check_choice(v, SECTORS),
                     metadata={"type": "string", "enum": list(SECTORS)})


class InlinePerson(fields.Nested):
    """The inline person of a new contact; with `person_id` too, refused as such."""

    def _deserialize(self, value, attr, data, **kwargs):
        if data.get("person_id") is not None:
            raise ValidationError("give person_id or person, not both")
        return super()._deserialize(value, attr, data, **kwargs)


class NewContactSchema(EnglishSchema):
    """The body of `POST /contacts`: a known person (`person_id`), an inline one, or none.

    Loaded, `chosen_person` is the survivor of the person `person_id` names; a person the
    user may not see is "no such person" (and the refusal audited).
    """

    class Meta:
        unknown = ma.EXCLUDE

    person_id = Int(allow_none=True)
    person = InlinePerson(InlinePersonSchema(), allow_none=True)
    channel = Checked(lambda v: check_choice(v, CHANNELS, required=True), required=True,
                      metadata={"type": "string", "enum": list(CHANNELS)})
    direction = Checked(lambda v: check_choice(v, DIRECTIONS, default="in"),
                        metadata={"type": "string", "enum": ["in", "out"], "default": "in"})
    occurred_at = Checked(check_instant, metadata=openapi_instant())
    duration_minutes = Checked(check_duration, metadata={
        "type": "integer", "minimum": 0, "maximum": 1440})
    reasons = Checked(check_reasons, metadata={
        "type": "array", "items": {"type": "string", "enum": list(REASONS)}})
    summary = Checked(check_summary, metadata=_text(text_limits.SUMMARY))

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _chosen_person(self, data, original, **kwargs):
        person_id = data.get("person_id")
        if person_id is None or original.get("person") is not None:
            return
        person = db.session.get(Person, person_id) if 0 < person_id <= MAX_ID else None
        if not can_see_person(current_user, person):
            audit.denied("person", person_id)
            raise ValidationError("no such person", "person_id")
        data["chosen_person"] = survivor(person, current_user)


def _call_id(value):
    if not isinstance(value, str) or not value.strip() or len(value) > text_limits.CALL_ID:
        raise ValueError(f"a text of 1 to {text_limits.CALL_ID} characters is required")
    return value.strip()


def _event(value):
    if value not in CALL_EVENTS:
        raise ValueError("one of " + ", ".join(CALL_EVENTS))
    return value


def _caller(value):
    """The caller's number as sent (checked like any phone; normalised by the view)."""
    check_phone(value)
    return value


class CallEventSchema(EnglishSchema):
    """The body of `POST /telephony/calls`."""

    class Meta:
        unknown = ma.EXCLUDE

    call_id = Checked(_call_id, required=True, metadata=_text(text_limits.CALL_ID))
    caller = Raw(_caller, data_key="from", required=True, allow_none=True, error_messages={
        "required": "required (an empty text for a withheld number)"},
        metadata=_text(text_limits.PHONE, description="caller; empty if withheld"))
    to = Raw(check_phone, allow_none=True, metadata=_text(text_limits.PHONE))
    event = Checked(_event, required=True,
                    metadata={"type": "string", "enum": list(CALL_EVENTS)})
    at = Checked(check_instant, metadata=openapi_instant())


class ContactFilterSchema(Schema):
    """The query string of `GET /contacts`."""

    ERROR = "invalid query"

    class Meta:
        unknown = ma.EXCLUDE

    person_id = IntArg(metadata={"description": "only this person's contacts"})
    channel = Choice(CHANNELS, "one of " + ", ".join(CHANNELS), "unknown channel",
                     metadata={"description": "only this channel"})
    flagged = Choice(("true", "false"), "true or false", "flagged must be true or false",
                     metadata={"description": "true: only red-flagged; false: only the "
                               "others"})
    cursor = fields.String(metadata={"description": "next_cursor of the previous page "
                                     "(opaque and signed; at most 200 characters)"})
    limit = IntArg(1, 100, load_default=CONTACT_PAGE, metadata={
        "description": "page size (1-100, default 50)"})


# --- Responses ---------------------------------------------------------------


class PersonSchema(Schema):
    """A person as the signed-in user knows it: for someone who does not see every person,
    the affiliate number they typed even when another record holds it (contacts.claims)."""

    COMPONENT = "Person"

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True,
                          metadata={"description": "E.164, or as typed"})
    email = fields.String(required=True, allow_none=True)
    affiliate_number = fields.Method(
        "_affiliate_number", required=True,
        metadata={"type": ["string", "null"], "description": "as the caller knows it: for "
                  "an ambassador, the number they typed"})
    language = fields.String(required=True, metadata={"enum": ["fr", "nl", "de", "en"]})
    starter = fields.Boolean(required=True)
    sector = fields.String(required=True, allow_none=True)
    merged_into_id = fields.Integer(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)

    def _affiliate_number(self, person):
        return claims.shown_affiliate_number(person, current_user)


class RedFlagSchema(Schema):
    """A phrase of the red-flag lexicon found in a text."""

    COMPONENT = "RedFlag"

    phrase = fields.String()
    language = fields.String()
    matched = fields.String()


class ContactSchema(Schema):
    """A contact; an email's body only with `full` (not in lists)."""

    COMPONENT = "Contact"

    id = fields.Integer(required=True)
    person_id = fields.Integer(required=True, allow_none=True)
    channel = fields.String(required=True, metadata={"enum": list(CHANNELS)})
    direction = fields.String(required=True, metadata={"enum": ["in", "out"]})
    occurred_at = fields.DateTime(required=True)
    duration_minutes = fields.Integer(required=True, allow_none=True)
    reasons = ListOrEmpty(fields.String(), required=True)
    summary = fields.String(required=True)
    red_flagged = fields.Boolean(required=True)
    text_red_flags = ListOrEmpty(fields.Nested(RedFlagSchema), attribute="red_flags",
                                 required=True)
    handled_by_id = fields.Integer(required=True, allow_none=True)
    handled_at = fields.DateTime(required=True, allow_none=True)
    created_by_id = fields.Integer(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    call_id = fields.String(required=True, allow_none=True)
    referral = fields.Method("_referral", metadata={"type": "object"})
    email = fields.Method("_email", metadata={"type": "object"})

    def __init__(self, *, full=True, **kwargs):
        super().__init__(**kwargs)
        self.full = full

    def _referral(self, contact):
        if contact.channel != "internal_referral":
            return ma.missing  # only for the contacts of that channel
        return {"reach": contact.referral_reach, "consent_to_contact": contact.consent_to_contact}

    def _email(self, contact):
        if contact.channel != "email":
            return ma.missing
        email = {"sender": contact.email_sender, "subject": contact.email_subject,
                 "message_id": contact.email_message_id, "mailbox": contact.mailbox,
                 "mailbox_uid": contact.mailbox_uid}
        if self.full:
            email["body"] = contact.email_body
        return email


class PersonsFoundSchema(Schema):
    items = fields.List(fields.Nested(PersonSchema), required=True)


class ContactCreatedSchema(Schema):
    id = fields.Integer(required=True)
    person_id = fields.Integer(required=True, allow_none=True)
    text_red_flags = fields.List(fields.Nested(RedFlagSchema), attribute="red_flags",
                                 required=True)


class ContactPageSchema(Schema):
    items = fields.List(fields.Nested(ContactSchema(full=False)), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class ScreenPopSchema(Schema):
    persons = fields.List(fields.Nested(PersonSchema), required=True)
    open_cases = fields.List(fields.Dict(), required=True)
    screen_pop_url = fields.String(required=True, metadata={"format": "uri"})


PERSON_FILTERS = PersonFilterSchema()
NEW_CONTACT = NewContactSchema()
CALL_EVENT = CallEventSchema()
CONTACT_FILTERS = ContactFilterSchema()
CONTACT = ContactSchema()
PERSONS_FOUND = PersonsFoundSchema()
CONTACT_CREATED = ContactCreatedSchema()
CONTACT_PAGE_SCHEMA = ContactPageSchema()
SCREEN_POP = ScreenPopSchema()
