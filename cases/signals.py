"""Signals other parts of the app may subscribe to (the jobs side: mail, surveys).

Receivers run inside the sender's transaction: write outbox rows there, never
talk to Redis or SMTP directly.
"""

from blinker import Namespace

_signals = Namespace()

#: sent with `case_id` when a case closes (e.g. to create the satisfaction survey).
case_closed = _signals.signal("case-closed")

#: sent with `case_id` and `user_ids` when every on-duty supervisor was alerted
#: to an imminent-danger case (the in-app tasks exist already; mail them from here).
supervisors_alerted = _signals.signal("supervisors-alerted")

#: sent with `referral` and `actor` when a referral is recorded (cases.referrals writes its
#: first dated steps).
referral_added = _signals.signal("referral-added")
