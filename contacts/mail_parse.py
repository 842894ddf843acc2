"""Reading an email without letting it take the worker down: bounded parsing.

The standard library's parser follows every multipart and message/rfc822 part
down, and writing a part back (`as_bytes`, which `attachment.size` does) recurses
once per level: a message of a few hundred nested parts ends in a RecursionError.
Here the parser counts as it goes and stops early — before any deep recursion —
when a message is nested deeper than `MAX_DEPTH` parts or holds more than
`MAX_PARTS`; a message larger than `MAIL_MAX_MESSAGE_BYTES` is not parsed at all.
Each refusal is an `UnreadableMessage` whose text names the limit, never the
content, so it may be shown to admins and logged; bytes that are not an email at
all (an Outlook .msg, a binary file) are refused too (`NotAnEmail`, issue 15).

Base64 and quoted-printable only shrink what they decode, and no attachment is
ever decompressed, so the size limit bounds the memory a message can take.
"""

from email.feedparser import BytesFeedParser
from email.message import Message
from email.policy import compat32
from functools import cached_property

from flask import current_app, has_app_context
from imap_tools import MailMessage

from .mail_decode import not_an_email

MAX_MESSAGE_BYTES = 25 * 1024 * 1024  # default of MAIL_MAX_MESSAGE_BYTES
# Real mail nests a few levels per forward (mixed → rfc822 → alternative → text);
# 32 leaves room for long forward chains, far below Python's recursion limit.
MAX_DEPTH = 32
MAX_PARTS = 1000


class UnreadableMessage(Exception):
    """A message refused by a parsing limit; `str()` is a short reason without content."""


class MessageTooLarge(UnreadableMessage):
    pass


class MessageTooDeep(UnreadableMessage):
    pass


class MessageTooComplex(UnreadableMessage):
    pass


class NotAnEmail(UnreadableMessage):
    """Bytes that are not an RFC 822 message (an Outlook .msg file, a binary)."""


def max_message_bytes():
    if has_app_context():
        return current_app.config["MAIL_MAX_MESSAGE_BYTES"]
    return MAX_MESSAGE_BYTES


def _megabytes(n):
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"


class _BoundedParser(BytesFeedParser):
    """The standard feed parser, refusing a new part beyond the depth or count limit.

    `_new_message` is where the parser starts every part (the root included), with
    `_msgstack` holding the parts it is inside of: the depth, read before recursing.
    """

    def __init__(self, max_depth=MAX_DEPTH, max_parts=MAX_PARTS):
        super().__init__(Message, policy=compat32)
        self._max_depth = max_depth
        self._max_parts = max_parts
        self._parts = 0

    def _new_message(self):
        if len(self._msgstack) >= self._max_depth:
            raise MessageTooDeep(f"parts nested deeper than {self._max_depth} levels")
        self._parts += 1
        if self._parts > self._max_parts:
            raise MessageTooComplex(f"more than {self._max_parts} parts")
        super()._new_message()


def too_large(size, limit):
    """The refusal of a message of `size` bytes over the `limit`."""
    return MessageTooLarge(f"{_megabytes(size)}, larger than the maximum of {_megabytes(limit)}")


def parse_bytes(raw, *, max_bytes=None):
    """Return the `email.message.Message` of `raw`, or raise UnreadableMessage."""
    limit = max_bytes or max_message_bytes()
    if len(raw) > limit:
        raise too_large(len(raw), limit)
    reason = not_an_email(raw)
    if reason:
        raise NotAnEmail(reason)
    parser = _BoundedParser()
    parser.feed(raw)
    return parser.close()


class BoundedMailMessage(MailMessage):
    """An imap-tools message parsed lazily and with limits (`box.email_message_class`).

    Fetching never parses: a message that cannot be read raises when first used,
    inside the ingestion of that one message, which quarantines it.
    """

    def __init__(self, fetch_data):
        raw, uid_data, flag_data = self._get_message_data_parts(fetch_data)
        self._raw_uid_data = uid_data
        self._raw_flag_data = flag_data
        self.raw = raw or b""

    @cached_property
    def obj(self):
        return parse_bytes(self.raw)

    @cached_property
    def size(self):
        return len(self.raw)
