"""The caring messages' job: `send_caring_messages`, requested every five minutes by the
workers' relay (`cellule.jobs.periodic`); it sends the messages due while the cell is open
(`operations.send_due`). Idempotent: a message leaves `scheduled` once, in the
transaction that requests its mail through the outbox."""

import logging

from cellule.jobs import job, periodic

from . import operations

log = logging.getLogger(__name__)


@job("send_caring_messages", timeout=300)
def send_caring_messages():
    """Send the caring messages due; return how many were sent."""
    sent = operations.send_due()
    if sent:
        log.info("caring messages: %d sent", sent)
    return sent


periodic("send_caring_messages", every=300)
