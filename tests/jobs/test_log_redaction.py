"""No email address or phone number in the worker's logs (issue 14, "personal data in logs").

An SMTP server that refuses the recipient makes smtplib raise `SMTPRecipientsRefused`, whose
text quotes the address and the server's reply; RQ writes that traceback into its log
message. The outbox's copy was redacted, the log was not.
"""

import logging

from cellule import outbox
from cellule.extensions import db
from cellule.mailer import send_mail
from cellule.redaction import RedactingFilter, redact
from contacts import operations

from .conftest import free_port, wait_until

ADDRESS = "jeanne.martin@example.be"
PHONE = "+32 470 12 34 56"


class RefusingHandler:
    """An SMTP server that knows nobody: every recipient gets a 550 quoting it."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return f"550 5.1.1 <{address}> unknown here, call {PHONE}"


def test_a_refused_recipient_leaves_no_address_in_the_worker_log(app, worker_process, tmp_path,
                                                                refresh):
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(RefusingHandler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                          MAIL_DEFAULT_SENDER="cellule@fund.test")
        person = operations.create_person(None, name="Jeanne Martin", email=ADDRESS)
        send_mail(person.email, "S", "B", person_id=person.id)
        db.session.commit()
        worker_process(CELLULE_JOB_RETRY_INTERVALS="0")

        def failed():
            refresh()
            return outbox.failed_rows()

        [row] = wait_until(failed, timeout=40, message="the worker to fail the mail")
    finally:
        controller.stop()
    log = (tmp_path / "worker1.log").read_text()
    assert "SMTPRecipientsRefused" in log and "Traceback" in log  # RQ logged the failure
    assert ADDRESS not in log and "470 12 34 56" not in log
    assert "SMTPRecipientsRefused" in row.last_error and ADDRESS not in row.last_error


def test_the_filter_redacts_messages_arguments_and_tracebacks():
    logger = logging.getLogger("cellule.test.redaction")
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(handler.format(record))
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        logger.error("to %s, phone %s", ADDRESS, "0470/12.34.56")
        try:
            raise ValueError(f"refused {ADDRESS} +32470123456")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(records)
    assert "Traceback" in text and "ValueError: refused …@… …" in text
    assert ADDRESS not in text and "470" not in text


def test_redaction_keeps_what_is_not_personal():
    kept = ("job 3f2a9c1e-0b1d-4c59-9e61-000000000001 took 0.123 s at 2026-12-01 15:26:41,123",
            'File "/srv/cellule/mailer.py", line 191, in deliver', "outbox 123456789 failed")
    for text in kept:
        assert redact(text) == text
    assert redact("call 02 123 45 67 or 0032 470 123 456") == "call … or …"


def test_names_beside_addresses_and_in_address_headers_are_redacted():
    """A name has no shape of its own, but in logs it travels with an address: the display
    name of a refused recipient, the address headers a mail parser's error quotes."""
    cases = {
        '550 refused "Jeanne Martin" <jeanne.martin@example.be>': "550 refused … <…@…>",
        "refused for Élodie O'Brien-Léger <e@example.be>: 550": "refused for … <…@…>: 550",
        "HeaderParseError: From: Jeanne Martin <j@example.be>, x": "HeaderParseError: From: …",
        "From: Jeanne Martin\nSubject: aide": "From: …\nSubject: aide",
        "reply-to: jeanne\nok": "reply-to: …\nok",
    }
    for text, expected in cases.items():
        assert redact(text) == expected
    # What only looks like a header keeps its words.
    assert redact("Failed to: connect to redis") == "Failed to: connect to redis"
