"""The benchmark's users and their credentials, derived from a fixed seed.

The generator stores only what the application stores (an Argon2id hash, the TOTP
secret, the API token's digest); the load runner derives the same password, secrets
and tokens here, so nothing secret is written to disk. These accounts exist only in
the benchmark database.
"""

import base64
import hashlib
import hmac

PASSWORD = "bench correct horse battery staple"
SEED = b"cellule-bench-v1"


def email(role, n):
    return f"{role}{n}@bench.cellule.example"


def api_token(user_email):
    """The clear bearer token of a bench user (the database keeps its SHA-256)."""
    mac = hmac.new(SEED, b"token:" + user_email.encode(), hashlib.sha256).digest()
    return "cel_" + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def totp_secret(user_email):
    """The base32 TOTP secret of a bench user whose role requires a second factor."""
    mac = hmac.new(SEED, b"totp:" + user_email.encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:20]).decode()
