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
