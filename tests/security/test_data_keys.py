"""TOTP seeds are stored encrypted (ASVS V11/V14: secrets at rest): a copy of the database
does not give away anyone's second factor; keys rotate without locking anyone out."""

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from cellule.crypto import DataKeyError, reencrypt_all
from cellule.extensions import db
from cellule.models import User
from tests.conftest import TOTP_SECRET


def raw_secret(user_id):
    return db.session.execute(text("SELECT totp_secret FROM users WHERE id = :i"),
                              {"i": user_id}).scalar_one()


def test_the_database_holds_no_seed_in_clear_and_sign_in_still_works(app, client, make_user):
    user = make_user("psychologist")
    stored = raw_secret(user.id)
    assert stored.startswith("enc1:") and TOTP_SECRET not in stored
    assert db.session.get(User, user.id).totp_secret == TOTP_SECRET
    assert client.login(user).status_code == 302  # the code checked against the decrypted seed


def test_keys_rotate_without_locking_anyone_out(app, make_user):
    user = make_user("supervisor")
    old = raw_secret(user.id)
    new_key = Fernet.generate_key().decode()
    first = app.config["CELLULE_DATA_KEYS"] or None
    # The new key first, the former one still listed: old values decrypt, new ones use it.
    from cellule.crypto import derived_key

    former = first or derived_key(app.config["SECRET_KEY"]).decode()
    app.config["CELLULE_DATA_KEYS"] = f"{new_key},{former}"
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == TOTP_SECRET
    assert reencrypt_all(db.session.connection(), db.metadata) == 1
    db.session.commit()
    assert raw_secret(user.id) != old
    app.config["CELLULE_DATA_KEYS"] = new_key  # the former key dropped
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == TOTP_SECRET
    app.config["CELLULE_DATA_KEYS"] = Fernet.generate_key().decode()  # a wrong key
    db.session.expire_all()
    with pytest.raises(DataKeyError):
        db.session.get(User, user.id).totp_secret  # noqa: B018


def test_a_seed_stored_before_encryption_is_still_read_and_then_encrypted(app, make_user):
    user = make_user("admin")
    db.session.execute(text("UPDATE users SET totp_secret = :s WHERE id = :i"),
                       {"s": TOTP_SECRET, "i": user.id})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == TOTP_SECRET
    reencrypt_all(db.session.connection(), db.metadata)
    db.session.commit()
    assert raw_secret(user.id).startswith("enc1:")


def test_rotation_command(app, make_user):
    make_user("psychologist")
    make_user("advisor", totp_secret=None)
    result = app.test_cli_runner().invoke(args=["users", "rotate-data-key"])
    assert result.exit_code == 0, result.output
    assert "1 row(s)" in result.output


def test_rotation_reaches_every_encrypted_column(app, make_user, api_client):
    """Rotation re-encrypts every `EncryptedString` column of every table, not only the TOTP
    seeds: a kept API answer (idempotency) and an email's original too, so that the former
    key can be dropped without making them unreadable."""
    from cellule.crypto import encrypted_columns
    from cellule.idempotency import IdempotencyKey
    from contacts.mail_original import EmailOriginal
    from contacts.models import Contact

    found = {table.name: names for table, names in encrypted_columns(db.metadata)}
    assert found["users"] == ["totp_secret", "totp_pending_secret"]
    assert "body" in found[IdempotencyKey.__tablename__]
    assert "raw" in found[EmailOriginal.__tablename__]

    api, user = api_client("advisor")
    response = api.post("/api/v1/contacts", headers={"Idempotency-Key": "rotate-1"}, json={
        "person": {"name": "Rotation Test"}, "channel": "phone"})
    assert response.status_code == 201
    contact = db.session.get(Contact, response.get_json()["id"])
    db.session.add(EmailOriginal(contact_id=contact.id, raw="From: x\n\nbody", size=14,
                                 sha256="0" * 64))
    db.session.commit()

    def raw(table, column):
        return db.session.execute(text(f"SELECT {column} FROM {table}")).scalar()

    before = (raw(IdempotencyKey.__tablename__, "body"), raw("email_originals", "raw"))
    former = app.config["CELLULE_DATA_KEYS"] or None
    from cellule.crypto import derived_key

    former = former or derived_key(app.config["SECRET_KEY"]).decode()
    new_key = Fernet.generate_key().decode()
    app.config["CELLULE_DATA_KEYS"] = f"{new_key},{former}"
    assert reencrypt_all(db.session.connection(), db.metadata) >= 2
    db.session.commit()
    after = (raw(IdempotencyKey.__tablename__, "body"), raw("email_originals", "raw"))
    assert all(a != b and a.startswith("enc1:") for a, b in zip(after, before, strict=True))
    app.config["CELLULE_DATA_KEYS"] = new_key  # the former key dropped: all still readable
    db.session.expire_all()
    assert db.session.get(EmailOriginal, contact.id).raw == "From: x\n\nbody"
    assert "person_id" in db.session.scalar(db.select(IdempotencyKey.body))
