"""Forms of the second factor, password change and set-up, re-authentication and user
administration."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from . import limits
from .config import LANGUAGES
from .forms import LANGUAGE_NAMES
from .passwords import MAX_LENGTH, policy_errors
from .permissions import ROLES
from .templating import ROLE_LABELS


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=limits.CODE)],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "autofocus": True,
            "spellcheck": "false",
            "autocapitalize": "off",
        },
    )


class ConfirmForm(FlaskForm):
    """Re-authentication before a sensitive action: password, and the code when enrolled."""

    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password", "autofocus": True},
    )
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[Length(max=limits.CODE)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    next = HiddenField()


class NewPasswordForm(FlaskForm):
    """A new password typed twice, checked against the policy (length, common list, context:
    the account's email and name)."""

    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "new-password", "maxlength": MAX_LENGTH},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password", "maxlength": MAX_LENGTH},
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy_email = user.email if user else None
        self.policy_name = user.name if user else None

    def validate_new_password(self, field):
        errors = policy_errors(field.data, self.policy_email, self.policy_name)
        if errors:
            raise ValidationError(str(errors[0]))


class PasswordChangeForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


class SetupPasswordForm(NewPasswordForm):
    """Choosing one's password with a set-up link (cellule.setup_links): same rules as a change."""

    token = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.new_password.render_kw = {**self.new_password.render_kw, "autofocus": True}


def role_choices():
    return [SelectChoice(role, ROLE_LABELS[role]) for role in ROLES]


class UserCreateForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=limits.EMAIL)],
    )
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=limits.NAME)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    language = SelectField(
        _l("Language"),
        choices=[SelectChoice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()


class ActionForm(FlaskForm):
    """A button-only form (deactivate, reset…): just the CSRF token."""
