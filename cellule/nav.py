"""The navigation bar: each domain registers its entries with the roles that see them.

An entry belongs to a group (`WORK`, `TEAM`, `ADMIN`) or stands alone (`group=None`: home
and each role's first action). templates/base.html shows a group as a menu of its own
(a group of one entry as that entry), so that every role's bar holds on one row.
"""

from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l

WORK, TEAM, ADMIN = "work", "team", "admin"
GROUP_LABELS = {WORK: _l("Work"), TEAM: _l("Team"), ADMIN: _l("Admin")}


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy gettext string
    roles: tuple
    order: int
    group: str | None = None
    shortcut: str | None = None  # a key that follows the entry (the "?" overlay lists it)


@dataclass(frozen=True)
class NavLink:
    url: str
    label: object
    is_current: bool
    shortcut: str | None = None


@dataclass(frozen=True)
class NavGroup:
    """A group of the bar as one user sees it: `links` are NavLinks."""
    key: str | None
    label: object
    links: list

    @property
    def is_current(self):
        return any(link.is_current for link in self.links)


_ITEMS = []


def register(endpoint, label, roles, order=50, group=None, shortcut=None):
    """Add a navigation entry shown to users of `roles`, in `group` (None: on its own),
    followed by the key `shortcut` if given."""
    if group is not None and group not in GROUP_LABELS:
        raise ValueError(f"unknown navigation group {group!r}")
    if all(item.endpoint != endpoint for item in _ITEMS):
        _ITEMS.append(NavItem(endpoint, label, tuple(roles), order, group, shortcut))
        _ITEMS.sort(key=lambda item: item.order)


def _visible(user):
    if not user.is_authenticated:
        return []
    return [item for item in _ITEMS if user.role in item.roles]


def items_for(user, current_endpoint):
    """Return (url, label, is_current) for the entries `user` may see."""
    return [(url_for(item.endpoint), item.label, item.endpoint == current_endpoint)
            for item in _visible(user)]


def groups_for(user, current_endpoint):
    """The bar of `user`: the entries on their own and the groups, in the order of their
    first entry; a group is placed where its first entry is."""
    groups, by_key = [], {}
    for item in _visible(user):
        link = NavLink(url_for(item.endpoint), item.label, item.endpoint == current_endpoint,
                       item.shortcut)
        if item.group is None:
            groups.append(NavGroup(None, item.label, [link]))
        elif item.group in by_key:
            by_key[item.group].links.append(link)
        else:
            by_key[item.group] = NavGroup(item.group, GROUP_LABELS[item.group], [link])
            groups.append(by_key[item.group])
    return groups


def shortcuts_for(user):
    """(key, label) of the entries `user` may follow by a key."""
    return [(item.shortcut, item.label) for item in _visible(user) if item.shortcut]


_ACTIONS = []


def register_action(endpoint, label, roles, order=50):
    """Add a button to the head of the home page of users of `roles` (after the bar's
    entries of their own, which are every role's first actions)."""
    if all(item.endpoint != endpoint for item in _ACTIONS):
        _ACTIONS.append(NavItem(endpoint, label, tuple(roles), order))
        _ACTIONS.sort(key=lambda item: item.order)


def home_actions(user, current_endpoint):
    """The home's buttons: (url, label) of the bar's entries of their own but the current
    page, then the registered actions."""
    entries = [item for item in _visible(user)
               if item.group is None and item.endpoint != current_endpoint]
    entries += [item for item in _ACTIONS if user.role in item.roles]
    return [(url_for(item.endpoint), item.label) for item in entries]


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
