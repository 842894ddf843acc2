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
