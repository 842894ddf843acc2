"""Load and validate triage script definitions (TOML data files) at start-up."""

import re
import string
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .model import (
    FALLBACK_LANGUAGE,
    ITEM_TYPES,
    TEXT_MAX_LENGTH,
    Condition,
    CrisisResource,
    Item,
    Option,
    ProtocolStep,
    Script,
    ScriptDefinitionError,
    Section,
    Translations,
    UnknownScriptError,
)
from .scoring import REQUIRED_SCORERS, SCORERS
from .vocab import (
    CBI_BANDS,
    CSSRS_CATEGORIES,
    LEVELS,
    REASON_PARAMS,
    ROUTES,
    SIGNALS,
    YES_NO,
)

__all__ = [
    "REGISTRY",
    "SCRIPTS_DIR",
    "Condition",
    "CrisisResource",
    "Item",
    "Option",
    "ProtocolStep",
    "Script",
    "ScriptDefinitionError",
    "Section",
    "UnknownScriptError",
    "get_script",
    "iter_scripts",
    "load_registry",
    "load_script",
]

SCRIPTS_DIR = Path(__file__).parent / "scripts"
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


# --------------------------------------------------------------------------- parsing


class _Parser:
    """Turn one parsed TOML document into a Script, raising on the first problem."""

    def __init__(self, data: dict[str, Any], origin: str) -> None:
        self.data = data
        self.origin = origin
        self.languages: tuple[str, ...] = ()
        self.texts: dict[str, Translations] = {}
        self.scales: dict[str, tuple[int, int, tuple[Option, ...]]] = {}

    def fail(self, where: str, message: str) -> ScriptDefinitionError:
        return ScriptDefinitionError(f"{self.origin}: {where}: {message}")

    def keys(self, table: Any, where: str, required: set[str], optional: set[str]) -> None:
        if not isinstance(table, dict):
            raise self.fail(where, "must be a table")
        missing = sorted(required - table.keys())
        if missing:
            raise self.fail(where, f"missing key {missing[0]!r}")
        unknown = sorted(table.keys() - required - optional)
        if unknown:
            raise self.fail(where, f"unknown key {unknown[0]!r}")

    def translations(self, value: Any, where: str) -> Translations:
        if not isinstance(value, dict):
            raise self.fail(where, "must be a table of translations")
        for language in self.languages:
            if language not in value:
                raise self.fail(where, f"missing {language!r} translation")
            text = value[language]
            if not isinstance(text, str) or not text.strip():
                raise self.fail(where, f"{language!r} translation must be non-empty text")
        extra = sorted(value.keys() - set(self.languages))
        if extra:
            raise self.fail(where, f"translation for undeclared language {extra[0]!r}")
        return MappingProxyType(dict(value))

    def add_text(self, key: str, value: Any, where: str) -> Translations:
        translations = self.translations(value, where)
        self.texts[key] = translations
        return translations

    def identifier(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not _ID_RE.match(value):
            raise self.fail(where, f"invalid id {value!r} (lower case, digits, underscores)")
        return value

    def integer(self, value: Any, where: str) -> int:
        if type(value) is not int:
            raise self.fail(where, "must be an integer")
        return value

    def parse(self) -> Script:
        data = self.data
        self.keys(
            data,
            "definition",
            {
                "id",
                "version",
                "languages",
                "title",
                "answer_labels",
                "level_names",
                "route_names",
                "cssrs_categories",
                "cbi_bands",
                "signal_names",
                "reasons",
                "sections",
                "crisis_resources",
                "crisis_protocol",
            },
            {"scales", "description"},
        )
        script_id = data["id"]
        if not isinstance(script_id, str) or not re.match(r"^[a-z][a-z0-9-]*$", script_id):
            raise self.fail("id", f"invalid script id {script_id!r}")
        version = self.integer(data["version"], "version")
        if version < 1:
            raise self.fail("version", "must be 1 or more")
        self.parse_languages(data["languages"])
        self.add_text("title", data["title"], "title")
        self.parse_vocabulary("answer_labels", "answer", YES_NO)
        self.parse_vocabulary("level_names", "level", LEVELS)
        self.parse_vocabulary("route_names", "route", ROUTES)
        self.parse_vocabulary("cssrs_categories", "cssrs", CSSRS_CATEGORIES)
        self.parse_vocabulary("cbi_bands", "band", CBI_BANDS)
        self.parse_vocabulary("signal_names", "signal", SIGNALS)
        self.parse_reasons(data["reasons"])
        self.parse_scales(data.get("scales", {}))
        sections = self.parse_sections(data["sections"])
        resources = self.parse_resources(data["crisis_resources"])
        protocol = self.parse_protocol(data["crisis_protocol"])
        return Script(
            id=script_id,
            version=version,
            languages=self.languages,
            sections=sections,
            texts=MappingProxyType(self.texts),
            crisis_resources=resources,
            crisis_protocol=protocol,
            source_path=self.origin,
        )

    def parse_languages(self, value: Any) -> None:
        if not isinstance(value, list) or not value:
            raise self.fail("languages", "must be a non-empty list")
        for language in value:
            if not isinstance(language, str) or not re.match(r"^[a-z]{2}$", language):
                raise self.fail("languages", f"invalid language code {language!r}")
        if len(set(value)) != len(value):
            raise self.fail("languages", "duplicate language")
        if FALLBACK_LANGUAGE not in value:
            raise self.fail("languages", f"must include the fallback {FALLBACK_LANGUAGE!r}")
        self.languages = tuple(value)

    def parse_vocabulary(self, table: str, prefix: str, names: tuple[str, ...]) -> None:
        value = self.data[table]
        self.keys(value, table, set(names), set())
        for name in names:
            self.add_text(f"{prefix}.{name}", value[name], f"{table}.{name}")

    def parse_reasons(self, value: Any) -> None:
        self.keys(value, "reasons", set(REASON_PARAMS), set())
        formatter = string.Formatter()
        for code, allowed in REASON_PARAMS.items():
            where = f"reasons.{code}"
            translations = self.add_text(f"reason.{code}", value[code], where)
            for language, template in translations.items():
                try:
                    fields = list(formatter.parse(template))
                except ValueError as exc:
                    raise self.fail(where, f"{language!r} template is malformed: {exc}") from None
                for _, name, spec, conversion in fields:
                    if name is None:
                        continue
                    if name not in allowed or spec or conversion:
                        raise self.fail(
                            where,
                            f"{language!r} template uses {{{name}}}; allowed: "
                            f"{', '.join(sorted(allowed)) or 'none'}",
                        )

    def parse_scales(self, value: Any) -> None:
        if not isinstance(value, dict):
            raise self.fail("scales", "must be a table")
        for name, scale in value.items():
            where = f"scales.{name}"
            self.identifier(name, where)
            self.keys(scale, where, {"min", "max", "options"}, set())
            low = self.integer(scale["min"], f"{where}.min")
            high = self.integer(scale["max"], f"{where}.max")
            if low >= high:
                raise self.fail(where, "min must be below max")
            raw_options = scale["options"]
            if not isinstance(raw_options, list):
                raise self.fail(f"{where}.options", "must be a list")
            options = []
            for index, raw in enumerate(raw_options):
                option_where = f"{where}.options[{index}]"
                self.keys(raw, option_where, {"value", "label"}, set())
                option_value = self.integer(raw["value"], f"{option_where}.value")
                label = self.add_text(
                    f"scale.{name}.{option_value}", raw["label"], f"{option_where}.label"
                )
                options.append(Option(option_value, label))
            values = [o.value for o in options]
            if values != list(range(low, high + 1)):
                raise self.fail(
                    f"{where}.options", f"must label each value from {low} to {high} once, in order"
                )
            self.scales[name] = (low, high, tuple(options))

    def parse_sections(self, value: Any) -> tuple[Section, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("sections", "must be a non-empty list")
        sections: list[Section] = []
        seen_items: dict[str, Item] = {}
        seen_sections: set[str] = set()
        scorers_used: set[str] = set()
        for index, raw in enumerate(value):
            where = f"sections[{index}]"
            self.keys(
                raw,
                where,
                {"id", "title", "items"},
                {"scorers", "intro", "source", "translation_note", "provisional_languages"},
            )
            section_id = self.identifier(raw["id"], f"{where}.id")
            where = f"section {section_id!r}"
            if section_id in seen_sections:
                raise self.fail(where, "duplicate section id")
            seen_sections.add(section_id)
            title = self.add_text(f"section.{section_id}.title", raw["title"], f"{where} title")
            intro = None
            if "intro" in raw:
                intro = self.add_text(f"section.{section_id}.intro", raw["intro"], f"{where} intro")
            scorers = raw.get("scorers", [])
            if not isinstance(scorers, list):
                raise self.fail(where, "scorers must be a list of scorer names")
            for scorer in scorers:
                if not isinstance(scorer, str) or scorer not in SCORERS:
                    raise self.fail(
                        where, f"unknown scorer {scorer!r}; known: {', '.join(sorted(SCORERS))}"
                    )
                if scorer in scorers_used:
                    raise self.fail(where, f"scorer {scorer!r} is used twice")
                scorers_used.add(scorer)
            provisional = raw.get("provisional_languages", [])
            if not isinstance(provisional, list) or any(
                lang not in self.languages for lang in provisional
            ):
                raise self.fail(where, "provisional_languages must list declared languages")
            for key in ("source", "translation_note"):
                if key in raw and not isinstance(raw[key], str):
                    raise self.fail(where, f"{key} must be text")
            raw_items = raw["items"]
            if not isinstance(raw_items, list) or not raw_items:
                raise self.fail(where, "items must be a non-empty list")
            items = tuple(self.parse_item(r, section_id, seen_items) for r in raw_items)
            section = Section(
                id=section_id,
                title=title,
                items=items,
                scorers=tuple(scorers),
                intro=intro,
                source=raw.get("source"),
                translation_note=raw.get("translation_note"),
                provisional_languages=tuple(provisional),
            )
            for scorer in section.scorers:
                self.check_scorer(section, scorer)
            sections.append(section)
        for scorer in REQUIRED_SCORERS:
            if scorer not in scorers_used:
                raise self.fail("sections", f"no section uses the required scorer {scorer!r}")
        return tuple(sections)

    def parse_item(self, raw: Any, section_id: str, seen: dict[str, Item]) -> Item:
        item_id = raw.get("id") if isinstance(raw, dict) else None
        # Name the item in messages as soon as possible: "section 'x' item" helps nobody.
        where = f"item {item_id!r}" if isinstance(item_id, str) else f"section {section_id!r} item"
        self.keys(
            raw,
            where,
            {"id", "type", "question"},
            {"asked_when", "required", "scale", "min", "max", "max_length"},
        )
        item_id = self.identifier(raw["id"], f"{where} id")
        where = f"item {item_id!r}"
        if item_id in seen:
            raise self.fail(where, "duplicate item id")
        item_type = raw["type"]
        if item_type not in ITEM_TYPES:
            raise self.fail(where, f"unknown type {item_type!r}; known: {', '.join(ITEM_TYPES)}")
        allowed = {
            "yes_no": set(),
            "scale": {"scale"},
            "integer": {"min", "max"},
            "text": {"max_length"},
        }[item_type]
        extra = sorted(set(raw) & ({"scale", "min", "max", "max_length"} - allowed))
        if extra:
            raise self.fail(where, f"key {extra[0]!r} does not apply to type {item_type!r}")
        required = raw.get("required", True)
        if not isinstance(required, bool):
            raise self.fail(where, "required must be true or false")
        question = self.add_text(f"item.{item_id}.question", raw["question"], f"{where} question")
        fields: dict[str, Any] = {}
        if item_type == "scale":
            scale = raw.get("scale")
            if scale not in self.scales:
                raise self.fail(where, f"unknown scale {scale!r}")
            low, high, options = self.scales[scale]
            fields = {"scale": scale, "min": low, "max": high, "options": options}
            for option in options:
                self.texts[f"item.{item_id}.option.{option.value}"] = option.label
        elif item_type == "integer":
            if "min" not in raw or "max" not in raw:
                raise self.fail(where, "integer items need min and max")
            low = self.integer(raw["min"], f"{where} min")
            high = self.integer(raw["max"], f"{where} max")
            if low > high:
                raise self.fail(where, "min must not exceed max")
            fields = {"min": low, "max": high}
        elif item_type == "text":
            # Every free-text answer is bounded: the script may only lower the default.
            max_length = self.integer(raw.get("max_length", TEXT_MAX_LENGTH),
                                      f"{where} max_length")
            if not 1 <= max_length <= TEXT_MAX_LENGTH:
                raise self.fail(where, f"max_length must be from 1 to {TEXT_MAX_LENGTH}")
            fields = {"max_length": max_length}
        condition = None
        if "asked_when" in raw:
            condition = self.parse_condition(raw["asked_when"], where, seen)
        item = Item(
            id=item_id,
            section=section_id,
            type=item_type,
            question=question,
            required=required,
            asked_when=condition,
            **fields,
        )
        seen[item_id] = item
        return item

    def parse_condition(self, raw: Any, where: str, seen: dict[str, Item]) -> Condition:
        where = f"{where} asked_when"
        if not isinstance(raw, dict):
            raise self.fail(where, "must be a table")
        if ("item" in raw) == ("any_of" in raw):
            raise self.fail(where, "needs exactly one of 'item' or 'any_of'")
        self.keys(raw, where, {"equals"}, {"item", "any_of"})
        if "item" in raw:
            targets = [raw["item"]]
        else:
            targets = raw["any_of"]
            if not isinstance(targets, list) or not targets:
                raise self.fail(where, "any_of must be a non-empty list of item ids")
        if len(set(map(str, targets))) != len(targets):
            raise self.fail(where, "lists an item twice")
        equals = raw["equals"]
        for target in targets:
            if not isinstance(target, str):
                raise self.fail(where, f"item reference must be an id, got {target!r}")
            referenced = seen.get(target)
            if referenced is None:
                # Skip logic may only look back: a later item is not answered yet.
                raise self.fail(where, f"refers to unknown or later item {target!r}")
            if referenced.type == "text":
                raise self.fail(where, f"cannot depend on text item {target!r}")
            if not referenced.accepts(equals):
                raise self.fail(
                    where,
                    f"impossible value {equals!r} for {target!r} ({referenced.check(equals)})",
                )
        return Condition(items=tuple(targets), equals=equals)

    def check_scorer(self, section: Section, name: str) -> None:
        scorer = SCORERS[name]
        items = {item.id: item for item in section.items}
        for item_id, shape in scorer.items.items():
            where = f"section {section.id!r} scorer {scorer.name!r}"
            item = items.get(item_id)
            if item is None:
                raise self.fail(where, f"required item {item_id!r} is missing from the section")
            if (item.type, item.min, item.max) != (shape.type, shape.min, shape.max):
                raise self.fail(
                    where,
                    f"item {item_id!r} must be {shape.type}"
                    + (f" {shape.min}-{shape.max}" if shape.min is not None else ""),
                )
            if not item.required:
                raise self.fail(where, f"item {item_id!r} must be required")

    def parse_resources(self, value: Any) -> tuple[CrisisResource, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("crisis_resources", "must be a non-empty list")
        resources = []
        seen: set[str] = set()
        for index, raw in enumerate(value):
            where = f"crisis_resources[{index}]"
            self.keys(
                raw, where, {"id", "name", "phone", "language", "shown_for", "description"}, set()
            )
            resource_id = self.identifier(raw["id"], f"{where}.id")
            where = f"crisis resource {resource_id!r}"
            if resource_id in seen:
                raise self.fail(where, "duplicate id")
            seen.add(resource_id)
            phone = raw["phone"]
            if not isinstance(phone, str) or not re.match(r"^[0-9][0-9 ]*$", phone):
                raise self.fail(where, f"invalid phone {phone!r}")
            language = raw["language"]
            if language != "all" and language not in self.languages:
                raise self.fail(where, "language must be a declared language or 'all'")
            shown_for = raw["shown_for"]
            if shown_for == ["all"]:
                shown_for = list(self.languages)
            if (
                not isinstance(shown_for, list)
                or not shown_for
                or any(lang not in self.languages for lang in shown_for)
            ):
                raise self.fail(where, "shown_for must list declared languages (or ['all'])")
            resources.append(
                CrisisResource(
                    id=resource_id,
                    name=self.add_text(f"resource.{resource_id}.name", raw["name"], where),
                    phone=phone,
                    language=language,
                    shown_for=tuple(shown_for),
                    description=self.add_text(
                        f"resource.{resource_id}.description", raw["description"], where
                    ),
                )
            )
        for language in self.languages:
            offered = [r for r in resources if language in r.shown_for]
            if not offered:
                raise self.fail("crisis_resources", f"no resource offered in {language!r}")
            if not any(r.phone == "112" for r in offered):
                raise self.fail("crisis_resources", f"112 is not offered in {language!r}")
        return tuple(resources)

    def parse_protocol(self, value: Any) -> tuple[ProtocolStep, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("crisis_protocol", "must be a non-empty list")
        steps = []
        seen: set[str] = set()
        for index, raw in enumerate(value):
            where = f"crisis_protocol[{index}]"
            self.keys(raw, where, {"id", "text"}, set())
            step_id = self.identifier(raw["id"], f"{where}.id")
            if step_id in seen:
                raise self.fail(where, f"duplicate step id {step_id!r}")
            seen.add(step_id)
            text = self.add_text(f"protocol.{step_id}", raw["text"], f"protocol step {step_id!r}")
            steps.append(ProtocolStep(step_id, text))
        return tuple(steps)


# --------------------------------------------------------------------------- registry


def load_script(path: Path | str) -> Script:
    """Load and validate one definition file."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ScriptDefinitionError(f"{path.name}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ScriptDefinitionError(f"{path.name}: cannot read: {exc}") from None
    return _Parser(data, path.name).parse()


def load_registry(directory: Path | str = SCRIPTS_DIR) -> Mapping[tuple[str, int], Script]:
    """Load every *.toml definition in a directory into {(script_id, version): Script}."""
    directory = Path(directory)
    registry: dict[tuple[str, int], Script] = {}
    for path in sorted(directory.glob("*.toml")):
        script = load_script(path)
        key = (script.id, script.version)
        if key in registry:
            raise ScriptDefinitionError(
                f"{path.name}: {script.id} v{script.version} is already defined in "
                f"{registry[key].source_path}"
            )
        registry[key] = script
    if not registry:
        raise ScriptDefinitionError(f"{directory}: no script definition found")
    return MappingProxyType(registry)


def iter_scripts(registry: Mapping[tuple[str, int], Script] | None = None) -> Iterator[Script]:
    """Yield the loaded scripts ordered by id and version."""
    registry = REGISTRY if registry is None else registry
    for key in sorted(registry):
        yield registry[key]


def get_script(
    script_id: str,
    version: int | None = None,
    registry: Mapping[tuple[str, int], Script] | None = None,
) -> Script:
    """Return a script by id and version, the latest version when version is None."""
    registry = REGISTRY if registry is None else registry
    # type() check: True == 1 would otherwise fetch version 1 for a JSON "version": true.
    if version is not None and type(version) is not int:
        raise UnknownScriptError(f"unknown script {script_id!r} version {version!r}")
    if version is None:
        versions = [v for (sid, v) in registry if sid == script_id]
        if not versions:
            raise UnknownScriptError(f"unknown script {script_id!r}")
        version = max(versions)
    try:
        return registry[(script_id, version)]
    except (KeyError, TypeError):
        raise UnknownScriptError(f"unknown script {script_id!r} version {version!r}") from None


# Validated at import so a broken definition stops the app at start-up, not mid-call.
REGISTRY: Mapping[tuple[str, int], Script] = load_registry()
