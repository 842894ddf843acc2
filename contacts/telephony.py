"""Telephony hooks: what a screen-pop shows beyond the matching people.

`register_open_cases(provider)`: `provider(persons, user)` returns a list of JSON
objects (the open cases of those people that `user` may see). The cases domain
registers one from its `register(app)`; until then `open_cases` is `[]`.
"""

_OPEN_CASE_PROVIDERS = []


def register_open_cases(provider):
    """Add a provider `provider(persons, user) -> list[dict]`; usable as a decorator."""
    if provider not in _OPEN_CASE_PROVIDERS:
        _OPEN_CASE_PROVIDERS.append(provider)
    return provider


def open_cases_for(persons, user):
    """Return the open cases every provider gives for these people."""
    if not persons:
        return []
    cases = []
    for provider in _OPEN_CASE_PROVIDERS:
        cases.extend(provider(list(persons), user) or ())
    return cases
