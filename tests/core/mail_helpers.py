"""Mail received for real: an aiosmtpd server on loopback (the jobs suite's handler) and the
outbox drained by an in-process worker, as production sends it."""

import re

import pytest

from cellule.jobs import drain
from tests.jobs.conftest import SmtpHandler, free_port

LINK = re.compile(r"https?://\S+/account/setup\?token=[A-Za-z0-9_-]+")


@pytest.fixture
def mailbox(app):
    """aiosmtpd on loopback; `app` sends its mail there. `.messages` holds what it accepted."""
    from aiosmtpd.controller import Controller

    handler = SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False,
                      MAIL_USERNAME="", MAIL_TIMEOUT=10.0,
                      MAIL_DEFAULT_SENDER="cellule@fund.test")
    yield handler
    handler.release.set()
    controller.stop()


def delivered(app, mailbox, to=None):
    """Send what the outbox holds; return the messages received so far (to `to`)."""
    drain(app)
    return [m for m in mailbox.messages if to is None or m["To"] == to]


def text_of(message):
    return message.get_content().replace("\r\n", "\n")


def link_in(message):
    """The set-up link of a received mail (fails when there is none)."""
    match = LINK.search(text_of(message))
    assert match, text_of(message)
    return match.group(0)


def path_of(link):
    """The path and query of a mailed link, for the test client."""
    return link[link.index("/account/"):]
