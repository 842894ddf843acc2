"""Roles and the decorators that guard views by role."""

from functools import wraps

from flask import abort
from flask_login import current_user

from . import audit
from .extensions import login_manager
from .roles import (  # noqa: F401  (the role names, read from here by the domains)
    ADMIN,
    ADVISOR,
    AMBASSADOR,
    PSYCHOLOGIST,
    ROLES,
    SUPERVISOR,
)


def roles_required(*roles):
    """Refuse the view (403) unless the logged-in user has one of `roles`."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                audit.denied("role", view.__name__)
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
