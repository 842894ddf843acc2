"""Signals other domains subscribe to (contacts never imports them).

`person_merged` is sent inside the merge transaction, after the contacts were
re-pointed and before the commit: a receiver re-points its own rows with the
same session (`db.session`) and does not commit; if it raises, the whole merge
is rolled back. Receivers are called as `receiver(sender, loser_id=…, winner_id=…)`
with the application as sender; `flask_login.current_user` is the actor.
"""

from blinker import Namespace

_signals = Namespace()

person_merged = _signals.signal("person-merged")

reply_filed = _signals.signal("reply-filed")
"""Sent by `contacts.replies.send_reply` in its transaction, after the outbound email
contact was created: `receiver(sender, contact=…, case_id=…, user=…)`. `case_id` is the
case the writer chose to file the email on (None: no case); cases links the contact to
it (an outbound contact counts as the case's first response)."""

email_threaded = _signals.signal("email-threaded")
"""Sent by `ingest_message` in its transaction when an incoming email answers an email
sent from Cellule to the same correspondent: `receiver(sender, contact=…, parent=…)`,
`parent` the outbound email contact it answers; cases links `contact` to the open
case(s) `parent` is linked to. No user is acting (the mailbox files it)."""
