"""The navigation bar: each domain registers its entries with the roles that see them."""

from dataclasses import dataclass

from flask import url_for


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy gettext string
    roles: tuple
    order: int


_ITEMS = []


def register(endpoint, label, roles, order=50):
    """Add a navigation entry shown to users of `roles`."""
    if all(item.endpoint != endpoint for item in _ITEMS):
        _ITEMS.append(NavItem(endpoint, label, tuple(roles), order))
        _ITEMS.sort(key=lambda item: item.order)


def items_for(user, current_endpoint):
    """Return (url, label, is_current) for the entries `user` may see."""
    if not user.is_authenticated:
        return []
    return [
        (url_for(item.endpoint), item.label, item.endpoint == current_endpoint)
        for item in _ITEMS
        if user.role in item.roles
    ]


_PANELS = []


def register_panel(template, roles, order=50):
    """Add a template included on the home page of users of `roles` (domains' summaries)."""
    if all(t != template for _, t, _r in _PANELS):
        _PANELS.append((order, template, tuple(roles)))
        _PANELS.sort(key=lambda panel: panel[0])


def panels_for(user):
    """Return the home-page templates `user` sees, in order."""
    if not user.is_authenticated:
        return []
    return [template for _, template, roles in _PANELS if user.role in roles]
