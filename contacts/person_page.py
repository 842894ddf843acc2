"""The person page's extension points, filled by other domains (cases, triage runs).

`contacts` cannot import `cases`; cases registers providers from its
`register(app)` instead:

- `register_timeline(provider)`: `provider(person, user)` returns an iterable of
  `TimelineEntry`; the page merges them with the contacts, newest first.
- `register_section(provider)`: `provider(person, user)` returns a `Section`
  (a titled block of HTML, e.g. the open case) or None.
- `register_open_case_note(provider)`: `provider(persons, user)` returns {person id:
  HTML} saying each person's open case (reference, level, a link), for the search
  results and the person page's banner, in one query for the whole list.
- `register_contact_triage(provider)` / `register_person_triage(provider)`:
  `provider(contact_or_person, user)` returns the `TriageAction`s the page offers
  (DESIGN §9: a distress signal is never more than one click from the triage).

Providers get the person and the current user and must apply their own access
rules (an ambassador sees only what they created) and audit what they show.
"""

from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup


@dataclass(frozen=True)
class TimelineEntry:
    """One dated line of a person's history."""

    at: datetime
    kind: str  # "contact", "triage", "case", … (also a CSS hook)
    title: str
    url: str | None = None
    detail: str | None = None
    badges: tuple = field(default_factory=tuple)  # (css_suffix, label) pairs
    flagged: bool = False


@dataclass(frozen=True)
class Section:
    """A block shown on the person page above the timeline."""

    title: str
    body: Markup
    order: int = 50


_TIMELINE_PROVIDERS = []
_SECTION_PROVIDERS = []


def register_timeline(provider):
    """Add a provider of timeline entries `provider(person, user)`; usable as a decorator."""
    if provider not in _TIMELINE_PROVIDERS:
        _TIMELINE_PROVIDERS.append(provider)
    return provider


def register_section(provider):
    """Add a provider of a page section `provider(person, user)`; usable as a decorator."""
    if provider not in _SECTION_PROVIDERS:
        _SECTION_PROVIDERS.append(provider)
    return provider


def timeline_for(person, user, limit=200):
    """Return every provider's entries for the person, newest first."""
    entries = []
    for provider in _TIMELINE_PROVIDERS:
        entries.extend(provider(person, user) or ())
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def sections_for(person, user):
    """Return the sections the providers give for the person, by order."""
    sections = [s for s in (p(person, user) for p in _SECTION_PROVIDERS) if s is not None]
    return sorted(sections, key=lambda s: s.order)


_CONTACT_SECTION_PROVIDERS = []


def register_contact_section(provider):
    """Add a provider of a contact page section `provider(contact, user)` (e.g. "Run
    triage" from the triage/cases domain); usable as a decorator."""
    if provider not in _CONTACT_SECTION_PROVIDERS:
        _CONTACT_SECTION_PROVIDERS.append(provider)
    return provider


def contact_sections_for(contact, user):
    """Return the sections the providers give for the contact page, by order."""
    sections = [s for s in (p(contact, user) for p in _CONTACT_SECTION_PROVIDERS) if s]
    return sorted(sections, key=lambda s: s.order)


# --- The triage offered on the contact and person pages (filled by cases) ------------


@dataclass(frozen=True)
class TriageAction:
    """A link to the triage a page offers: start, resume, its record, or log a contact first."""

    url: str
    label: str
    kind: str = "start"  # "start", "resume", "record", "log_first" (also a CSS hook)
    primary: bool = True
    note: str | None = None


_CONTACT_TRIAGE_PROVIDERS = []
_PERSON_TRIAGE_PROVIDERS = []


def register_contact_triage(provider):
    """Add a provider `provider(contact, user)` of the `TriageAction`s a contact offers."""
    if provider not in _CONTACT_TRIAGE_PROVIDERS:
        _CONTACT_TRIAGE_PROVIDERS.append(provider)
    return provider


def register_person_triage(provider):
    """Add a provider `provider(person, user)` of the `TriageAction`s a person page offers."""
    if provider not in _PERSON_TRIAGE_PROVIDERS:
        _PERSON_TRIAGE_PROVIDERS.append(provider)
    return provider


def contact_triage_for(contact, user):
    """Return the triage actions the providers offer on this contact (none: the user may
    not triage)."""
    return [a for p in _CONTACT_TRIAGE_PROVIDERS for a in (p(contact, user) or ())]


def person_triage_for(person, user):
    """Return the triage actions the providers offer on this person's page."""
    return [a for p in _PERSON_TRIAGE_PROVIDERS for a in (p(person, user) or ())]


# --- A person's open case, said in search results and on top of their page -----------

_OPEN_CASE_NOTE_PROVIDERS = []


def register_open_case_note(provider):
    """Add a provider `provider(persons, user) -> {person_id: Markup}`."""
    if provider not in _OPEN_CASE_NOTE_PROVIDERS:
        _OPEN_CASE_NOTE_PROVIDERS.append(provider)
    return provider


def open_case_notes_for(persons, user):
    """Return {person id: [Markup]}: what the providers say of these people's open cases."""
    persons = list(persons)
    notes = {}
    if not persons:
        return notes
    for provider in _OPEN_CASE_NOTE_PROVIDERS:
        for person_id, note in (provider(persons, user) or {}).items():
            notes.setdefault(person_id, []).append(note)
    return notes
