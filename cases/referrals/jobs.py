"""The referrals' sweep: `remind_late_referrals`, requested every five minutes by the
workers' relay; a referral waiting past its step's business days gives the case's
assignee a reminder task, once per step (`operations.remind_late`)."""

import logging

from cellule.jobs import job, periodic

from . import operations

log = logging.getLogger(__name__)


@job("remind_late_referrals", timeout=300)
def remind_late_referrals():
    """Create the reminder tasks of the late referrals; return how many."""
    made = operations.remind_late()
    if made:
        log.info("late referrals: %d reminders", made)
    return made


periodic("remind_late_referrals", every=300)
