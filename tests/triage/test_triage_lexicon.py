"""Red-flag lexicon: folding of case, accents, apostrophes; whole words; positions."""

import pytest

from triage import find_red_flags, has_red_flags
from triage.lexicon import Lexicon, load_lexicon, normalize

SPEC_PHRASES = [
    ("fr", "en finir"),
    ("fr", "me suicider"),
    ("fr", "me tuer"),
    ("fr", "plus envie de vivre"),
    ("fr", "mettre fin à mes jours"),
    ("nl", "zelfmoord"),
    ("nl", "er een einde aan maken"),
    ("nl", "niet meer leven"),
    ("nl", "mezelf van kant maken"),
    ("en", "kill myself"),
    ("en", "end my life"),
    ("en", "suicide"),
    ("en", "don't want to live"),
    ("de", "Selbstmord"),
    ("de", "mich umbringen"),
    ("de", "nicht mehr leben"),
]


@pytest.mark.parametrize(("language", "phrase"), SPEC_PHRASES)
def test_every_spec_phrase_is_in_the_lexicon(language, phrase):
    flags = find_red_flags(f"... {phrase} ...", prefer_language=language)
    assert [(f.phrase, f.language) for f in flags] == [(phrase, language)]


POSITIVES = [
    ("je vais me suicider.", "me suicider", "fr", "me suicider"),
    ("J'AI PLUS ENVIE DE VIVRE", "plus envie de vivre", "fr", "PLUS ENVIE DE VIVRE"),
    ("je veux me foutre en l’air", "me foutre en l'air", "fr", "me foutre en l’air"),
    ("me foutre en lʼair", "me foutre en l'air", "fr", "me foutre en lʼair"),
    ("me foutre en l`air", "me foutre en l'air", "fr", "me foutre en l`air"),
    ("me foutre en l´air", "me foutre en l'air", "fr", "me foutre en l´air"),
    ("Je veux mettre fin a mes jours", "mettre fin à mes jours", "fr", "mettre fin a mes jours"),
    ("METTRE FIN À MES JOURS", "mettre fin à mes jours", "fr", "METTRE FIN À MES JOURS"),
    ("en finir avec la vie", "en finir avec la vie", "fr", "en finir avec la vie"),
    ("Je veux mourir", "je veux mourir", "fr", "Je veux mourir"),
    ("mettre fin à ma vie", "mettre fin à ma vie", "fr", "mettre fin à ma vie"),
    ("Ik wil er een einde aan maken", "er een einde aan maken", "nl", "er een einde aan maken"),
    ("ik wil er een eind aan maken", "er een eind aan maken", "nl", "er een eind aan maken"),
    ("ZELFDODING", "zelfdoding", "nl", "ZELFDODING"),
    ("Ik wil dood.", "ik wil dood", "nl", "Ik wil dood"),
    ("gedachten over suïcide", "suïcide", "nl", "suïcide"),
    ("I want to KILL MYSELF", "kill myself", "en", "KILL MYSELF"),
    ("I don’t want to live", "don't want to live", "en", "don’t want to live"),
    ("he'd be better off dead", "better off dead", "en", "better off dead"),
    ("to take my own life", "take my own life", "en", "take my own life"),
    ("Ich will mich umbringen", "mich umbringen", "de", "mich umbringen"),
    ("Gedanken an SUIZID", "Suizid", "de", "SUIZID"),
    ("ich will mich töten", "mich töten", "de", "mich töten"),
    ("ich will nicht mehr leben", "will nicht mehr leben", "de", "will nicht mehr leben"),
    ("Ich WEISS nicht mehr weiter", "weiß nicht mehr weiter", "de", "WEISS nicht mehr weiter"),
    ("ich weiss nicht mehr weiter", "weiß nicht mehr weiter", "de", "weiss nicht mehr weiter"),
    ("kill\n   myself", "kill myself", "en", "kill\n   myself"),
    ("(suicide)", "suicide", "en", "suicide"),
]


@pytest.mark.parametrize(("text", "phrase", "language", "matched"), POSITIVES)
def test_red_flags_found(text, phrase, language, matched):
    flags = find_red_flags(text, prefer_language=language)
    assert [(f.phrase, f.language, f.matched) for f in flags] == [(phrase, language, matched)]
    assert text[flags[0].start : flags[0].end] == matched
    assert has_red_flags(text)


NEGATIVES = [
    "#suicidewatch is trending",
    "suicidesquad",
    "an overkill myself excepted",
    "nous en finirons avec la paperasse",
    "metuer",
    "zelfmoordenaar",  # not in the lexicon as a compound
    "Sie ist nicht mehr lebendig geworden",
    "I want to diet",
    "",
    "   ",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_word_boundaries(text):
    assert find_red_flags(text) == []
    assert not has_red_flags(text)


def test_none_text():
    assert find_red_flags(None) == []
    assert not has_red_flags(None)


def test_deduplicated_in_order_of_appearance():
    text = "I want to die. Zelfmoord... want to die again; ik wil dood."
    flags = find_red_flags(text)
    assert [f.phrase for f in flags] == ["want to die", "zelfmoord", "ik wil dood"]
    assert [text[f.start : f.end] for f in flags] == ["want to die", "Zelfmoord", "ik wil dood"]


def test_longest_phrase_wins():
    flags = find_red_flags("je veux en finir avec la vie")
    assert [f.phrase for f in flags] == ["en finir avec la vie"]


@pytest.mark.parametrize(
    ("prefer", "language", "phrase"),
    [
        (None, "fr", "suicide"),
        ("fr", "fr", "suicide"),
        ("en", "en", "suicide"),
        ("nl", "nl", "suïcide"),
        ("de", "fr", "suicide"),
    ],
)
def test_shared_phrase_language(prefer, language, phrase):
    [flag] = find_red_flags("suicide", prefer_language=prefer)
    assert (flag.language, flag.phrase) == (language, phrase)


def test_positions_survive_folding():
    text = "Straße … ICH WEIß NICHT MEHR WEITER!"
    [flag] = find_red_flags(text)
    assert flag.matched == "WEIß NICHT MEHR WEITER"
    assert text[flag.start : flag.end] == flag.matched


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("  Été\u00a0 à  l’ÉCOLE ", "ete a l'ecole"),
        ("Straße", "strasse"),
        ("cœur", "coeur"),
        ("e\u0301te\u0301", "ete"),
        ("suïcide", "suicide"),
    ],
)
def test_normalize(text, folded):
    assert normalize(text) == folded


def test_lexicon_refuses_duplicates_and_empty_phrases():
    with pytest.raises(ValueError, match="duplicate phrase"):
        Lexicon({"fr": ["me tuer", "ME TUER"]})
    with pytest.raises(ValueError, match="empty phrase"):
        Lexicon({"fr": [" "]})
    # The same phrase in two languages is allowed.
    assert len(Lexicon({"fr": ["suicide"], "en": ["suicide"]})) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[fr]\nphrases = ["x"]\n[xx]\nphrases = ["y"]\n', "unknown language 'xx'"),
        ('[fr]\nphrases = "x"\n', "needs phrases"),
        ('[fr]\nphrases = ["x"]\n', "no phrases for nl, en, de"),
    ],
)
def test_load_lexicon_errors(tmp_path, content, message):
    path = tmp_path / "red_flags.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_lexicon(path)


def test_red_flag_dict_shape():
    [flag] = find_red_flags("END MY LIFE")
    assert flag.to_dict() == {"phrase": "end my life", "language": "en", "matched": "END MY LIFE"}


# --- Invisible characters and every kind of space (issue 12, break 7) ------------------

SOFT_HYPHEN, ZWSP, ZWNJ, ZWJ, WORD_JOINER, BOM = "\u00ad", "\u200b", "\u200c", "\u200d", \
    "\u2060", "\ufeff"


@pytest.mark.parametrize(
    ("text", "phrase", "language", "matched"),
    [
        # Inside a word: the character is dropped ("sui&shy;cider" reads "suicider").
        (f"Je vais me sui{SOFT_HYPHEN}cider ce soir", "me suicider", "fr",
         f"me sui{SOFT_HYPHEN}cider"),
        (f"je veux me sui{ZWSP}cider", "me suicider", "fr", f"me sui{ZWSP}cider"),
        (f"Ik denk aan zelf{WORD_JOINER}moord", "zelfmoord", "nl", f"zelf{WORD_JOINER}moord"),
        (f"I want to kill my{ZWNJ}self.", "kill myself", "en", f"kill my{ZWNJ}self"),
        (f"Ich will mich um{ZWJ}brin{SOFT_HYPHEN}gen", "mich umbringen", "de",
         f"mich um{ZWJ}brin{SOFT_HYPHEN}gen"),
        (f"{BOM}zelfmoord plegen", "zelfmoord plegen", "nl", "zelfmoord plegen"),
        (f"en fi{BOM}nir avec la vie", "en finir avec la vie", "fr", f"en fi{BOM}nir avec la vie"),
        # Between words: any space is one space.
        ("envie\u00a0de\u00a0mourir", "envie de mourir", "fr", "envie\u00a0de\u00a0mourir"),
        ("je veux\u202fmourir", "je veux mourir", "fr", "je veux\u202fmourir"),
        ("ik wil\u3000dood", "ik wil dood", "nl", "ik wil\u3000dood"),
        ("end\u2003my\u2002life", "end my life", "en", "end\u2003my\u2002life"),
        ("keinen\tAusweg\r\nmehr", "keinen Ausweg mehr", "de", "keinen\tAusweg\r\nmehr"),
        ("better off\u2028dead", "better off dead", "en", "better off\u2028dead"),
        # Both at once, with an accent and an apostrophe look-alike.
        (f"m{SOFT_HYPHEN}’ô{ZWSP}ter\u00a0la vie", "m'ôter la vie", "fr",
         f"m{SOFT_HYPHEN}’ô{ZWSP}ter\u00a0la vie"),
    ],
)
def test_invisible_characters_and_spaces_do_not_hide_a_phrase(text, phrase, language, matched):
    [flag] = find_red_flags(text)
    assert (flag.phrase, flag.language, flag.matched) == (phrase, language, matched)
    assert text[flag.start : flag.end] == matched  # the offsets point into the original
    assert has_red_flags(text)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        (f"sui{SOFT_HYPHEN}ci{ZWSP}de{WORD_JOINER}", "suicide"),
        (f"{BOM}a{ZWNJ}b{ZWJ}c\u2066d\u2069", "abcd"),  # bidi isolates are Cf too
        ("a\u00a0\u202f\u2007\u3000\u2003\t\n\u2029b", "a b"),
    ],
)
def test_normalize_drops_format_characters_and_folds_spaces(text, folded):
    assert normalize(text) == folded


def test_invisible_characters_in_phrases_of_the_lexicon_are_ignored_too():
    lexicon = Lexicon({"fr": [f"me sui{SOFT_HYPHEN}cider"]})
    [flag] = lexicon.find("Je vais me suicider.")
    assert flag.matched == "me suicider"
