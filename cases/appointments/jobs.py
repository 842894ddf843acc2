"""The appointments' sweep: `remind_appointments`, requested every minute by the workers'
relay (`cellule.jobs.periodic`), mails the reminders due 24 hours before (exactly once:
`operations.send_reminders`)."""

import logging

from cellule.jobs import job, periodic

from . import operations

log = logging.getLogger(__name__)


@job("remind_appointments", timeout=300, retries=())
def remind_appointments():
    """Mail the appointments' reminders due; return how many."""
    sent = operations.send_reminders()
    if sent:
        log.info("appointments: %d reminder(s) sent", sent)
    return sent


periodic("remind_appointments", every=60)
