"""Core models: users, API tokens and the audit log."""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .crypto import EncryptedString
from .extensions import db
from .roles import ROLES
from .types import UTCDateTime, utcnow


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="fr")
    active: Mapped[bool] = mapped_column(default=True)
    on_duty: Mapped[bool] = mapped_column(default=True)
    # Bumped to end every session of the user at once (logout everywhere,
    # password change, deactivation): the session cookie carries it.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[object | None] = mapped_column(UTCDateTime)
    # Second factor (cellule.mfa): the TOTP secret once confirmed, the one being enrolled,
    # and the last time step accepted (a code is valid once).
    # TOTP seeds are read back to check codes: stored encrypted (cellule.crypto).
    totp_secret: Mapped[str | None] = mapped_column(EncryptedString())
    totp_pending_secret: Mapped[str | None] = mapped_column(EncryptedString())
    totp_enabled_at: Mapped[object | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    password_changed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    # Set when an administrator gave a temporary password: the user must choose their own.
    must_change_password: Mapped[bool] = mapped_column(default=False)

    @property
    def totp_enabled(self):
        return bool(self.totp_secret)

    def get_id(self):
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self):
        return self.active

    def has_role(self, *roles):
        return self.role in roles

    def __repr__(self):
        return f"<User {self.id} {self.role}>"


class ApiToken(db.Model):
    """A bearer token acting as one user; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    label: Mapped[str] = mapped_column(String(100), default="")  # the token's name
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    # Every token expires (cellule.tokens); rows made without a date get the default term.
    expires_at: Mapped[object] = mapped_column(
        UTCDateTime, default=lambda: ApiToken.default_expiry()
    )
    last_used_at: Mapped[object | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(20))  # cellule.tokens.REASONS

    user: Mapped[User] = relationship()

    PREFIX = "cel_"
    DEFAULT_DAYS = 180  # unless API_TOKEN_DAYS says otherwise

    @staticmethod
    def digest_of(token):
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def default_expiry(cls, days=None):
        """Now plus `days` (default: the configured API_TOKEN_DAYS, else 180)."""
        if days is None:
            days = cls.DEFAULT_DAYS
            if has_app_context():
                days = current_app.config["API_TOKEN_DAYS"]
        return utcnow() + timedelta(days=days)

    @classmethod
    def issue(cls, user, label="", days=None):
        """Create a token row for `user` valid for `days` (default: the configured term);
        return (row, clear token shown once)."""
        token = cls.PREFIX + secrets.token_urlsafe(32)
        row = cls(
            user=user,
            digest=cls.digest_of(token),
            prefix=token[:12],
            label=label,
            expires_at=cls.default_expiry(days),
        )
        return row, token

    def state(self, now=None):
        """The token's state: "revoked", "expired" or "active"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= (now or utcnow()):
            return "expired"
        return "active"


class AuditEvent(db.Model):
    """One line of the append-only audit log (database triggers refuse edits)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User | None] = relationship()


class UserSession(db.Model):
    """One signed-in browser: the cookie carries a random token, only its digest is stored.

    Revoking a row (or bumping the user's `session_version`) ends that session on the
    server; idle and absolute limits are checked against `last_seen_at` and `created_at`.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    # When the user last proved who they are (sign-in or re-authentication).
    auth_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    mfa: Mapped[bool] = mapped_column(default=False)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """A single-use recovery code of the second factor; only its SHA-256 digest is stored.

    The codes carry 120 random bits, so a plain digest is enough (ASVS 6.5.2).
    """

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[object | None] = mapped_column(UTCDateTime)
