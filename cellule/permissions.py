"""Roles and the decorators that guard views by role."""

from functools import wraps

from flask import abort
from flask_login import current_user

AMBASSADOR = "ambassador"
ADVISOR = "advisor"
PSYCHOLOGIST = "psychologist"
SUPERVISOR = "supervisor"
ADMIN = "admin"
ROLES = (AMBASSADOR, ADVISOR, PSYCHOLOGIST, SUPERVISOR, ADMIN)

# Roles that work with people and contacts at all (admins never see case content).
CASEWORK_ROLES = (AMBASSADOR, ADVISOR, PSYCHOLOGIST, SUPERVISOR)


def roles_required(*roles):
    """Refuse the view (403) unless the logged-in user has one of `roles`."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from .extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                from . import audit

                audit.denied("role", view.__name__)
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
