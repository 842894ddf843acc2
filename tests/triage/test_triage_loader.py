"""Script definitions: the shipped file, the Script API and refusals of broken copies."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from triage import ScriptDefinitionError, UnknownScriptError, get_script, load_registry
from triage.loader import SCRIPTS_DIR, load_script

SOURCE = SCRIPTS_DIR / "cellule-triage.v1.toml"
TRIAGE_DIR = Path(__file__).resolve().parents[2] / "triage"

SPEC_SECTIONS = {
    "safety": [
        "cssrs_1_wish_dead",
        "cssrs_2_thoughts",
        "cssrs_3_method",
        "cssrs_4_intent",
        "cssrs_5_plan",
        "cssrs_6_behaviour",
        "cssrs_6_recent",
        "acute_now",
    ],
    "distress": ["phq_1_interest", "phq_2_down", "gad_1_nervous", "gad_2_worry"],
    "burnout": [
        "cbi_1_tired",
        "cbi_2_physical",
        "cbi_3_emotional",
        "cbi_4_cant_take",
        "cbi_5_worn_out",
        "cbi_6_weak_ill",
    ],
    "context": [
        "hours_per_week",
        "sleep_problems",
        "isolation",
        "financial_worries",
        "admin_overload",
        "client_pressure",
        "health_problem",
        "life_event",
        "contribution_arrears",
        "exemption_request",
        "bridging_right_request",
        "incapacity",
    ],
    "buffers": ["support_person", "future_plans", "buffers_note"],
}


# --------------------------------------------------------------------------- shipped definition


def test_sections_and_items_match_the_spec(script):
    assert (script.id, script.version) == ("cellule-triage", 1)
    assert script.languages == ("fr", "nl", "en", "de")
    assert {s.id: [i.id for i in s.items] for s in script.sections} == SPEC_SECTIONS
    assert [s.id for s in script.sections] == list(SPEC_SECTIONS)


def test_scorers_per_section(script):
    assert [s.scorers for s in script.sections] == [
        ("cssrs",),
        ("phq2", "gad2"),
        ("cbi_personal",),
        ("context_signals",),
        (),
    ]


@pytest.mark.parametrize(
    ("item_id", "type_", "low", "high"),
    [
        ("cssrs_1_wish_dead", "yes_no", None, None),
        ("phq_1_interest", "scale", 0, 3),
        ("gad_2_worry", "scale", 0, 3),
        ("cbi_6_weak_ill", "scale", 0, 4),
        ("hours_per_week", "integer", 0, 120),
        ("buffers_note", "text", None, None),
    ],
)
def test_item_types(script, item_id, type_, low, high):
    item = script.item(item_id)
    assert (item.type, item.min, item.max) == (type_, low, high)


@pytest.mark.parametrize(
    ("item_id", "controllers", "equals"),
    [
        ("cssrs_3_method", ("cssrs_2_thoughts",), "yes"),
        ("cssrs_4_intent", ("cssrs_2_thoughts",), "yes"),
        ("cssrs_5_plan", ("cssrs_2_thoughts",), "yes"),
        ("cssrs_6_recent", ("cssrs_6_behaviour",), "yes"),
        ("acute_now", tuple(SPEC_SECTIONS["safety"][:7]), "yes"),
    ],
)
def test_skip_logic_is_data(script, item_id, controllers, equals):
    condition = script.item(item_id).asked_when
    assert (condition.items, condition.equals) == (controllers, equals)


def test_only_spec_items_have_skip_logic(script):
    conditional = {i.id for i in script.items if i.asked_when is not None}
    assert conditional == {
        "cssrs_3_method",
        "cssrs_4_intent",
        "cssrs_5_plan",
        "cssrs_6_recent",
        "acute_now",
    }


@pytest.mark.parametrize(
    ("answers", "hidden"),
    [
        ({}, {"cssrs_3_method", "cssrs_4_intent", "cssrs_5_plan", "cssrs_6_recent", "acute_now"}),
        ({"cssrs_2_thoughts": "yes"}, {"cssrs_6_recent"}),
        ({"cssrs_6_behaviour": "yes"}, {"cssrs_3_method", "cssrs_4_intent", "cssrs_5_plan"}),
        (
            {"cssrs_1_wish_dead": "yes"},
            {"cssrs_3_method", "cssrs_4_intent", "cssrs_5_plan", "cssrs_6_recent"},
        ),
        # A stale answer to a hidden item must not reveal acute_now.
        (
            {"cssrs_2_thoughts": "no", "cssrs_3_method": "yes"},
            {"cssrs_3_method", "cssrs_4_intent", "cssrs_5_plan", "cssrs_6_recent", "acute_now"},
        ),
        (
            {"cssrs_2_thoughts": True},
            {"cssrs_3_method", "cssrs_4_intent", "cssrs_5_plan", "cssrs_6_recent", "acute_now"},
        ),
    ],
)
def test_visible_items(script, answers, hidden):
    visible = {i.id for i in script.visible_items(answers)}
    assert {i.id for i in script.items} - visible == hidden


def test_texts_and_fallback(script):
    assert script.text("level.imminent", "fr") == "Danger imminent"
    assert script.text("route.psychologist", "nl") == "Psycholoog"
    assert script.text("section.safety.title", "de") == "Sicherheit"
    assert script.text("item.cssrs_6_recent.question", "en") == "Was this within the past 3 months?"
    assert script.text("item.phq_1_interest.option.3", "fr") == "Presque tous les jours"
    assert script.text("answer.yes", "nl") == "Ja"
    assert script.text("level.high", "it") == "High"  # English fallback
    with pytest.raises(KeyError, match="no text 'level.urgent'"):
        script.text("level.urgent", "fr")


def test_every_text_has_every_language(script):
    for key, translations in script.texts.items():
        assert set(translations) == set(script.languages), key


def test_translation_notes(script):
    notes = {s.id: (s.translation_note, s.provisional_languages) for s in script.sections}
    for section in ("safety", "distress"):
        note, languages = notes[section]
        assert "to be replaced by the official translation" in note
        assert languages == ("fr", "nl", "de")
    assert notes["burnout"] == (None, ())


def test_crisis_protocol(script):
    for language in script.languages:
        lines = script.protocol(language)
        assert len(lines) >= 5
    assert script.protocol("en")[0].startswith("Stay on the line")
    assert any("112" in line for line in script.protocol("nl"))


def test_item_lookup(script):
    assert script.item("acute_now").section == "safety"
    with pytest.raises(KeyError, match="no item 'nope'"):
        script.item("nope")


def test_get_script(script):
    assert get_script("cellule-triage") is script
    with pytest.raises(UnknownScriptError, match="unknown script 'other'"):
        get_script("other")
    with pytest.raises(UnknownScriptError, match="version 9"):
        get_script("cellule-triage", 9)
    with pytest.raises(UnknownScriptError, match="version True"):
        get_script("cellule-triage", True)
    assert {script: 1}[script] == 1  # hashable, so it can key caches


def test_latest_version_is_default(tmp_path):
    text = SOURCE.read_text(encoding="utf-8")
    (tmp_path / "a.v1.toml").write_text(text, encoding="utf-8")
    (tmp_path / "a.v2.toml").write_text(
        text.replace("version = 1", "version = 2", 1), encoding="utf-8"
    )
    registry = load_registry(tmp_path)
    assert sorted(registry) == [("cellule-triage", 1), ("cellule-triage", 2)]
    assert get_script("cellule-triage", registry=registry).version == 2
    assert get_script("cellule-triage", 1, registry=registry).version == 1


# The knowledge modules; the domain's HTTP/DB layer (blueprint.py, views.py, ...) is separate.
PURE_MODULES = (
    "__init__",
    "vocab",
    "scoring",
    "model",
    "loader",
    "business_time",
    "lexicon",
    "engine",
)
FORBIDDEN = {
    "flask",
    "flask_sqlalchemy",
    "flask_htmx",
    "sqlalchemy",
    "cellule",
    "contacts",
    "cases",
}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_knowledge_modules_stay_pure(module):
    tree = ast.parse((TRIAGE_DIR / f"{module}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
            if node.level and module == "__init__":
                names = [f"triage.{node.module}"]
        else:
            continue
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN, f"{module}.py imports {name}"
            assert name.split(".")[-1] not in {"blueprint", "views", "api", "models"}, name


def test_importing_triage_loads_no_web_or_database_code():
    code = (
        "import sys, triage; "
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & {FORBIDDEN!r}); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=TRIAGE_DIR.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- refusals


def broken(tmp_path, *replacements, name="broken.toml"):
    """Write a copy of the shipped definition with exact replacements applied."""
    text = SOURCE.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) >= 1, f"fixture text not found: {old!r}"
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BROKEN = [
    (
        "unknown item in skip logic",
        [('{ item = "cssrs_6_behaviour", equals', '{ item = "cssrs_6_behavior", equals')],
        "item 'cssrs_6_recent' asked_when: refers to unknown or later item 'cssrs_6_behavior'",
    ),
    (
        "later item in skip logic",
        [
            (
                'id = "cssrs_3_method"\ntype = "yes_no"\nasked_when = { item = "cssrs_2_thoughts"',
                'id = "cssrs_3_method"\ntype = "yes_no"\nasked_when = { item = "cssrs_4_intent"',
            )
        ],
        "refers to unknown or later item 'cssrs_4_intent'",
    ),
    (
        "impossible value",
        [
            (
                '{ item = "cssrs_6_behaviour", equals = "yes" }',
                '{ item = "cssrs_6_behaviour", equals = "oui" }',
            )
        ],
        "impossible value 'oui' for 'cssrs_6_behaviour'",
    ),
    (
        "impossible scale value in any_of",
        [('"cssrs_6_recent"], equals = "yes" }', '"cssrs_6_recent"], equals = 1 }')],
        "impossible value 1 for 'cssrs_1_wish_dead'",
    ),
    (
        "both item and any_of",
        [('{ item = "cssrs_6_behaviour", equals', '{ item = "x", any_of = ["y"], equals')],
        "needs exactly one of 'item' or 'any_of'",
    ),
    (
        "missing nl question",
        [('question.nl = "Hebt u echt gedachten gehad om uzelf te doden?"\n', "")],
        "item 'cssrs_2_thoughts' question: missing 'nl' translation",
    ),
    (
        "missing nl option label",
        [('label = { fr = "Souvent", nl = "Vaak", ', 'label = { fr = "Souvent", ')],
        "scales.cbi_frequency.options[3].label: missing 'nl' translation",
    ),
    (
        "missing nl section title",
        [('nl = "Beschermende factoren", en = "Protective factors"', 'en = "Protective factors"')],
        "section 'buffers' title: missing 'nl' translation",
    ),
    (
        "missing de reason",
        [('de = "PHQ-2 positiv: {total}/6 (Schwelle 3)."\n', "")],
        "reasons.phq2_positive: missing 'de' translation",
    ),
    (
        "empty translation",
        [('question.fr = "Était-ce au cours des trois derniers mois ?"', 'question.fr = " "')],
        "item 'cssrs_6_recent' question: 'fr' translation must be non-empty text",
    ),
    (
        "undeclared language",
        [
            (
                'question.en = "Was this within the past 3 months?"\n',
                'question.en = "Was this within the past 3 months?"\nquestion.it = "Mesi?"\n',
            )
        ],
        "translation for undeclared language 'it'",
    ),
    (
        "duplicate item id",
        [('id = "cbi_2_physical"', 'id = "cbi_1_tired"')],
        "item 'cbi_1_tired': duplicate item id",
    ),
    (
        "duplicate section id",
        [('id = "buffers"', 'id = "context"')],
        "section 'context': duplicate section id",
    ),
    (
        "unknown scorer",
        [('scorers = ["cbi_personal"]', 'scorers = ["bat"]')],
        "unknown scorer 'bat'",
    ),
    (
        "scorer required item missing",
        [('id = "gad_2_worry"', 'id = "gad_2_worries"')],
        "scorer 'gad2': required item 'gad_2_worry' is missing from the section",
    ),
    (
        "scorer item of the wrong range",
        [
            (
                'id = "hours_per_week"\ntype = "integer"\nmin = 0\nmax = 120',
                'id = "hours_per_week"\ntype = "integer"\nmin = 0\nmax = 168',
            )
        ],
        "item 'hours_per_week' must be integer 0-120",
    ),
    (
        "scorer used twice",
        [('scorers = ["context_signals"]', 'scorers = ["cbi_personal"]')],
        "scorer 'cbi_personal' is used twice",
    ),
    (
        "safety scorer missing",
        [('scorers = ["cssrs"]\n', "")],
        "no section uses the required scorer 'cssrs'",
    ),
    (
        "unknown key",
        [
            (
                'asked_when = { item = "cssrs_6_behaviour"',
                'asked_wehn = { item = "cssrs_6_behaviour"',
            )
        ],
        "item 'cssrs_6_recent': unknown key 'asked_wehn'",
    ),
    (
        "unknown item type",
        [('id = "isolation"\ntype = "yes_no"', 'id = "isolation"\ntype = "boolean"')],
        "item 'isolation': unknown type 'boolean'",
    ),
    (
        "unknown scale",
        [
            (
                'id = "phq_2_down"\ntype = "scale"\nscale = "phq_gad_frequency"',
                'id = "phq_2_down"\ntype = "scale"\nscale = "phq_frequency"',
            )
        ],
        "item 'phq_2_down': unknown scale 'phq_frequency'",
    ),
    (
        "scale option gap",
        [("value = 4\n", "value = 5\n")],
        "must label each value from 0 to 4 once, in order",
    ),
    (
        "bad template placeholder",
        [('en = "PHQ-2 positive: {total}/6', 'en = "PHQ-2 positive: {totl}/6')],
        "'en' template uses {totl}; allowed: total",
    ),
    (
        "missing level name",
        [('serious = { fr = "Sérieux", nl = "Ernstig", en = "Serious", de = "Ernst" }\n', "")],
        "level_names: missing key 'serious'",
    ),
    (
        "no 112 for a language",
        [('shown_for = ["all"]', 'shown_for = ["fr", "nl", "en"]')],
        "112 is not offered in 'de'",
    ),
    (
        "fallback language missing",
        [('languages = ["fr", "nl", "en", "de"]', 'languages = ["fr", "nl", "de"]')],
        "must include the fallback 'en'",
    ),
    ("invalid toml", [('id = "cellule-triage"', 'id = "cellule-triage')], "invalid TOML"),
]


@pytest.mark.parametrize(
    ("replacements", "message"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_broken_definitions_are_refused(tmp_path, replacements, message):
    path = broken(tmp_path, *replacements)
    with pytest.raises(ScriptDefinitionError) as caught:
        load_script(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith("broken.toml")


def test_registry_refuses_a_broken_file_at_start_up(tmp_path):
    broken(tmp_path, ('scorers = ["cbi_personal"]', 'scorers = ["bat"]'))
    with pytest.raises(ScriptDefinitionError, match="unknown scorer 'bat'"):
        load_registry(tmp_path)


def test_registry_refuses_duplicate_versions(tmp_path):
    broken(tmp_path, name="one.toml")
    broken(tmp_path, name="two.toml")
    with pytest.raises(ScriptDefinitionError, match="already defined in one.toml"):
        load_registry(tmp_path)


def test_registry_refuses_an_empty_directory(tmp_path):
    with pytest.raises(ScriptDefinitionError, match="no script definition found"):
        load_registry(tmp_path)
