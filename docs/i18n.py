"""Maintain the fr/nl/de catalogs: extract, merge, fill from a JSON of translations, compile.

Usage:
  python docs/i18n.py extract            # refresh messages.pot and merge into fr/nl .po
  python docs/i18n.py fill FILE.json     # {"msgid": {"fr": "...", "nl": "..."}, ...}
  python docs/i18n.py missing            # list msgids without a translation
  python docs/i18n.py compile            # write the .mo files
"""

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
DIR = ROOT / "cellule" / "translations"
LANGS = ("fr", "nl", "de")


def run(*args):
    subprocess.run(["pybabel", *args], check=True, cwd=ROOT)


def extract():
    run("extract", "-F", "cellule/babel.cfg", "-k", "_l", "-k", "lazy_gettext",
        "-o", str(DIR / "messages.pot"), "--no-location", "--sort-output", "--omit-header",
        "cellule", "contacts", "cases", "triage", "templates")
    for lang in LANGS:
        po = DIR / lang / "LC_MESSAGES" / "messages.po"
        if po.exists():
            run("update", "-i", str(DIR / "messages.pot"), "-d", str(DIR), "-l", lang,
                "--no-fuzzy-matching", "--omit-header")
        else:
            run("init", "-i", str(DIR / "messages.pot"), "-d", str(DIR), "-l", lang)


def catalogs():
    for lang in LANGS:
        path = DIR / lang / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as f:
            yield lang, path, read_po(f, locale=lang)


def fill(source):
    table = json.loads(Path(source).read_text())
    for lang, path, catalog in catalogs():
        for message in catalog:
            # A plural message is keyed by its singular msgid.
            key = message.id[0] if message.pluralizable else message.id
            if key and key in table and lang in table[key]:
                value = table[key][lang]
                if message.pluralizable:
                    message.string = tuple(value) if isinstance(value, list) else (value, value)
                else:
                    message.string = value
                message.flags.discard("fuzzy")
        with path.open("wb") as f:
            write_po(f, catalog, omit_header=False, width=100)


def missing():
    gaps = 0
    for lang, _, catalog in catalogs():
        for message in catalog:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.id and (not all(strings) or "fuzzy" in message.flags):
                gaps += 1
                print(f"{lang}: {message.id!r}")
    return gaps


def compile_():
    for _lang, path, catalog in catalogs():
        with path.with_suffix(".mo").open("wb") as f:
            write_mo(f, catalog)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "missing"
    if command == "extract":
        extract()
    elif command == "fill":
        fill(sys.argv[2])
    elif command == "compile":
        compile_()
    else:
        sys.exit(1 if missing() else 0)
