"""Password hashing with Argon2id (OWASP parameters: 19 MiB, t=2, p=1) and the password policy."""

import gzip
import os
import threading
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verified against when the account does not exist, so that a login for an
# unknown address costs as much time as one for a known address.
_DUMMY_HASH = hasher.hash("cellule-dummy-password")
_test_hashers = {}


def current_hasher():
    """The hasher in force: OWASP's parameters above, always in production.

    An app under test (`TESTING`) may lower them with `PASSWORD_HASH_COST`, e.g.
    `{"time_cost": 1, "memory_cost": 8}`: the suite signs in thousands of users, each
    verification costing ~40 ms at the production cost. Returns (hasher, dummy hash)."""
    cost = has_app_context() and current_app.testing and current_app.config.get(
        "PASSWORD_HASH_COST"
    )
    if not cost:
        return hasher, _DUMMY_HASH
    key = tuple(sorted(cost.items()))
    if key not in _test_hashers:
        cheap = PasswordHasher(**{"parallelism": 1, **cost})
        _test_hashers[key] = cheap, cheap.hash("cellule-dummy-password")
    return _test_hashers[key]


def hash_password(password):
    return current_hasher()[0].hash(password)


def verify_password(password_hash, password):
    """Return True when `password` matches; never raise for a bad hash."""
    current, dummy = current_hasher()
    try:
        return current.verify(password_hash or dummy, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    return current_hasher()[0].check_needs_rehash(password_hash)


# --- Password policy (ASVS 6.2): length only, no composition rules, no common passwords ---

MIN_LENGTH = 12
MAX_LENGTH = 128
_COMMON_FILE = os.path.join(os.path.dirname(__file__), "data", "common-passwords.txt.gz")
_common = None
_common_lock = threading.Lock()

# Words that anyone guessing a password of this application would try first.
CONTEXT_WORDS = ("cellule", "celluledecoute", "cellulecoute", "ecoute", "listeningcell")


def common_passwords():
    """Return the set of refused passwords (lower-cased), loaded once from the shipped list."""
    global _common
    if _common is None:
        with _common_lock:
            if _common is None:
                with gzip.open(_COMMON_FILE, "rt", encoding="utf-8") as lines:
                    _common = frozenset(
                        line.rstrip("\n") for line in lines if line and not line.startswith("#")
                    )
    return _common


def is_common(password):
    """True when `password` (case-insensitively) is on the shipped breached/common list."""
    return password.lower() in common_passwords()


def _letters(text):
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if c.isalnum())


def policy_problems(password, email=None, name=None):
    """Return the codes of the rules `password` breaks: "length", "common", "context".

    Length is counted in characters (Unicode allowed, spaces kept, nothing truncated).
    """
    password = password or ""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return ["length"]
    letters = _letters(password)
    context = set(CONTEXT_WORDS)
    if email:
        local = _letters(email.partition("@")[0])
        if len(local) >= 4:
            context.add(local)
    if name:
        context.update(w for w in (_letters(part) for part in name.split()) if len(w) >= 4)
        context.add(_letters(name))
    if is_common(password) or is_common(letters):
        return ["common"]
    if letters.strip("0123456789") in context or (email and _letters(email) in letters):
        return ["context"]
    return []


# English, for the command line and logs.
_ENGLISH = {
    "length": f"the password must have {MIN_LENGTH} to {MAX_LENGTH} characters",
    "common": "this password is too common: it appears in lists of leaked passwords",
    "context": "the password may not be the user's name or email, or the application's name",
}


def policy_errors(password, email=None, name=None):
    """Return the translated reasons why `password` may not be used; empty when it is fine."""
    messages = {
        "length": _l(
            "The password must have %(min)s to %(max)s characters.", min=MIN_LENGTH, max=MAX_LENGTH
        ),
        "common": _l("This password is too common: it appears in lists of leaked passwords."),
        "context": _l("The password may not be your name, your email or the application's name."),
    }
    return [messages[code] for code in policy_problems(password, email, name)]


def check_policy(password, email=None, name=None):
    """Raise ValueError (in English) when `password` breaks the policy."""
    problems = policy_problems(password, email, name)
    if problems:
        raise ValueError(_ENGLISH[problems[0]])
