"""Encryption at rest of what the database must give back but should not show: the TOTP
seeds, and the API answers kept for `Idempotency-Key` retries (they may quote a person's
name or a note; `cellule.idempotency`).

A password is hashed, an API token is hashed, but a TOTP seed must be read back to check a
code, so a copy of the database (a backup, a dump for a bug) would hand out everyone's second
factor. These columns are stored encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from
`cryptography`), with keys that never live in the database:

- `CELLULE_DATA_KEYS`: comma-separated Fernet keys; the first encrypts, every one decrypts
  (rotation: put the new key first, then re-save or re-run `flask --app wsgi users
  rotate-data-key`, then drop the old one — not before 24 hours, the life of a kept API
  answer, which is not re-encrypted). Make one with
  `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.
- unset: one key derived from `SECRET_KEY` (HKDF-SHA256), so that a newcomer's install works;
  set `CELLULE_DATA_KEYS` in production so that changing `SECRET_KEY` does not lose the
  second factors.
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import String, Text, or_, select, type_coerce, update
from sqlalchemy.types import TypeDecorator

PREFIX = "enc1:"


class DataKeyError(RuntimeError):
    """A stored secret cannot be decrypted with the configured keys."""


@lru_cache(maxsize=8)  # every signed-in request reads a user: derive once per secret
def derived_key(secret_key):
    """The Fernet key derived from SECRET_KEY when no CELLULE_DATA_KEYS is set."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"cellule:data-key:v1").derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


def keys_for(config):
    keys = [k.strip() for k in (config.get("CELLULE_DATA_KEYS") or "").split(",") if k.strip()]
    return [k.encode() for k in keys] or [derived_key(config["SECRET_KEY"])]


def _fernet():
    cache = current_app.extensions.setdefault("cellule_fernet", {})
    keys = tuple(keys_for(current_app.config))
    if keys not in cache:
        try:
            cache[keys] = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError):
            raise DataKeyError("CELLULE_DATA_KEYS holds a value that is not a Fernet key") from None
    return cache[keys]


def encrypt(text):
    return PREFIX + _fernet().encrypt(text.encode()).decode("ascii")


def decrypt(stored):
    """The plain text of a stored value; a value written before encryption is given back as is
    (migration 0010 encrypts those)."""
    if not stored.startswith(PREFIX):
        return stored
    try:
        return _fernet().decrypt(stored[len(PREFIX):].encode("ascii")).decode()
    except InvalidToken:
        raise DataKeyError("a stored secret does not decrypt with CELLULE_DATA_KEYS") from None


def reencrypt(stored):
    """The stored value encrypted anew with the first key (rotation; plain text encrypted)."""
    if stored is None:
        return None
    if stored.startswith(PREFIX):
        return PREFIX + _fernet().rotate(stored[len(PREFIX):].encode("ascii")).decode("ascii")
    return encrypt(stored)


def encrypted_columns(metadata):
    """[(table, [column names])] of every table of `metadata` with encrypted columns."""
    found = []
    for table in metadata.sorted_tables:
        names = [c.name for c in table.columns if isinstance(c.type, EncryptedString)]
        if names:
            found.append((table, names))
    return found


def reencrypt_all(connection, metadata):
    """Re-encrypt every stored encrypted value — TOTP seeds, kept API answers, original
    emails, whatever column is an `EncryptedString` — with the first key; return how many
    rows were written. Values are read and written raw: `type_coerce` to plain text keeps
    the column type from decrypting what is read and encrypting again what is written."""
    written = 0
    for table, names in encrypted_columns(metadata):
        [key] = table.primary_key.columns
        raw = [type_coerce(table.c[name], Text).label(name) for name in names]
        rows = connection.execute(
            select(key, *raw).where(or_(*(table.c[name].is_not(None) for name in names)))
        ).all()
        for row in rows:
            values = {name: type_coerce(reencrypt(row[i + 1]), Text)
                      for i, name in enumerate(names)}
            connection.execute(update(table).where(key == row[0]).values(values))
        written += len(rows)
    return written


class EncryptedString(TypeDecorator):
    """A string column stored encrypted (see the module's docstring)."""

    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)


class EncryptedText(EncryptedString):
    """A text column of any length stored encrypted."""

    impl = Text
    cache_ok = True
