"""security: TOTP seeds stored encrypted (cellule.crypto)

The columns widen to hold a Fernet token; the seeds already stored are encrypted with
the configured key (CELLULE_DATA_KEYS, else derived from SECRET_KEY): the migration runs
inside the app (`flask --app wsgi db upgrade`), which holds the keys.

Revision ID: 0010
Revises: 0009

"""
import base64

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

PREFIX = "enc1:"


def _first_key():
    """Frozen copy of cellule.crypto's key choice (a migration does not import the app)."""
    keys = [k.strip() for k in (current_app.config.get("CELLULE_DATA_KEYS") or "").split(",")
            if k.strip()]
    if keys:
        return keys[0].encode()
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"cellule:data-key:v1").derive(current_app.config["SECRET_KEY"].encode())
    return base64.urlsafe_b64encode(raw)


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64),
                              type_=sa.String(length=255), existing_nullable=True)
        batch_op.alter_column('totp_pending_secret', existing_type=sa.String(length=64),
                              type_=sa.String(length=255), existing_nullable=True)
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, totp_secret, totp_pending_secret FROM users "
        "WHERE totp_secret IS NOT NULL OR totp_pending_secret IS NOT NULL")).all()
    if not rows:
        return
    fernet = Fernet(_first_key())

    def seal(value):
        if value is None or value.startswith(PREFIX):
            return value
        return PREFIX + fernet.encrypt(value.encode()).decode("ascii")

    for user_id, secret, pending in rows:
        bind.execute(
            sa.text("UPDATE users SET totp_secret = :s, totp_pending_secret = :p WHERE id = :i"),
            {"s": seal(secret), "p": seal(pending), "i": user_id})


def downgrade():
    raise NotImplementedError("decrypting the seeds back to plain text is not offered")
