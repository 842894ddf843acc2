"""Pure normalisation of what people type: phone numbers, emails, names, search text.

Everything the search compares is folded here, in Python, once: the database
stores the folded text and only matches substrings of it, so SQLite and
PostgreSQL give the same answers for the same data.
"""

import re
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from triage.lexicon import normalize as _fold_for_matching

DEFAULT_REGION = "BE"
MAX_QUERY_TOKENS = 8
MAX_TOKEN_LENGTH = 60
# Tokens shorter than this match at the start of a word only (and cannot use a trigram).
SHORT_TOKEN = 3
_NOT_WORD = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\D+")
# A query made only of digits and the punctuation people put in phone numbers.
_PHONE_LIKE = re.compile(r"^[\d\s+()./-]+$")


@dataclass(frozen=True)
class Phone:
    """A phone number as stored: E.164 when it could be read, else the raw text."""

    value: str
    parsed: bool  # True when `value` is E.164
    valid: bool  # True when phonenumbers knows the number range


def fold(text):
    """Return text in lower case, without accents, punctuation or repeated spaces."""
    if not text:
        return ""
    # The red-flag matcher's folding (case, accents, ligatures, apostrophes), reused so
    # that every piece of the application compares text the same way.
    return _NOT_WORD.sub(" ", _fold_for_matching(text)).strip()


def normalise_phone(raw, region=DEFAULT_REGION):
    """Return a Phone for what was typed, or None when nothing was.

    A number that `phonenumbers` can read with a plausible length becomes E.164
    (`+3224701234`); anything else ("after 6 pm", a half number) is kept as typed.
    """
    raw = " ".join((raw or "").split())
    if not raw:
        return None
    raw = raw[:40]
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return Phone(raw, False, False)
    if not phonenumbers.is_possible_number(number):
        return Phone(raw, False, False)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164, True, phonenumbers.is_valid_number(number))


def display_phone(phone):
    """Return a stored phone for reading: "+32 475 12 34 56", or the text as typed."""
    if not phone or not phone.startswith("+"):
        return phone or ""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return phone
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_search_forms(phone):
    """Return the digit strings a stored phone can be found by (international, national)."""
    if not phone:
        return []
    digits = _DIGITS.sub("", phone)
    if not phone.startswith("+"):
        # Kept as typed ("after 6 pm at 02…"): only a real run of digits is worth finding.
        return [digits] if len(digits) >= 6 else []
    forms = [digits] if digits else []
    if phone.startswith("+"):
        try:
            number = phonenumbers.parse(phone, None)
        except phonenumbers.NumberParseException:
            return forms
        national = _DIGITS.sub(
            "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        )
        if national and national not in forms:
            forms.append(national)
    return forms


def normalise_email(raw):
    """Return the email in lower case, or raise ValueError with a readable message."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None


def normalise_affiliate_number(raw):
    """Return the affiliate number without spaces, dots or dashes, upper case; None if empty."""
    value = re.sub(r"[\s./-]+", "", raw or "").upper()
    return value or None


def name_key(name):
    """Return the folded name used for duplicate detection and sorting."""
    return fold(name)[:200]


def search_text(name, phone=None, email=None, affiliate_number=None):
    """Return the folded text a person is found by: name, email, affiliate, phone digits.

    Every word is preceded by a space (the text starts with one), so that "a word
    starting with `la`" is the substring " la" for the database and its indexes.
    """
    parts = [fold(name), fold(email), fold(affiliate_number), *phone_search_forms(phone)]
    return " " + " ".join(p for p in parts if p)


def searchable(tokens):
    """Whether a search is worth running: at least one token of two characters or more
    (a lone letter would read the whole table and help nobody)."""
    return any(len(t) >= 2 for t in tokens)


def search_patterns(tokens):
    """Return the substring each token must match in the search text: a token of three
    characters or more anywhere, a shorter one at the start of a word (" la")."""
    return [t if len(t) >= SHORT_TOKEN else " " + t for t in tokens]


def query_tokens(query):
    """Return the folded substrings that must all occur in a person's search text.

    A query that looks like a phone number becomes one run of digits, with an
    international "00" prefix dropped so "0032 470…" finds "+32470…".
    """
    query = (query or "").strip()[:200]
    if not query:
        return []
    if _PHONE_LIKE.match(query) and any(c.isdigit() for c in query):
        digits = _DIGITS.sub("", query)
        if digits.startswith("00") and len(digits) > 4:
            digits = digits[2:]
        return [digits[:MAX_TOKEN_LENGTH]]
    tokens = []
    for token in fold(query).split():
        token = token[:MAX_TOKEN_LENGTH]
        if token not in tokens:
            tokens.append(token)
    return tokens[:MAX_QUERY_TOKENS]
