"""Find red-flag phrases in free text, ignoring case, accents and apostrophe style."""

import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEXICON_PATH = Path(__file__).parent / "data" / "red_flags.toml"
LEXICON_LANGUAGES = ("fr", "nl", "en", "de")

# Every apostrophe look-alike people type (or that word processors substitute) becomes "'".
# Mapped before NFKD because NFKD turns the acute accent "´" into a space and a combining mark.
_APOSTROPHES = dict.fromkeys(map(ord, "\u2019\u2018\u02bc`\u00b4\u2032\u02b9\uff07"), "'")
# Letters NFKD does not decompose but that people also write as two letters.
_LIGATURES = {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d"}


@dataclass(frozen=True)
class RedFlag:
    """A lexicon phrase found in a text, with the matched original span."""

    phrase: str
    language: str
    matched: str
    start: int
    end: int

    def to_dict(self) -> dict[str, str]:
        """Return the JSON shape."""
        return {"phrase": self.phrase, "language": self.language, "matched": self.matched}


# Invisible characters that are not of category Cf but render as nothing all the same
# (Unicode's Default_Ignorable_Code_Point): combining grapheme joiner, Hangul fillers,
# Mongolian free variation selectors. Variation selectors are caught as marks (Mn).
_IGNORABLE = frozenset("\u034f\u115f\u1160\u3164\uffa0\u180b\u180c\u180d\u180f")


def _invisible(char: str) -> bool:
    """Whether a character shows nothing: a format character (Cf: soft hyphen, zero-width
    space and joiners, word joiner, BOM, bidi controls…), a mark, or another ignorable."""
    return unicodedata.category(char) in ("Cf", "Mn", "Me") or char in _IGNORABLE


def _fold_char(char: str) -> str:
    char = char.translate(_APOSTROPHES)
    if _invisible(char):
        # "sui\u00adcider" (a soft hyphen from an HTML "&shy;") reads "suicider".
        return ""
    # casefold() also turns "ß" and "ẞ" into "ss", so "weiß" and "weiss" compare equal.
    decomposed = unicodedata.normalize("NFKD", char.casefold())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)
                     and not _invisible(c))
    folded = "".join(_LIGATURES.get(c, c) for c in folded)
    # Every kind of space (no-break, narrow, em, ideographic, tab, line breaks…) is " ".
    return "".join(" " if c.isspace() or unicodedata.category(c) in ("Zs", "Zl", "Zp")
                   else c for c in folded)


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """Return the folded text and, for each of its characters, the original index."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for folded in _fold_char(char):
            if folded == " " and (not out or out[-1] == " "):
                continue  # collapse runs of whitespace, drop leading whitespace
            out.append(folded)
            origin.append(index)
    return "".join(out), origin


def normalize(text: str) -> str:
    """Return text folded for matching: lower case, no accents, one apostrophe, single spaces,
    no invisible characters."""
    return normalize_with_map(text)[0].rstrip(" ")


class Lexicon:
    """A compiled set of red-flag phrases per language."""

    def __init__(self, phrases: Mapping[str, Sequence[str]]) -> None:
        self._entries: dict[str, list[tuple[str, str]]] = {}
        for language, entries in phrases.items():
            seen: set[str] = set()
            for phrase in entries:
                key = normalize(phrase)
                if not key:
                    raise ValueError(f"lexicon {language!r}: empty phrase")
                if key in seen:
                    raise ValueError(f"lexicon {language!r}: duplicate phrase {phrase!r}")
                seen.add(key)
                self._entries.setdefault(key, []).append((phrase, language))
        if not self._entries:
            raise ValueError("lexicon has no phrase")
        # Longest first so "en finir avec la vie" wins over "en finir" at the same position.
        alternatives = sorted(self._entries, key=lambda k: (-len(k), k))
        body = "|".join(re.escape(k) for k in alternatives)
        # Look-arounds instead of \b: phrases may start or end with non-word characters.
        self._regex = re.compile(rf"(?<!\w)(?:{body})(?!\w)")
        self.languages = tuple(dict.fromkeys(lang for lang in phrases))

    def __len__(self) -> int:
        return sum(len(v) for v in self._entries.values())

    def find(self, text: str, *, prefer_language: str | None = None) -> list[RedFlag]:
        """Return each distinct phrase found, in order of first appearance."""
        if not text:
            return []
        folded, origin = normalize_with_map(text)
        found: list[RedFlag] = []
        seen: set[str] = set()
        for match in self._regex.finditer(folded):
            key = match.group()
            if key in seen:
                continue
            seen.add(key)
            entries = self._entries[key]
            # A phrase shared by languages ("suicide") is reported in the person's language.
            phrase, language = next((e for e in entries if e[1] == prefer_language), entries[0])
            start, end = origin[match.start()], origin[match.end() - 1] + 1
            found.append(RedFlag(phrase, language, text[start:end], start, end))
        return found

    def search(self, text: str) -> bool:
        """Return whether any phrase occurs in the text."""
        return bool(text) and self._regex.search(normalize_with_map(text)[0]) is not None


def load_lexicon(path: Path | str = LEXICON_PATH) -> Lexicon:
    """Load a lexicon data file: one list of phrases per language code."""
    path = Path(path)
    with path.open("rb") as handle:
        data: dict[str, Any] = tomllib.load(handle)
    phrases: dict[str, list[str]] = {}
    for language, table in data.items():
        if language not in LEXICON_LANGUAGES:
            raise ValueError(f"{path.name}: unknown language {language!r}")
        entries = table.get("phrases") if isinstance(table, dict) else None
        if not isinstance(entries, list) or not all(isinstance(p, str) for p in entries):
            raise ValueError(f'{path.name}: [{language}] needs phrases = ["...", ...]')
        phrases[language] = entries
    missing = [lang for lang in LEXICON_LANGUAGES if lang not in phrases]
    if missing:
        raise ValueError(f"{path.name}: no phrases for {', '.join(missing)}")
    return Lexicon(phrases)


# Compiled once at import: scanning every note and email must stay cheap.
DEFAULT_LEXICON = load_lexicon()


def find_red_flags(
    text: str | None,
    *,
    prefer_language: str | None = None,
    lexicon: Lexicon | None = None,
) -> list[RedFlag]:
    """Return the red-flag phrases found in a text (each once, in order of appearance)."""
    return (lexicon or DEFAULT_LEXICON).find(text or "", prefer_language=prefer_language)


def has_red_flags(text: str | None, *, lexicon: Lexicon | None = None) -> bool:
    """Return whether a text holds any red-flag phrase."""
    return (lexicon or DEFAULT_LEXICON).search(text or "")
