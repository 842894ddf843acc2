"""The catalogues: every interface string exists in French, Dutch and German, with the
same placeholders as the English, and the compiled .mo files are those of the .po files."""

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from cellule.config import LANGUAGES

DIR = Path(__file__).resolve().parents[2] / "cellule" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
CATALOGUED = [lang for lang in LANGUAGES if lang != "en"]


def _strings(message):
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _key(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def _ids(message):
    return message.id if isinstance(message.id, tuple) else (message.id,)


@pytest.mark.parametrize("lang", CATALOGUED)
def test_every_string_is_translated_with_its_placeholders(lang):
    with (DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    gaps, broken = [], []
    for message in catalog:
        if not message.id:
            continue
        strings = _strings(message)
        if not all(strings) or message.fuzzy:
            gaps.append(_ids(message)[0])
            continue
        wanted = set(PLACEHOLDER.findall(" ".join(_ids(message))))
        if any(set(PLACEHOLDER.findall(s)) - wanted for s in strings):
            broken.append(_ids(message)[0])
    assert not gaps, f"{lang}: untranslated: {gaps[:10]}"
    assert not broken, f"{lang}: placeholders not in the English: {broken[:10]}"


@pytest.mark.parametrize("lang", CATALOGUED)
def test_compiled_catalogue_matches_its_source(lang):
    folder = DIR / lang / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as f:
        po = {_key(m.id): _key(m.string) for m in read_po(f)
              if m.id and all(_strings(m)) and not m.fuzzy}
    with (folder / "messages.mo").open("rb") as f:
        mo = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}
    assert po == mo, "run `python docs/i18n.py compile`"


def test_every_source_string_is_in_the_catalogues():
    with (DIR / "messages.pot").open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    for lang in CATALOGUED:
        with (DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
            assert template <= {m.id for m in read_po(f) if m.id}, lang


GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "GLOSSARY.md"


def _checked_terms():
    """The rows of the glossary's "Checked terms" table: (forms, exceptions, {lang: stems})."""
    text = GLOSSARY.read_text(encoding="utf-8")
    table = text.split("## Checked terms", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in table.splitlines()
            if line.startswith("|") and not line.startswith("|---")][1:]  # the header

    def words(cell, sep):
        return [w.strip().lower() for w in cell.split(sep) if w.strip()]

    return [(words(english, ","), words(except_, ","),
             {lang: words(stems, " / ") for lang, stems in zip(CATALOGUED, cells, strict=True)})
            for english, except_, *cells in rows]


def _pattern(forms):
    return re.compile(r"\b(" + "|".join(re.escape(f) for f in forms) + r")\b", re.I)


@pytest.mark.parametrize("lang", CATALOGUED)
def test_glossary_terms_are_translated_the_same_way_everywhere(lang):
    terms = _checked_terms()
    assert len(terms) >= 15 and all(stems[lang] for *_, stems in terms)
    with (DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    off = []
    for forms, exceptions, stems in terms:
        term, allowed = _pattern(forms), _pattern(exceptions) if exceptions else None
        for message in catalog:
            english = PLACEHOLDER.sub(" ", _ids(message)[0] or "")
            if allowed:
                english = allowed.sub(" ", english)
            if not term.search(english):
                continue
            for text in _strings(message):
                if text and not any(stem in text.lower() for stem in stems[lang]):
                    off.append(f"{forms[0]!r}: {_ids(message)[0]!r} -> {text!r}")
    assert not off, f"{lang}: glossary term not used ({len(off)}):\n" + "\n".join(off[:15])
