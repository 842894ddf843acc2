"""The caring messages' words: eight short texts that vary over the series, and the lines
every message ends with (no need to answer, the 24/7 crisis lines, how to stop, the cell's
signature). English msgids, translated in the catalogues (fr, nl, de); rendered in the
series' language by `operations.compose`.

What they say, on purpose (Motto & Bostrom's letters): a warm word and that the cell thinks
of the person — no question to answer, no clinical word, nothing about why they called.
"""

from flask_babel import lazy_gettext as _l

TEXTS = (
    _l("We wanted to send you a short word to say that we were glad to talk with you, and "
       "that we think of you."),
    _l("It has been a little while since we talked. We hope things are going as well as "
       "they can for you."),
    _l("This is just a short message to let you know that we still think of you."),
    _l("We hope the days are a little lighter. Our door stays open, whenever you wish."),
    _l("Some months have gone by since we talked. We simply wanted to say hello and wish "
       "you well."),
    _l("We are sending you this message to let you know that you are not forgotten."),
    _l("We hope you are taking care of yourself. You can count on us if you ever need to."),
    _l("It has been a year since we first talked. Thank you for letting us be there. This "
       "is the last of these messages; we remain here if you ever need us."),
)

SUBJECT = _l("A word from the listening cell")
GREETING = _l("Hello,")
NO_ANSWER_NEEDED = _l("There is no need to answer this message. If you feel like writing "
                      "to us, we will be glad to read you.")
CRISIS_LINES = _l("If things get hard, you can call at any hour:")
SIGNATURE = _l("Warm regards,\nThe listening cell")
HOW_TO_STOP = _l("You would rather not receive these messages? Reply to this email with the "
                 "word \"stop\", or tell us when we talk, and we will stop them.")


def text_for(number, last=False):
    """The text of the `number`th message (1, 2, …): the series' texts in turn, the one
    that closes the year for the `last` message (whatever the configured schedule)."""
    if last:
        return TEXTS[-1]
    return TEXTS[(number - 1) % (len(TEXTS) - 1)]
