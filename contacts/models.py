"""People and contacts: who the cell talks with, and each exchange.

`cases` builds on these tables (`persons`, `contacts`): keep the column names
stable. The search column `Person.search_text` is computed in Python
(`contacts.normalise.search_text`) so that SQLite and PostgreSQL see exactly
the same text; the database indexes only accelerate the substring match.
"""

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cellule.extensions import db
from cellule.models import User
from cellule.types import UTCDateTime, utcnow

LANGUAGES = ("fr", "nl", "de", "en")
CHANNELS = ("phone", "email", "internal_referral", "web", "walk_in")
DIRECTIONS = ("in", "out")
REASONS = (
    "stress",
    "workload",
    "finances",
    "isolation",
    "sleep",
    "health",
    "family",
    "business_failure",
    "administration",
    "other",
)
SECTORS = (
    "horeca",
    "construction",
    "retail",
    "liberal_profession",
    "craft",
    "agriculture",
    "transport",
    "services",
    "care",
    "creative",
    "other",
)
# Channels that land in the advisors' inbox until someone marks them handled.
INBOX_CHANNELS = ("email", "internal_referral")


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Person(db.Model):
    """A self-employed person (or someone calling about them)."""

    __tablename__ = "persons"
    __table_args__ = (
        CheckConstraint(_in("language", LANGUAGES), name="language_known"),
        CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_self_merged"),
        # Person search (see contacts.search); SQLite uses the FTS5 table `persons_fts`
        # that migration 0002 creates with its triggers.
        Index(
            "ix_persons_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            postgresql_where=text("merged_into_id IS NULL"),
        ).ddl_if(dialect="postgresql"),
        # The advisors' review list of possible duplicates, oldest first (and its count).
        Index(
            "ix_persons_duplicates_pending",
            "duplicate_flagged_at",
            "id",
            postgresql_where=text("duplicate_status = 'pending'"),
            sqlite_where=text("duplicate_status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Fund affiliate number; unique when present (NULLs never collide).
    affiliate_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    # E.164 when `phonenumbers` could parse it, else exactly what the person said.
    phone: Mapped[str | None] = mapped_column(String(40), index=True)
    phone_valid: Mapped[bool] = mapped_column(default=False)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    language: Mapped[str] = mapped_column(String(2), default="fr")
    starter: Mapped[bool] = mapped_column(default=False)
    sector: Mapped[str | None] = mapped_column(String(40))
    # Folded (lower case, no accents, single spaces) copies for duplicates, search, sorting.
    name_key: Mapped[str] = mapped_column(String(200), index=True, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # A merged record stays as a pointer to the survivor; nothing is deleted.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    merged_at: Mapped[object | None] = mapped_column(UTCDateTime)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # Possible duplicates (issue 14; contacts.claims, contacts.duplicates): someone who may
    # not see every person typed an affiliate number, phone or email of a person they may
    # not see. The record is filed as new; the number it cannot hold (it is unique) is kept
    # aside, and advisors review the pair: merge, or keep apart.
    claimed_affiliate_number: Mapped[str | None] = mapped_column(String(40), index=True)
    possible_duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    # ["affiliate_number", "phone", "email"]: what the two records share.
    duplicate_reasons: Mapped[list | None] = mapped_column(JSON)
    # None, "pending" (in the review list), "kept_apart" or "merged".
    duplicate_status: Mapped[str | None] = mapped_column(String(12))
    duplicate_flagged_at: Mapped[object | None] = mapped_column(UTCDateTime)
    duplicate_reviewed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    duplicate_reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    merged_into: Mapped["Person | None"] = relationship(
        remote_side=[id], foreign_keys=[merged_into_id]
    )
    possible_duplicate_of: Mapped["Person | None"] = relationship(
        remote_side=[id], foreign_keys=[possible_duplicate_of_id]
    )

    @property
    def is_merged(self):
        return self.merged_into_id is not None

    def __repr__(self):
        return f"<Person {self.id}>"


# Code-point order on both databases (PostgreSQL's "C", SQLite's default BINARY).
_BINARY_NAME = String(200).with_variant(String(200, collation="C"), "postgresql")


class PersonNameWord(db.Model):
    """Where each word of a person's folded name starts: the name from that word on.

    An access path of the person search, kept by `contacts.name_words` whenever a
    `name_key` changes: "a word of the name starts with `peet`" is the range
    `tail >= 'peet' AND tail < 'peeu'` of the index, which also holds the name key, so
    the best-ranked people are found and ordered without reading every match's row.
    """

    __tablename__ = "person_name_words"
    __table_args__ = (
        Index("ix_person_name_words_tail", "tail", "name_key", "person_id", "position"),
    )

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    # 0 for the first word of the name, then the word's index.
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    tail: Mapped[str] = mapped_column(_BINARY_NAME)
    name_key: Mapped[str] = mapped_column(_BINARY_NAME)


class Contact(db.Model):
    """One exchange with a person (or with someone who stays anonymous)."""

    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel_known"),
        CheckConstraint(_in("direction", DIRECTIONS), name="direction_known"),
        CheckConstraint(
            "duration_minutes IS NULL OR (duration_minutes >= 0 AND duration_minutes <= 1440)",
            name="duration_range",
        ),
        # One contact per mailbox message, exactly once (DESIGN §4).
        UniqueConstraint(
            "mailbox", "mailbox_uidvalidity", "mailbox_uid", name="uq_contacts_mailbox_message"
        ),
        Index("ix_contacts_person_occurred", "person_id", "occurred_at", "id"),
        Index("ix_contacts_occurred", "occurred_at", "id"),
        Index("ix_contacts_channel_occurred", "channel", "occurred_at", "id"),
        Index("ix_contacts_created_by_occurred", "created_by_id", "occurred_at", "id"),
        Index(
            "ix_contacts_flagged",
            "occurred_at",
            "id",
            postgresql_where=text("red_flagged"),
            sqlite_where=text("red_flagged"),
        ),
        # The advisors' inbox: unhandled email contacts and internal referrals.
        Index(
            "ix_contacts_inbox",
            "red_flagged",
            "occurred_at",
            "id",
            postgresql_where=text(
                "handled_at IS NULL AND " + _in("channel", INBOX_CHANNELS)
            ),
            sqlite_where=text("handled_at IS NULL AND " + _in("channel", INBOX_CHANNELS)),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(3), default="in")
    occurred_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    duration_minutes: Mapped[int | None]
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    summary: Mapped[str] = mapped_column(Text, default="")
    # Red-flag phrases found in the summary/body: [{"phrase", "language", "matched"}].
    red_flagged: Mapped[bool] = mapped_column(default=False)
    red_flags: Mapped[list] = mapped_column(JSON, default=list)
    # Who handled the exchange; for inbox channels it stays empty until someone takes it.
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    handled_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    # Telephony call this contact came from (screen-pop), if any.
    call_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # Internal referral by a fund colleague (ambassador): how to reach, consent.
    referral_reach: Mapped[str | None] = mapped_column(String(254))
    consent_to_contact: Mapped[bool | None]
    # Email contacts (filled by the mailbox ingestion).
    email_sender: Mapped[str | None] = mapped_column(String(320))
    email_subject: Mapped[str | None] = mapped_column(String(998))
    email_body: Mapped[str | None] = mapped_column(Text)
    email_message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    # The Message-IDs an email answers, space separated, oldest first (its References, then
    # its In-Reply-To if not among them): a reply's References are these plus the email's
    # own Message-ID, and they thread the person's answer to its case (issue 15).
    email_references: Mapped[str | None] = mapped_column(Text)
    mailbox: Mapped[str | None] = mapped_column(String(200))
    mailbox_uidvalidity: Mapped[int | None] = mapped_column(db.BigInteger)
    mailbox_uid: Mapped[int | None] = mapped_column(db.BigInteger)
    # What the email body does not show as it was (`contacts.mail_decode`), codes among
    # "undecodable" (U+FFFD in the text), "malformed" (raw text kept), "truncated", and
    # "attached" (attached messages, listed, not in the body); any code means the original
    # is kept (`contacts.mail_original`) (issue 15).
    email_losses: Mapped[list | None] = mapped_column(JSON, default=list)

    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    handled_by: Mapped[User | None] = relationship(foreign_keys=[handled_by_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def decoded_with_losses(self):
        return bool(set(self.email_losses or ()) - {"attached"})

    @property
    def has_email_original(self):
        return self.channel == "email" and bool(self.email_losses)

    @property
    def sent_by_cell(self):
        """An email the cell sent: the cell's words, no exchange to flag or triage."""
        return self.channel == "email" and self.direction == "out"

    @property
    def in_inbox(self):
        return self.channel in INBOX_CHANNELS and self.handled_at is None

    def __repr__(self):
        return f"<Contact {self.id} {self.channel}>"


class ScreenPop(db.Model):
    """A short-lived token that opens the new-contact form for one incoming call.

    The caller's number stays on the server: the URL carries only the token
    (DESIGN §8, no personal data in URLs). Only the token's digest is stored.
    """

    __tablename__ = "screen_pops"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    call_id: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(40))
    dialled: Mapped[str | None] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(10))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[object] = mapped_column(UTCDateTime, index=True)
    # The first staff member to open the link claims it (single use, issue 14).
    opened_at: Mapped[object | None] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
