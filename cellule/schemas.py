"""Marshmallow building blocks of the JSON API's request and response schemas.

The API's inputs are strict JSON: a text is a string, a number an integer (never a
boolean, never a numeric string), a flag a boolean — marshmallow's own fields are lenient
("1" is a number, 1 is true), so the request schemas use the fields below, each with the
message the API has always answered. apispec reads them as their base types, so the
OpenAPI document states the same types and `maxLength`s.

A schema class with a `COMPONENT` name is a named component of the OpenAPI document
(`#/components/schemas/<COMPONENT>`); every other schema is written inline where it is
used, as the contract has always done (`component_name`).
"""

from collections.abc import Mapping
from datetime import datetime
from functools import partial

import marshmallow as ma
from flask_babel import force_locale
from marshmallow import fields

from . import limits
from .security import MAX_ID

# Messages given when a field is absent or null although required (the API's own words).
REQUIRED = "required"


class Schema(ma.Schema):
    """A request or response schema of the API: unknown names are refused by default, and
    `ERROR` is the `error` of the 4xx a bad input gets (cellule.api.ApiParser)."""

    ERROR = "invalid input"
    COMPONENT = None
    # A schema whose `get_attribute` reads the attributes of another object than the one
    # dumped (`obj.case`…) says which here, `dump_source(obj)`: the shortcut of `_serialize`
    # then reads them with getattr, as for any schema without its own `get_attribute`.
    dump_source = None

    class Meta:
        unknown = ma.RAISE
        ordered = True

    def _serialize(self, obj, *, many=False):
        """marshmallow's dump loop, with a shortcut for the common fields: an integer,
        text or boolean read as it is and a datetime as `isoformat()` — what marshmallow
        would give, at a fraction of its per-field cost (a page of 50 contacts is dumped
        four times faster). Any other field, or value, goes through marshmallow."""
        if many and obj is not None:
            return [self._serialize(item) for item in obj]
        plan = self.__dict__.get("_dump_plan") or self._make_dump_plan()
        missing = ma.missing
        if isinstance(obj, Mapping):
            get = obj.get
        elif type(self).get_attribute is Schema.get_attribute:
            get = partial(getattr, obj)
        elif self.dump_source is not None:  # its attributes are plain ones of another object
            get = partial(getattr, self.dump_source(obj))
        else:
            get = partial(self.get_attribute, obj)
        ret = {}
        for key, attr, field, plain in plan:
            if plain is fields.Method:
                value = getattr(self, field.serialize_method_name)(obj)
            elif plain is None:
                value = field.serialize(attr, obj, accessor=self.get_attribute)
            elif plain is list:  # of texts
                value = get(attr, missing)
                if value is not missing and (value is not None or type(field) is ListOrEmpty):
                    value = list(value or ())
                    if not all(type(item) is str for item in value):
                        value = field.serialize(attr, obj, accessor=self.get_attribute)
            elif plain is fields.List:  # of Nested (no dump hooks): each item's own loop
                value = get(attr, missing)
                if value is not missing and (value is not None or type(field) is ListOrEmpty):
                    value = field.inner.schema._serialize(value or (), many=True)
            else:
                value = get(attr, missing)
                if value is None or value is missing:
                    pass
                elif type(value) is plain:
                    if plain is datetime:
                        value = value.isoformat()
                else:
                    value = field.serialize(attr, obj, accessor=self.get_attribute)
            if value is not missing:
                ret[key] = value
        return ret

    def _make_dump_plan(self):
        plan = []
        for name, field in self.dump_fields.items():
            attr = field.attribute or name
            plain = _PLAIN.get(type(field))
            if plain is fields.List and type(field.inner) is fields.String:
                plain = list  # of texts
            elif plain is fields.List and not (
                    type(field.inner) is fields.Nested and not field.inner.many
                    and not any(field.inner.schema._hooks[h] for h in ("pre_dump", "post_dump"))):
                plain = None
            if "." in attr or (plain is datetime and field.format not in (None, "iso")):
                plain = None
            plan.append((field.data_key or name, attr, field, plain))
        self._dump_plan = plan
        return plan

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        parent = next((b.__dict__["COMPONENT"] for b in cls.__mro__[1:]
                       if b.__dict__.get("COMPONENT")), None)
        if cls.__dict__.get("COMPONENT") and parent:
            EXTENDS[cls.__dict__["COMPONENT"]] = parent


# The fields whose value, of this type, is dumped as it is (a datetime: `isoformat()`).
# A Method field is called directly, a list of Nested dumped by the nested schema's loop.
_PLAIN = {fields.Integer: int, fields.String: str, fields.Boolean: bool,
          fields.DateTime: datetime, fields.Method: fields.Method, fields.List: fields.List}

# Component name -> the component it extends (a subclass of its schema): the document
# states it as `allOf` [the parent, its own properties], as the contract always has.
EXTENDS = {}


def compose(schemas):
    """Rewrite, in the components `schemas`, each one that extends another as `allOf`; a
    component is open to more properties at its top (its extensions add some)."""
    flat = {name: dict(schema) for name, schema in schemas.items()}
    for schema in schemas.values():
        if schema.get("additionalProperties") is False:
            del schema["additionalProperties"]
    for name, parent in EXTENDS.items():
        if name not in schemas or parent not in flat:
            continue
        inherited = flat[parent].get("properties", {})
        own = {k: v for k, v in flat[name].get("properties", {}).items() if k not in inherited}
        required = [k for k in flat[name].get("required", []) if k in own]
        part = {"type": "object", **({"required": required} if required else {}),
                "properties": own}
        composed = {"allOf": [{"$ref": f"#/components/schemas/{parent}"}, part]}
        if "description" in flat[name] and flat[name]["description"] != flat[parent].get(
                "description"):
            composed["description"] = flat[name]["description"]
        schemas[name] = composed
    return schemas


def component_name(schema):
    """The OpenAPI component name of `schema` (apispec's resolver): its `COMPONENT`, else
    None, which writes it inline."""
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__dict__.get("COMPONENT")


class _Strict:
    """A null is refused with the field's `invalid` message unless it has its own."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "null" not in (kwargs.get("error_messages") or {}):
            self.error_messages["null"] = self.error_messages["invalid"]
        if "required" not in (kwargs.get("error_messages") or {}):
            self.error_messages["required"] = REQUIRED


class Text(_Strict, fields.String):
    """A JSON string of at most `limit` characters (stated as `maxLength`)."""

    default_error_messages = {"invalid": "must be text", "too_long": "at most {limit} characters"}

    def __init__(self, limit=None, **kwargs):
        super().__init__(**kwargs)
        self.limit = limit
        if limit is not None:
            self.metadata = {"maxLength": limit, **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        if self.limit is not None and len(value) > self.limit:
            raise self.make_error("too_long", limit=self.limit)
        return value


class Int(_Strict, fields.Integer):
    """A JSON integer, never a boolean nor a numeric string."""

    default_error_messages = {"invalid": "must be a whole number"}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class Id(Int):
    """The id of a row in a JSON body: a whole number from 1 to the 32-bit `MAX_ID` (a
    larger one would reach PostgreSQL's INTEGER column and fail there)."""

    default_error_messages = {"range": f"must be a whole number from 1 to {MAX_ID}"}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.metadata = {"minimum": 1, "maximum": MAX_ID, **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not 1 <= value <= MAX_ID:
            raise self.make_error("range")
        return value


class Bool(_Strict, fields.Boolean):
    """A JSON boolean, nothing that only looks like one."""

    default_error_messages = {"invalid": "must be true or false"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Raw(fields.Raw):
    """A value checked by a function of the domain (`check(value)` returns the clean value
    or raises ValueError with the message); apispec reads `metadata` for its schema."""

    def __init__(self, check, **kwargs):
        super().__init__(**kwargs)
        self.check = check

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return self.check(value)
        except ValueError as error:
            raise ma.ValidationError(str(error)) from None


class Checked(Raw):
    """A `Raw` field whose check also decides what absent and null mean (its default, or
    its own "required" message): the check is called with None for both, as the forms'
    and the API's shared checks (contacts.validation) expect."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        return self._deserialize(None if value is ma.missing else value, attr, data, **kwargs)


class IntArg(fields.Integer):
    """A whole number from `low` to `high` in a query string (digits) or a JSON body (an
    integer, or digits); absent or empty: `load_default`. A bad one alone is answered
    "<name> must be a whole number from <low> to <high>" (`error_text`)."""

    default_error_messages = {"invalid": "invalid number"}

    def __init__(self, low=1, high=2**31 - 1, **kwargs):  # 32-bit ids
        super().__init__(**kwargs)
        self.low, self.high = low, high
        self.metadata = {"minimum": low, "maximum": high, **self.metadata}

    @property
    def error_text(self):
        return f"{self.data_key or self.name} must be a whole number from {self.low} to " \
               f"{self.high}"

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value is ma.missing or value is None or value == "":
            return self.load_default
        return self._deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not (value.isascii() and value.isdigit()) or not (
            self.low <= int(value) <= self.high
        ):
            raise self.make_error("invalid")
        return int(value)


class Choice(fields.String):
    """One of `choices` in a query string; absent or empty: None. A bad one alone is
    answered with `error_text`."""

    def __init__(self, choices, message, error_text, **kwargs):
        super().__init__(**kwargs)
        self.choices, self.message, self.error_text = list(choices), message, error_text
        self.metadata = {"enum": self.choices, **self.metadata}

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value is ma.missing or value is None or value == "":
            return None
        if value not in self.choices:
            raise ma.ValidationError(self.message)
        return value


def text_limit(limit, **extra):
    """The OpenAPI metadata of a text of at most `limit` characters (for `Raw` fields)."""
    return limits.text(limit, **extra)


class ErrorSchema(Schema):
    """Every refusal of the API: `{"error": ..., "fields": {name: message}}`."""

    COMPONENT = "Error"
    error = fields.String(required=True)

    class Meta:
        unknown = ma.EXCLUDE  # a 409 adds `current` (the Conflict schema extends this one)
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields")


def flatten(messages, prefix=""):
    """marshmallow's nested messages as the API's `fields`: one text per dotted name
    ("person.name", "reasons.1"), a field's several messages joined."""
    flat = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if name == "_schema" or name.endswith("._schema"):
                name = name.rsplit("._schema", 1)[0] if "." in name else "_schema"
            flat.update(flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix] = " ".join(messages)
    elif isinstance(messages, list):
        for item in messages:
            flat.update(flatten(item, prefix))
    else:
        flat[prefix] = str(messages)
    return flat


class EnglishSchema(Schema):
    """A schema whose checks speak English (the API's language), whatever the session's:
    the checks it shares with the forms are translated."""

    def load(self, *args, **kwargs):
        with force_locale("en"):
            return super().load(*args, **kwargs)


class ListOrEmpty(fields.List):
    """A list attribute that may be None in the database, dumped as []."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(value or [], attr, obj, **kwargs)


_PLAIN[ListOrEmpty] = fields.List
