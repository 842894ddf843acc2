"""Logs without personal data: one rule (`redact`) for log records, RQ's logs and the
failed-jobs page.

Its own module, below `cellule.security` (which installs it on the app) and `cellule.outbox`
and `cellule.jobs` (which redact a job's error and the worker's logs): the rule needs nothing
of the web side.
"""

import logging
import re

# PostgreSQL repeats the offending values in its errors ("Key (email)=(ana@x.be) already
# exists", "Failing row contains (…)"); SQLAlchemy's hide_parameters does not reach those.
_PG_DETAILS = (
    (re.compile(r"(Key \((?:[^()]|\([^()]*\))*\)=\()(?:[^()]|\([^()]*\))*(\))"), r"\1…\2"),
    (re.compile(r"(Failing row contains \().*?(\)\.?)$", re.M), r"\1…\2"),
)


# Email addresses and phone numbers, wherever they appear: an SMTP server's refusal quotes the
# recipient, a lookup's arguments the phone. A phone is 9 to 15 digits that begin with + or 0,
# possibly grouped by spaces, dots, slashes, dashes or brackets ("+32 470 12.34.56").
#
# Names have no shape of their own, but they travel beside addresses: the display name of an
# address ('"Jeanne Martin" <jeanne@…>', 'Jeanne Martin <jeanne@…>') and the address headers
# of a message quoted by a parser's or a server's error ("From: Jeanne Martin <…>") go first.
_ADDRESS_HEADER = r"(?:Resent-)?(?:From|To|Cc|Bcc|Reply-To|Sender)"
_NAME_WORD = r"[^\W\d_][\w'’.-]*"


def _display_name(match):
    """Redact the capitalised words right before "<address": a display name. Lower-case words
    before it are the message's own ("refused for Jeanne Martin <…" keeps "refused for")."""
    words = match.group(1).split()
    first = next((i for i, word in enumerate(words) if word[0].isupper()), None)
    if first is None:
        return match.group(0)
    return " ".join([*words[:first], "…"]) + match.group(2)


_NAMES = (
    (re.compile(r"(?im)^(" + _ADDRESS_HEADER + r"[ \t]*:)[^\r\n]*"), r"\1 …"),
    (re.compile(r"(?<![\w-])(" + _ADDRESS_HEADER + r":)[^\r\n]*"), r"\1 …"),
    (re.compile(r'"[^"\r\n]{1,200}"(\s*<)'), r"…\1"),
    (re.compile(r"(?<![\w<])((?:" + _NAME_WORD + r"[ \t]+){0,5}" + _NAME_WORD
                + r")(\s*<[^<>\s]+@)"), _display_name),
)
_PERSONAL = _NAMES + (
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "…@…"),
    (re.compile(r"(?<![\w+.-])(?:\+|0)\d(?:[ ./()-]?\d){7,13}(?!\w)"), "…"),
)


def redact(text):
    """Remove the values that database errors quote, email addresses with their display names,
    address headers and phone numbers from `text` (the one rule for logs and the failed-jobs
    page)."""
    for pattern, replacement in _PG_DETAILS + _PERSONAL:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Let every record through with its message and traceback put through `redact` (RQ
    writes a failed job's traceback into the message itself)."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format is logging's own error to report
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# RQ's loggers may get handlers of their own (when the root logger has none).
RQ_LOGGERS = ("rq.worker", "rq.job", "rq.scheduler", "rq.queue")


def install_log_filter():
    """Put a `RedactingFilter` on the root logger's handlers and on RQ's loggers (once)."""
    targets = logging.getLogger().handlers + [logging.getLogger(n) for n in RQ_LOGGERS]
    for target in targets:
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())


def install_log_redaction():
    """Make every log record's traceback and exception arguments go through `redact`."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "cellule_redacts", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        if isinstance(record.args, tuple) and any(
            isinstance(a, BaseException) for a in record.args
        ):
            record.args = tuple(
                redact(str(a)) if isinstance(a, BaseException) else a for a in record.args
            )
        return record

    factory.cellule_redacts = True
    logging.setLogRecordFactory(factory)
