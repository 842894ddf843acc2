"""The consent texts, versioned: the words an advisor reads out during a call (oral) or
the person reads (written, web), in fr, nl, de and en.

A version is never edited once in use: a new wording is a new version ("survey/v2"),
added here, and `CURRENT` points at it; every consent row keeps the version it was given
on, so what the person agreed to stays readable. These are legal texts, frozen here
rather than in the translation catalogues (a catalogue update must not change them).
`paid_coaching` names the price shown: `{price}` is filled in and kept on the row.
"""

LANGUAGES = ("fr", "nl", "de", "en")

TEXTS = {
    "cell_processing/v1": {
        "fr": "La cellule d'écoute de votre caisse note ce que vous nous confiez (vos "
              "coordonnées, nos échanges, vos réponses au questionnaire) pour vous "
              "accompagner. Seule l'équipe de la cellule y a accès. Vous pouvez retirer "
              "votre accord à tout moment.",
        "nl": "De luistercel van uw fonds noteert wat u ons toevertrouwt (uw gegevens, onze "
              "gesprekken, uw antwoorden op de vragenlijst) om u te begeleiden. Alleen het "
              "team van de cel heeft er toegang toe. U kunt uw toestemming altijd intrekken.",
        "de": "Die Zuhörzelle Ihrer Kasse notiert, was Sie uns anvertrauen (Ihre Kontaktdaten, "
              "unsere Gespräche, Ihre Antworten auf den Fragebogen), um Sie zu begleiten. Nur "
              "das Team der Zelle hat Zugang dazu. Sie können Ihre Zustimmung jederzeit "
              "widerrufen.",
        "en": "Your fund's listening cell notes what you tell us (your contact details, our "
              "conversations, your answers to the questionnaire) to support you. Only the "
              "cell's team can see it. You may withdraw your agreement at any time.",
    },
    "share_psychologist/v1": {
        "fr": "Nous transmettons votre dossier à un·e psychologue de la caisse, qui vous "
              "recontactera. Il ou elle lira ce que vous nous avez dit. Vous pouvez retirer "
              "votre accord à tout moment.",
        "nl": "We geven uw dossier door aan een psycholoog van het fonds, die u opnieuw "
              "contacteert. Die leest wat u ons verteld hebt. U kunt uw toestemming altijd "
              "intrekken.",
        "de": "Wir geben Ihre Akte an eine Psychologin oder einen Psychologen der Kasse weiter, "
              "die oder der Sie kontaktiert und liest, was Sie uns gesagt haben. Sie können "
              "Ihre Zustimmung jederzeit widerrufen.",
        "en": "We pass your file to one of the fund's psychologists, who will contact you and "
              "will read what you told us. You may withdraw your agreement at any time.",
    },
    "share_partner/v1": {
        "fr": "Pour vous orienter vers un partenaire, nous lui envoyons seulement votre nom, "
              "vos coordonnées, votre langue et quelques mots sur la raison de la demande. "
              "Vous pouvez retirer votre accord à tout moment.",
        "nl": "Om u naar een partner door te verwijzen, sturen we die alleen uw naam, uw "
              "contactgegevens, uw taal en enkele woorden over de reden van de vraag. U kunt "
              "uw toestemming altijd intrekken.",
        "de": "Um Sie an einen Partner zu vermitteln, senden wir ihm nur Ihren Namen, Ihre "
              "Kontaktdaten, Ihre Sprache und ein paar Worte zum Grund der Anfrage. Sie "
              "können Ihre Zustimmung jederzeit widerrufen.",
        "en": "To refer you to a partner, we send them only your name, your contact details, "
              "your language and a few words on why. You may withdraw your agreement at any "
              "time.",
    },
    "paid_coaching/v1": {
        "fr": "Le coaching proposé est payant\u202f: {price}. Vous acceptez ce prix avant que "
              "nous prenions contact avec le coach pour vous.",
        "nl": "De voorgestelde coaching is betalend: {price}. U aanvaardt deze prijs voordat "
              "we de coach voor u contacteren.",
        "de": "Das vorgeschlagene Coaching ist kostenpflichtig: {price}. Sie stimmen diesem "
              "Preis zu, bevor wir den Coach für Sie kontaktieren.",
        "en": "The coaching offered is paid: {price}. You agree to this price before we "
              "contact the coach for you.",
    },
    "outreach/v1": {
        "fr": "La cellule peut vous contacter d'elle-même (par téléphone ou par e-mail) si "
              "la caisse remarque une situation difficile. Vous pouvez retirer votre accord "
              "à tout moment.",
        "nl": "De cel mag u zelf contacteren (telefonisch of per e-mail) als het fonds een "
              "moeilijke situatie opmerkt. U kunt uw toestemming altijd intrekken.",
        "de": "Die Zelle darf Sie von sich aus kontaktieren (telefonisch oder per E-Mail), "
              "wenn die Kasse eine schwierige Lage bemerkt. Sie können Ihre Zustimmung "
              "jederzeit widerrufen.",
        "en": "The cell may contact you on its own (by phone or email) when the fund notices "
              "a difficult situation. You may withdraw your agreement at any time.",
    },
    "survey/v1": {
        "fr": "Après votre dossier, nous pouvons vous envoyer par e-mail un court "
              "questionnaire de satisfaction, anonyme. Vous pouvez retirer votre accord à "
              "tout moment.",
        "nl": "Na uw dossier kunnen we u per e-mail een korte, anonieme "
              "tevredenheidsvragenlijst sturen. U kunt uw toestemming altijd intrekken.",
        "de": "Nach Ihrer Akte können wir Ihnen per E-Mail einen kurzen, anonymen "
              "Zufriedenheitsfragebogen senden. Sie können Ihre Zustimmung jederzeit "
              "widerrufen.",
        "en": "After your case, we may email you a short, anonymous satisfaction survey. You "
              "may withdraw your agreement at any time.",
    },
    "caring_messages/v1": {
        "fr": "Pendant douze mois, la cellule peut vous envoyer de temps en temps un court "
              "e-mail pour prendre de vos nouvelles. Vous pouvez l'arrêter à tout moment.",
        "nl": "Gedurende twaalf maanden kan de cel u af en toe een korte e-mail sturen om te "
              "horen hoe het met u gaat. U kunt dat altijd stopzetten.",
        "de": "Zwölf Monate lang kann die Zelle Ihnen ab und zu eine kurze E-Mail senden, um "
              "zu hören, wie es Ihnen geht. Sie können das jederzeit beenden.",
        "en": "For twelve months, the cell may now and then send you a short email to ask how "
              "you are. You may stop it at any time.",
    },
}

# The version given to new consents, per purpose.
CURRENT = {key.split("/")[0]: key for key in TEXTS}


def purpose_of(text_version):
    """The purpose a text version belongs to ("survey/v1" → "survey"), or None."""
    return text_version.split("/")[0] if text_version in TEXTS else None


def text(text_version, language, price=None):
    """The words of a version in a language (English for an unknown one)."""
    words = TEXTS[text_version].get(language) or TEXTS[text_version]["en"]
    return words.replace("{price}", price or "?") if "{price}" in words else words
