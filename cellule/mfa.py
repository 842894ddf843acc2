"""The second factor: TOTP (RFC 6238, via pyotp) and single-use recovery codes.

Required for psychologists, supervisors and administrators (DESIGN §8), optional for the
others. A code is accepted once: the last accepted time step is stored, so a code seen
over a shoulder cannot be replayed within its 30 seconds.
"""

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from markupsafe import Markup

from .extensions import db
from .models import RecoveryCode, User
from .roles import SECOND_FACTOR
from .types import utcnow

REQUIRED_ROLES = SECOND_FACTOR
ISSUER = "Cellule"
INTERVAL = 30
# One step either side: the phone's clock may be up to 30 s off.
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
# 24 base32 characters = 120 random bits: above ASVS 6.5.2's 112, so SHA-256 suffices.
_RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no l/o/0/1 to misread
_RECOVERY_LENGTH = 24


def required_for(user):
    """True when the user's role must use a second factor."""
    return user.role in REQUIRED_ROLES


def new_secret():
    """Return a fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(user, secret):
    """The otpauth:// URI that authenticator apps read from the QR code."""
    return pyotp.TOTP(secret, interval=INTERVAL).provisioning_uri(
        name=user.email, issuer_name=ISSUER
    )


def qr_svg(uri):
    """Return the QR code of `uri` as inline SVG markup (no script, no style attribute)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff")
    # segno's own SVG, drawn from our URI (it holds no markup of anyone else).
    return Markup(svg)  # nosec B704


def format_secret(secret):
    """Group the secret by four characters for typing it by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _normalise_code(code):
    return "".join((code or "").split()).replace("-", "")


def matching_step(secret, code, at=None):
    """Return the time step at which `code` is valid for `secret`, or None."""
    code = _normalise_code(code)
    if not secret or len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=INTERVAL)
    now = time.time() if at is None else at
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        moment = now + offset * INTERVAL
        if hmac.compare_digest(totp.at(moment), code):
            return int(moment // INTERVAL)
    return None


def verify_totp(user, code):
    """Accept a TOTP code of `user` once; record its time step. The caller commits.

    The step is claimed with a conditional UPDATE, so two requests racing with one code
    cannot both succeed.
    """
    step = matching_step(user.totp_secret, code)
    if step is None:
        return False
    claimed = db.session.execute(
        db.update(User)
        .where(
            User.id == user.id,
            db.or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return False
    user.totp_last_step = step
    return True


def start_enrolment(user):
    """Give `user` a pending secret (kept across page reloads until confirmed)."""
    if not user.totp_pending_secret:
        user.totp_pending_secret = new_secret()
    return user.totp_pending_secret


def confirm_enrolment(user, code):
    """Activate the pending secret when `code` matches it; return the new recovery codes."""
    step = matching_step(user.totp_pending_secret, code)
    if step is None:
        return None
    user.totp_secret = user.totp_pending_secret
    user.totp_pending_secret = None
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    return new_recovery_codes(user)


def disable(user):
    """Remove the second factor and its recovery codes. The caller commits."""
    user.totp_secret = None
    user.totp_pending_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# --- Recovery codes ---------------------------------------------------------------


def _digest(code):
    return hashlib.sha256(_normalise_code(code).lower().encode()).hexdigest()


def _format_code(raw):
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def new_recovery_codes(user):
    """Replace the user's recovery codes; return the new ones in clear (shown once)."""
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append(_format_code(raw))
        db.session.add(RecoveryCode(user_id=user.id, digest=_digest(raw)))
    return codes


def looks_like_recovery_code(code):
    return len(_normalise_code(code)) == _RECOVERY_LENGTH


def use_recovery_code(user, code):
    """Spend one unused recovery code of `user`; True when it was valid. The caller commits."""
    if not looks_like_recovery_code(code):
        return False
    spent = db.session.execute(
        db.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.digest == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return spent == 1


def recovery_codes_left(user):
    return db.session.scalar(
        db.select(db.func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )


def verify_second_factor(user, code):
    """Return "totp", "recovery" or None for a code typed at the second step."""
    if looks_like_recovery_code(code):
        return "recovery" if use_recovery_code(user, code) else None
    return "totp" if verify_totp(user, code) else None
