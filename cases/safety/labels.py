"""The safety plan's words: the steps' titles and hints (lazy, so that the PDF and the
mail say them in the plan's language under `force_locale`)."""

from flask_babel import lazy_gettext as _l

STEP_LABELS = {
    "warning_signs": _l("1. Warning signs"),
    "coping": _l("2. Things I can do on my own to take my mind off my problems"),
    "distractions": _l("3. People and places that help me think of something else"),
    "people": _l("4. People I can ask for help"),
    "professionals": _l("5. Professionals and crisis lines I can contact"),
    "environment": _l("6. Making my environment safe"),
    "reasons_for_living": _l("Reasons for living"),
}
STEP_HINTS = {
    "warning_signs": _l("Thoughts, images, moods or situations that tell a crisis may be "
                        "coming."),
    "coping": _l("Relaxation, a walk, music, a shower…"),
    "distractions": _l("Names and places, with a phone number where useful."),
    "people": _l("Names and phone numbers."),
    "professionals": _l("Your psychologist, your doctor, a crisis line: tick them below."),
    "environment": _l("What to put away, lock up or hand over to someone."),
    "reasons_for_living": _l("What matters most to me and is worth living for."),
}
CONSENT_LABELS = {"oral": _l("Oral consent"), "written": _l("Written consent")}
