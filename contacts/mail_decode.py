"""Reading an email as a mail client shows it: headers, body, attachments, losses.

The message is parsed by the standard library with the `compat32` policy
(`contacts.mail_parse`, bounded): it never raises on a malformed header and keeps
every 8-bit byte (as surrogate escapes), where `policy.default` decodes headers
itself — replacing raw 8-bit bytes and raising on some malformed address headers.
The decoding is done here, with the fallbacks real mail needs:

- a part labelled iso-8859-1, latin-1 or windows-1252 is read as windows-1252
  (Outlook labels windows-1252 as iso-8859-1: byte 0x92 is "’", not U+0092), unless
  its bytes are valid UTF-8 with non-ASCII sequences (a UTF-8 text mislabelled);
- a part labelled utf-8 or us-ascii, or without a charset, is read as UTF-8, and
  each byte sequence that is not UTF-8 as windows-1252 (undeclared Latin-1 and
  windows-1252 labelled utf-8 both come out right, even mixed with UTF-8);
- an HTML part without a charset parameter takes its `<meta charset>`;
- another declared charset is used as declared; an unknown label is ignored;
- headers: RFC 2047 encoded-words (adjacent words of one charset joined before
  decoding, raw 8-bit bytes inside them allowed), and raw 8-bit header bytes as
  UTF-8 (RFC 6532) with the same windows-1252 fallback.

Whatever still cannot be decoded becomes U+FFFD and the message is marked
"undecodable" (`losses`): the contact shows it, with the original a click away.

The body is the message's own text: text parts shown inline (a filename does not
make an inline text part an attachment), the HTML alternative rendered to text
when the plain one is empty or a stub. Attached messages (message/rfc822) are not
body: they are listed, and their text is given apart (`attached_texts`) to be
scanned for red flags. A multipart whose boundary is never found keeps its raw
text, marked "malformed".
"""

import base64
import binascii
import codecs
import hashlib
import re
from dataclasses import dataclass, field
from email.utils import getaddresses

import html2text

MAX_HTML = 1_000_000  # characters of HTML converted (html2text is pure Python)
STUB_RATIO = 0.2  # a plain alternative shorter than this share of the HTML text is a stub
STUB_WORDS = re.compile(
    r"html|not (be )?displayed|cannot display|ne peut pas (être )?affich|"
    r"kan niet (worden )?weergegeven|nicht angezeigt", re.IGNORECASE)
STUB_MAX = 300  # characters: a longer plain text is never taken for a stub by its words

UNDECODABLE, MALFORMED, TRUNCATED = "undecodable", "malformed", "truncated"
ATTACHED = "attached"  # not a loss: attached messages are listed, their text kept apart

# Labels read as windows-1252 (codec names after `codecs.lookup`).
_WESTERN = {"iso8859-1", "cp1252", "latin-1"}
# Labels read as UTF-8 with the windows-1252 fallback.
_UTF8_LIKE = {"utf-8", "ascii", "utf-8-sig"}
# Labels mail programs send that Python spells otherwise, or that a superset reads better.
_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "iso-8859-8-i": "iso8859-8",
    "windows-874": "cp874", "x-mac-roman": "mac_roman", "shift_jis": "cp932",
    "x-sjis": "cp932", "ansi_x3.4-1968": "ascii", "latin1": "iso8859-1",
}
# Codecs that are not charsets a message may declare.
_REFUSED = {"undefined", "unicode_escape", "raw_unicode_escape", "idna", "punycode", "mbcs",
            "oem", "utf-7"}


def _cp1252_or_replacement(error):
    """Error handler: the bytes that are not valid in the codec, read as windows-1252
    (its five undefined bytes become U+FFFD)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start:error.end]
    return bad.decode("cp1252", errors="replace"), error.end


codecs.register_error("cellule-cp1252", _cp1252_or_replacement)


def codec_of(label):
    """The Python codec name of a declared charset, or None (absent, unknown, refused)."""
    if not label:
        return None
    label = str(label).strip().strip("\"'").lower().split("*")[0]
    label = _ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):
        return None
    if name in _REFUSED or not getattr(codecs.lookup(name), "_is_text_encoding", True):
        return None
    return name


def decode_bytes(data, charset=None):
    """Return the text of `data` in the declared `charset` (or none), with the fallbacks
    above. Never raises; undecodable bytes become U+FFFD."""
    codec = codec_of(charset)
    if codec in _WESTERN:
        if not data.isascii():
            try:
                return data.decode("utf-8")  # mislabelled UTF-8 (Latin-1 text almost never is)
            except UnicodeDecodeError:
                pass
        return data.decode("cp1252", errors="cellule-cp1252")
    if codec is None or codec in _UTF8_LIKE:
        return data.decode("utf-8", errors="cellule-cp1252")
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        try:
            return data.decode("utf-8")  # mislabelled UTF-8
        except UnicodeDecodeError:
            return data.decode(codec, errors="replace")
    except Exception:  # a codec that fails in its own way: read as undeclared
        return data.decode("utf-8", errors="cellule-cp1252")


def _raw(value):
    """The original bytes of a header or payload string from the compat32 parser."""
    if isinstance(value, bytes):
        return value
    # compat32 gives 8-bit bytes as surrogate escapes; other text is encoded as UTF-8.
    return str(value).encode("utf-8", "surrogateescape") if value is not None else b""


_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=")


def _word_bytes(encoding, payload):
    if encoding in b"Bb":
        payload = re.sub(rb"\s+", b"", payload)
        payload += b"=" * (-len(payload) % 4)
        try:
            return base64.b64decode(payload)
        except (binascii.Error, ValueError):
            return None
    payload = payload.replace(b"_", b" ")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), payload)


def decode_header(value):
    """Return the text of a header value: unfolded, encoded-words decoded, raw 8-bit bytes
    read as UTF-8 (RFC 6532) or windows-1252, whitespace runs made single spaces."""
    data = re.sub(rb"\r?\n(?=[ \t])", b"", _raw(value))
    pieces = []  # [charset or None, bytes]
    position = 0
    for match in _ENCODED_WORD.finditer(data):
        decoded = _word_bytes(match.group(2), match.group(3))
        if decoded is None:  # not valid base64: the word stays as it stands
            continue
        between = data[position:match.start()]
        charset = match.group(1).decode("ascii", "replace")
        # Whitespace between two encoded-words is not text (RFC 2047 §6.2).
        adjacent = bool(pieces) and pieces[-1][0] is not None and not between.strip()
        if between and not adjacent:
            pieces.append([None, between])
        if adjacent and pieces[-1][0].lower() == charset.lower():
            pieces[-1][1] += decoded  # one character may be split over two words
        else:
            pieces.append([charset, decoded])
        position = match.end()
    if position < len(data):
        pieces.append([None, data[position:]])
    text = "".join(decode_bytes(chunk, charset) for charset, chunk in pieces)
    return " ".join(text.replace("\x00", "").split())


def usable_address(from_value):
    """The one email address of a From header, or "" (none, `<>`, several, not an address)."""
    text = decode_header(from_value)
    addresses = [a for _, a in getaddresses([text]) if a]
    if len(addresses) != 1:
        return ""
    local, at, domain = addresses[0].rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in addresses[0]):
        return ""
    return addresses[0]


# The Message-ID made for a message that has none or no usable sender (`raw_message_id`):
# never sent as In-Reply-To or References (no mail client knows it).
RAW_ID = re.compile(r"^<raw-sha256\.[0-9a-f]{40}@cellule\.invalid>$")


def raw_message_id(raw):
    """The made-up Message-ID of a message known only by its bytes."""
    return f"<raw-sha256.{raw_digest(raw)[:40]}@cellule.invalid>"


def is_real_message_id(message_id):
    """Whether a Message-ID came from the message (so a reply may name it)."""
    return bool(message_id) and not RAW_ID.match(message_id)


def raw_digest(raw):
    """The SHA-256 of a message's bytes with line endings made LF (a file saved on disk and
    the same message served by IMAP, with CRLF, are one message), trailing newlines dropped."""
    normalised = raw.replace(b"\r\n", b"\n").rstrip(b"\n")
    return hashlib.sha256(normalised).hexdigest()


# --- The structure ------------------------------------------------------------


@dataclass
class Attached:
    """A message attached to the one read (message/rfc822)."""

    subject: str
    sender: str
    text: str
    size: int


@dataclass
class Reading:
    """What one message says: its own text, what it carries, and what was lost."""

    body: str = ""
    attachments: list = field(default_factory=list)  # (filename, content type, size)
    attached: list = field(default_factory=list)  # Attached
    losses: set = field(default_factory=set)


def html_to_text(html):
    """Return the readable text of an HTML body (scripts, styles and images dropped)."""
    converter = html2text.HTML2Text()
    converter.body_width = 0  # no hard wrapping
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.unicode_snob = True
    return "\n".join(line.rstrip() for line in converter.handle(html).splitlines()).strip()


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)


def _part_text(part):
    """The decoded text of a text part (HTML rendered to text); marks losses on nothing."""
    data = part.get_payload(decode=True) or b""
    if isinstance(data, str):  # pragma: no cover - compat32 gives bytes for leaf parts
        data = _raw(data)
    charset = part.get_param("charset")
    if isinstance(charset, tuple):  # RFC 2231 form
        charset = charset[2]
    if part.get_content_subtype() == "html":
        if not codec_of(charset):
            meta = _META_CHARSET.search(data[:4096])
            charset = meta.group(1).decode("ascii") if meta else charset
        return html_to_text(decode_bytes(data, charset)[:MAX_HTML])
    return decode_bytes(data, charset).replace("\r\n", "\n").strip()


def _filename(part):
    name = part.get_param("filename", header="content-disposition") or part.get_param("name")
    if isinstance(name, tuple):  # RFC 2231: (charset, language, value)
        charset, _, value = name
        try:  # the parser percent-decoded the value into one character per byte
            data = str(value).encode("latin-1", "surrogateescape")
        except UnicodeEncodeError:
            data = _raw(value)
        name = decode_bytes(data, charset)
        return " ".join(name.split())
    return decode_header(name) if name else ""


def _size(part):
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return len(data)
    try:
        return len(_raw(part.as_string()))
    except Exception:  # a part the generator cannot write back: its size is not worth a failure
        return 0


def _is_stub(plain, rich):
    if not plain:
        return True
    if len(plain) <= STUB_MAX and STUB_WORDS.search(plain) and len(rich) > len(plain):
        return True
    return len(plain) < STUB_RATIO * len(rich)


class _Walker:
    def __init__(self, reading):
        self.reading = reading

    def texts(self, part):
        """Return the body texts of a part, collecting attachments on the way."""
        if part.get_content_maintype() == "multipart":
            payload = part.get_payload()
            if not isinstance(payload, list):
                # The boundary was never found: the raw text is all there is.
                self.reading.losses.add(MALFORMED)
                text = decode_bytes(_raw(payload)).replace("\r\n", "\n").strip()
                return [text] if text else []
            if part.get_content_subtype() == "alternative":
                return self.alternative(payload)
            return [t for child in payload for t in self.texts(child)]
        if part.get_content_type() == "message/rfc822":
            self.attach_message(part)
            return []
        disposition = part.get_content_disposition()
        if part.get_content_type() in ("text/plain", "text/html") and disposition != "attachment":
            text = _part_text(part)
            return [text] if text else []
        self.reading.attachments.append(
            (_filename(part), part.get_content_type(), _size(part)))
        return []

    def alternative(self, children):
        """The texts of the alternative a mail client shows: the plain one, unless it is
        empty or a stub of the HTML one; only the chosen one's attachments count."""
        readings = []
        for child in children:
            sub = _Walker(Reading())
            readings.append((child, "\n\n".join(sub.texts(child)), sub.reading))
        plain = next((r for r in readings if r[0].get_content_type() == "text/plain"), None)
        rich = next((r for r in reversed(readings) if r is not plain and r[1]), None)
        chosen = plain if rich is None or (plain and not _is_stub(plain[1], rich[1])) else rich
        if chosen is None:
            return []
        _, text, sub = chosen
        self.reading.attachments += sub.attachments
        self.reading.attached += sub.attached
        self.reading.losses |= sub.losses
        return [text] if text else []

    def attach_message(self, part):
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if inner is None:
            self.reading.attachments.append(("", "message/rfc822", _size(part)))
            return
        reading = read_message(inner)  # its losses show in its own text (U+FFFD)
        text = reading.body
        for attached in reading.attached:  # a forward of a forward
            text += "\n\n" + attached.text
        self.reading.attached.append(Attached(
            subject=decode_header(inner.get("Subject", "")),
            sender=decode_header(inner.get("From", "")),
            text=text,
            size=_size(part),
        ))


def read_message(message):
    """Return the `Reading` of a compat32 `email.message.Message`."""
    reading = Reading()
    reading.body = "\n\n".join(_Walker(reading).texts(message))
    if "\ufffd" in reading.body:
        reading.losses.add(UNDECODABLE)
    if any("\ufffd" in a.text for a in reading.attached):
        reading.losses.add(UNDECODABLE)
    return reading


# --- Not an email at all --------------------------------------------------------

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADER_LINE = re.compile(rb"^(From |[!-9;-~]+:)")


def not_an_email(raw):
    """Return why `raw` is not an RFC 822 message (a short reason, no content), or None."""
    if raw.startswith(OLE_MAGIC[:4]):
        return "an Outlook .msg file (binary), not an email: save it as .eml (RFC 822) first"
    head = raw[:8192]
    if not head.strip():
        return "an empty file, not an email"
    if b"\x00" in head:
        return "a binary file (NUL bytes), not an email"
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if controls > len(head) * 0.05:
        return "a binary file, not an email"
    if not _HEADER_LINE.match(head.lstrip(b"\r\n")):
        return "no header at the top of the file, not an email"
    return None
