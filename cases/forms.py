"""Forms of the case actions (HTML): what each action's form posts, as typed values.

The rules of a change live in `operations` — the JSON API calls them too and names a
refused field with the same message — so a form refuses only what the page itself decides:
a value that does not parse (a due date), a choice that names nothing (a resource), the
few rules no operation knows (whom a task may be given to). A form left out of date is
not the form's business either: its `version` goes to the operation, which answers 409.
"""

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, HiddenField, StringField
from wtforms.validators import ValidationError

from cellule import limits
from cellule.extensions import db
from cellule.models import User
from cellule.permissions import ADVISOR, SUPERVISOR
from cellule.security import parse_id
from cellule.timeparse import BadTime, parse_instant
from triage.calendar import get_calendar

from .models import RESOURCE_KINDS, Resource
from .operations import OperationError

LANGUAGES = ("fr", "nl", "de", "en")


def _stripped(value):
    return (value or "").strip()


class IdField(HiddenField):
    """A record id (`cellule.security.parse_id`): None when absent or not an id, which the
    action then treats as "no such record" — never a parse error of its own."""

    def process_formdata(self, valuelist):
        self.data = parse_id(valuelist[0]) if valuelist else None

    def _value(self):
        return str(self.data) if self.data else ""


class FlagField(BooleanField):
    """On only when posted with exactly `value` (a button's "1", a box's "y"): the
    templates post these values, and anything else ("0", "off") is off."""

    def __init__(self, label=None, validators=None, value="y", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.on_value = value

    def process_formdata(self, valuelist):
        self.data = bool(valuelist) and valuelist[0] == self.on_value


class LocalTimeField(StringField):
    """A local time without an offset, in the cell's time zone (`datetime-local`); empty
    is None. A value that does not parse is the field's error, with the parser's words."""

    def process_formdata(self, valuelist):
        value = _stripped(valuelist[0]) if valuelist else ""
        self.data = None
        if value:
            try:
                self.data = parse_instant(value, get_calendar().tz)
            except BadTime as error:
                raise ValueError(str(error)) from None


class ActionForm(FlaskForm):
    """A case action: its CSRF token, and its refusal in the shape of an operation's."""

    def __init__(self, **kwargs):
        # What the page posted, only: a JSON body, which FlaskForm would read too, is the API's.
        super().__init__(formdata=request.form if self.is_submitted() else None, **kwargs)

    def check(self):
        """Validate, or raise the OperationError the views already answer (422 naming the
        fields), so that a form's refusal and an operation's read the same."""
        if not self.validate():
            raise OperationError("invalid form", self.field_errors())

    def field_errors(self):
        """{field name: message}, one message a field, as the pages show them."""
        return {name: errors[0] for name, errors in self.errors.items() if errors}

    def show_refusal(self, fields):
        """Put an operation's refusal ({field name: message}) on the form's fields, where a
        field has no error of its own yet."""
        for name, message in fields.items():
            if name in self and not self[name].errors:
                self[name].errors = [message]

    def posted(self):
        """What was posted, by field name, for a template that puts it back in the form."""
        return {field.name: field.raw_data[0] for field in self
                if field.name != "csrf_token" and getattr(field, "raw_data", None)}


class VersionedForm(ActionForm):
    """An action on the case's version the page showed (optimistic lock, DESIGN §2)."""

    version = IdField()


class AssigneeForm(ActionForm):
    assignee_id = IdField()

    def assignee(self):
        """The chosen user, or None (no such user: the operation says whom to choose)."""
        if not hasattr(self, "_assignee"):
            user_id = self.assignee_id.data
            self._assignee = db.session.get(User, user_id) if user_id else None
        return self._assignee


class ClaimForm(ActionForm):
    call = FlagField(value="1")  # "Claim and call now"


class ReassignForm(VersionedForm, AssigneeForm):
    pass


class IdentifySearchForm(ActionForm):
    q = StringField(filters=[_stripped])

    def validate_q(self, field):
        if len(field.data) > limits.SEARCH:
            raise ValidationError(_("At most %(max)s characters.", max=limits.SEARCH))


class IdentifyPersonForm(VersionedForm):
    person_id = IdField()


class LevelForm(VersionedForm):
    level = StringField(default="")


class StatusForm(VersionedForm):
    status = StringField(default="")


class CloseForm(VersionedForm):
    """The closing step: outcome, safety outcome and note, and a `task_<id>` radio for
    each open task (named by id, so not declared fields)."""

    outcome = StringField(default="")
    safety_outcome = StringField()
    safety_note = StringField()
    no_safety_plan_reason = StringField()

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        super().process(formdata, obj, data=data, extra_filters=extra_filters, **kwargs)
        formdata = self.meta.wrap_formdata(self, formdata)
        self.task_radios = {name: value for name, value in (formdata or {}).items()
                            if name.startswith("task_")}

    def tasks(self):
        """{task id: "done"|"cancelled"} from the `task_<id>` radios."""
        tasks = {}
        for name, value in self.task_radios.items():
            task_id = parse_id(name.removeprefix("task_"))
            if task_id:
                tasks[task_id] = value
        return tasks

    def options(self):
        """The keyword arguments of `operations.close_case`."""
        return {"safety_outcome": self.safety_outcome.data or None,
                "safety_note": self.safety_note.data, "tasks": self.tasks(),
                "no_safety_plan_reason": self.no_safety_plan_reason.data}

    def posted(self):
        return {**super().posted(), **self.task_radios}


class NoteForm(ActionForm):
    body = StringField()
    visibility = StringField(default="team")

    def need(self):
        """The permission the note asks for: a clinical note is the psychologists'."""
        return "add_clinical_note" if self.visibility.data == "clinical" else "add_team_note"


class CaseReferralForm(ActionForm):
    resource_id = IdField()
    consent = FlagField(value="y")
    note = StringField()

    def validate_resource_id(self, field):
        self.resource = db.session.get(Resource, field.data or 0)
        if self.resource is None:
            raise ValidationError("choose a resource")


class LinkContactForm(ActionForm):
    contact_id = IdField()


class ReassessForm(ActionForm):
    exchange = StringField(default="")
    summary = StringField(default="")


class TaskForm(AssigneeForm):
    title = StringField()
    kind = StringField(default="custom")
    due_at = LocalTimeField()

    def validate_assignee_id(self, field):
        # Case workers give themselves tasks; advisors and supervisors also give them to others.
        assignee = self.assignee() or current_user
        if assignee.id != current_user.id and current_user.role not in (ADVISOR, SUPERVISOR):
            raise ValidationError("only to yourself")

    def task_values(self):
        """The task's fields, as `operations.create_task` takes them (no one chosen: me)."""
        return {"title": self.title.data, "kind": self.kind.data,
                "assignee": self.assignee() or current_user, "due_at": self.due_at.data}


class CaseVersionsField(Field):
    """The board's ticked rows: each box posts "<case id>:<version the board showed>".
    Data: [(id, version)], in order, once each; a value that is not that pair is refused."""

    MAX = 200  # four board pages: more is not a supervisor's tick

    def process_formdata(self, valuelist):
        self.data, seen = [], set()
        for value in valuelist[: self.MAX + 1]:
            case_id, _sep, version = (value or "").partition(":")
            pair = (parse_id(case_id), parse_id(version))
            if None in pair:
                raise ValueError("not a case of the board")
            if pair[0] not in seen:
                seen.add(pair[0])
                self.data.append(pair)
        if len(valuelist) > self.MAX:
            raise ValueError(f"at most {self.MAX} cases at once")

    def _value(self):
        return ""


class BulkReassignForm(AssigneeForm):
    """"Reassign selected to …": the ticked cases and the case worker to give them to."""

    cases = CaseVersionsField(default=list)

    def validate_cases(self, field):
        if not field.data:
            raise ValidationError(_("Select at least one case."))

    def validate_assignee_id(self, field):
        if self.assignee() is None:
            raise ValidationError(_("Choose a case worker."))


class FinishTaskForm(ActionForm):
    next = HiddenField()

    def next_page(self):
        """The form's `next` when it is a path of this site, else my tasks."""
        target = self.next.data or ""
        if target.startswith("/") and not target.startswith("//"):
            return target
        return url_for("cases.my_tasks")


class ResourceForm(ActionForm):
    """A directory entry (administrators): checked here, saved by `save_resource`."""

    name = StringField(filters=[_stripped])
    kind = StringField(default="")
    phone = StringField(filters=[_stripped])
    url = StringField(filters=[_stripped])
    email = StringField(filters=[_stripped])  # where handover packs go (cases.referrals)
    hours = StringField(filters=[_stripped])
    cost = StringField(filters=[_stripped])
    price = StringField(filters=[_stripped])
    lang_fr = FlagField()
    lang_nl = FlagField()
    lang_de = FlagField()
    lang_en = FlagField()
    description_fr = StringField(filters=[_stripped])
    description_nl = StringField(filters=[_stripped])
    description_de = StringField(filters=[_stripped])
    description_en = StringField(filters=[_stripped])
    active = FlagField()

    LINE_SIZES = {"phone": limits.PHONE, "url": limits.URL, "hours": limits.LINE,
                  "cost": limits.LINE}

    def validate_name(self, field):
        if not field.data or len(field.data) > limits.NAME:
            raise ValidationError(_("A name of at most %(max)s characters is required.",
                                    max=limits.NAME))

    def validate_kind(self, field):
        if field.data not in RESOURCE_KINDS:
            raise ValidationError(_("Choose a kind."))

    def _check_line(self, field):
        size = self.LINE_SIZES[field.name]
        if limits.too_long(field.data or None, size):
            raise ValidationError(_("At most %(max)s characters.", max=size))

    validate_phone = validate_hours = validate_cost = _check_line

    def validate_url(self, field):
        if field.data and not field.data.startswith(("https://", "http://")):
            raise ValidationError(_("The address must start with https://"))
        self._check_line(field)

    def validate_email(self, field):
        value = field.data or ""
        if value and (len(value) > limits.EMAIL or value.count("@") != 1
                      or any(c in value for c in " <>,;\"'")):
            raise ValidationError(_("Give one email address, e.g. name@example.be."))

    def validate_price(self, field):
        try:
            self.price_cents()
        except (ValueError, OverflowError):  # "1e309", "inf", "nan"
            raise ValidationError(_("Give a price in euros, e.g. 45 or 45.50.")) from None

    def _check_description(self, field):
        if len(field.data) > limits.DESCRIPTION:
            raise ValidationError(_("At most %(max)s characters.", max=limits.DESCRIPTION))

    validate_description_fr = validate_description_nl = _check_description
    validate_description_de = validate_description_en = _check_description

    def price_cents(self):
        """The price in cents, or None (empty: free); ValueError for one out of bounds."""
        price = self.price.data.replace(",", ".")
        cents = round(float(price) * 100) if price else None
        if cents is not None and not (0 <= cents <= 10**9 and len(price) <= limits.PRICE):
            raise ValueError(price)
        return cents

    def resource_values(self):
        """The entry's fields, as `operations.save_resource` takes them."""
        values = {key: self[key].data or None for key in self.LINE_SIZES}
        return {
            **values,
            "name": self.name.data,
            "kind": self.kind.data,
            "price_cents": self.price_cents(),
            "languages": [lang for lang in LANGUAGES if self["lang_" + lang].data],
            "descriptions": {lang: self["description_" + lang].data for lang in LANGUAGES
                             if self["description_" + lang].data},
            "active": self.active.data,
            "email": self.email.data or None,
        }
