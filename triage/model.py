"""Hold a validated script definition: sections, items, skip logic, texts, resources."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .vocab import YES_NO

FALLBACK_LANGUAGE = "en"
ITEM_TYPES = ("yes_no", "scale", "integer", "text")
# The longest free-text answer any script may accept (its items' `max_length`, the default).
TEXT_MAX_LENGTH = 4_000

Translations = Mapping[str, str]


class ScriptDefinitionError(ValueError):
    """Raised when a script definition file is invalid."""


class UnknownScriptError(LookupError):
    """Raised when no loaded definition matches a script id and version."""


@dataclass(frozen=True)
class Condition:
    """Skip logic: the item is asked when any listed item equals the value."""

    items: tuple[str, ...]
    equals: str | int

    def is_met(self, answers: Mapping[str, Any]) -> bool:
        """Return whether any listed answer equals the value (same type, no bool/int mix)."""
        return any(_same(answers.get(i), self.equals) for i in self.items)

    def describe(self) -> str:
        """Return an English description for error messages."""
        if len(self.items) == 1:
            return f"{self.items[0]} is {self.equals!r}"
        return f"one of {', '.join(self.items)} is {self.equals!r}"


def _same(value: Any, expected: Any) -> bool:
    return type(value) is type(expected) and value == expected


@dataclass(frozen=True, eq=False)
class Option:
    """One labelled answer value of a scale item."""

    value: int
    label: Translations


@dataclass(frozen=True, eq=False)
class Item:
    """One question of a script, with its type, range and skip logic."""

    id: str
    section: str
    type: str
    question: Translations
    required: bool = True
    asked_when: Condition | None = None
    min: int | None = None
    max: int | None = None
    options: tuple[Option, ...] = ()
    scale: str | None = None
    max_length: int | None = None

    def check(self, value: Any) -> str | None:
        """Return an English error message when the value is invalid, else None."""
        if self.type == "yes_no":
            if isinstance(value, str) and value in YES_NO:
                return None
            return 'must be "yes" or "no"'
        if self.type in ("scale", "integer"):
            # type() rather than isinstance(): bool is an int subclass and must be refused.
            if type(value) is int and self.min <= value <= self.max:
                return None
            return f"must be an integer from {self.min} to {self.max}"
        if not isinstance(value, str):
            return "must be text"
        if self.max_length is not None and len(value) > self.max_length:
            return f"must be at most {self.max_length} characters"
        return None

    def accepts(self, value: Any) -> bool:
        """Return whether the value is a valid answer."""
        return self.check(value) is None


@dataclass(frozen=True, eq=False)
class Section:
    """One screen of the script: its items in order and the scorers that read them."""

    id: str
    title: Translations
    items: tuple[Item, ...]
    scorers: tuple[str, ...] = ()
    intro: Translations | None = None
    source: str | None = None
    translation_note: str | None = None
    provisional_languages: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class CrisisResource:
    """A crisis line and the languages of the people it is offered to."""

    id: str
    name: Translations
    phone: str
    language: str
    shown_for: tuple[str, ...]
    description: Translations

    def to_dict(self, language: str) -> dict[str, str]:
        """Return the JSON shape with name and description in the given language."""
        return {
            "name": _pick(self.name, language),
            "phone": self.phone,
            "language": self.language,
            "description": _pick(self.description, language),
        }


@dataclass(frozen=True, eq=False)
class ProtocolStep:
    """One line of the crisis protocol checklist."""

    id: str
    text: Translations


def _pick(translations: Translations, language: str) -> str:
    return translations.get(language) or translations[FALLBACK_LANGUAGE]


@dataclass(frozen=True, eq=False)
class Script:
    """A validated, immutable script definition."""

    id: str
    version: int
    languages: tuple[str, ...]
    sections: tuple[Section, ...]
    texts: Mapping[str, Translations]
    crisis_resources: tuple[CrisisResource, ...]
    crisis_protocol: tuple[ProtocolStep, ...]
    source_path: str = ""
    _items: Mapping[str, Item] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        items = {item.id: item for section in self.sections for item in section.items}
        object.__setattr__(self, "_items", MappingProxyType(items))

    @property
    def items(self) -> tuple[Item, ...]:
        """Return every item in script order."""
        return tuple(self._items.values())

    def item(self, item_id: str) -> Item:
        """Return the item with this id (KeyError when unknown)."""
        try:
            return self._items[item_id]
        except KeyError:
            raise KeyError(f"{self.id} v{self.version} has no item {item_id!r}") from None

    def has_item(self, item_id: str) -> bool:
        """Return whether the script defines this item id."""
        return item_id in self._items

    def section(self, section_id: str) -> Section:
        """Return the section with this id (KeyError when unknown)."""
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(f"{self.id} v{self.version} has no section {section_id!r}")

    def section_for_scorer(self, scorer: str) -> Section | None:
        """Return the section scored by this scorer, if any."""
        return next((s for s in self.sections if scorer in s.scorers), None)

    def visible_items(self, answers: Mapping[str, Any]) -> tuple[Item, ...]:
        """Return the items asked given the answers so far (skip logic, in order)."""
        visible: list[Item] = []
        # Answers to hidden items are ignored so a stale answer cannot reveal a follow-up.
        effective: dict[str, Any] = {}
        for item in self._items.values():
            if item.asked_when is None or item.asked_when.is_met(effective):
                visible.append(item)
                if item.id in answers:
                    effective[item.id] = answers[item.id]
        return tuple(visible)

    def text(self, key: str, language: str) -> str:
        """Return the text for a key (e.g. "level.high") in a language, English fallback."""
        try:
            translations = self.texts[key]
        except KeyError:
            raise KeyError(f"{self.id} v{self.version} has no text {key!r}") from None
        return _pick(translations, language)

    def resources_for(self, language: str) -> tuple[CrisisResource, ...]:
        """Return the crisis resources offered to a person speaking this language."""
        if language not in self.languages:
            language = FALLBACK_LANGUAGE
        return tuple(r for r in self.crisis_resources if language in r.shown_for)

    def protocol(self, language: str) -> tuple[str, ...]:
        """Return the crisis protocol checklist lines in a language."""
        return tuple(_pick(step.text, language) for step in self.crisis_protocol)
