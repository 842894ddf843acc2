"""Normalising what people type: Belgian phone numbers, emails, names, search terms."""

import pytest

from contacts.normalise import (
    fold,
    normalise_affiliate_number,
    normalise_email,
    normalise_phone,
    phone_search_forms,
    query_tokens,
    search_text,
)


@pytest.mark.parametrize(
    "typed, e164",
    [
        ("0470 12 34 56", "+32470123456"),
        ("0470/12.34.56", "+32470123456"),
        ("0470-12-34-56", "+32470123456"),
        ("0470123456", "+32470123456"),
        ("+32 470 12 34 56", "+32470123456"),
        ("+32470123456", "+32470123456"),
        ("0032 470 12 34 56", "+32470123456"),
        ("00 32 470 12 34 56", "+32470123456"),
        ("+32 (0)470 12 34 56", "+32470123456"),
        ("02/123 45 67", "+3221234567"),  # Brussels landline
        ("(02) 511.22.33", "+3225112233"),
        ("09 223 45 67", "+3292234567"),  # Ghent
        ("09/123.45.67", "+3291234567"),
        ("04 222 11 00", "+3242221100"),  # Liège
        ("071 12 34 56", "+3271123456"),  # Charleroi
        ("+33 6 12 34 56 78", "+33612345678"),  # a French mobile stays French
        ("0031 20 123 4567", "+31201234567"),  # Amsterdam
    ],
)
def test_belgian_numbers_in_every_common_form_become_e164(typed, e164):
    phone = normalise_phone(typed)
    assert phone.value == e164
    assert phone.parsed


@pytest.mark.parametrize(
    "typed",
    ["call me at noon", "après 18 h au bureau", "0470 12", "12", "+32", "n/a"],
)
def test_unreadable_numbers_are_kept_as_typed(typed):
    phone = normalise_phone(typed)
    assert phone.value == typed
    assert not phone.parsed and not phone.valid


def test_blank_phone_is_none_and_spaces_are_tidied():
    assert normalise_phone("") is None
    assert normalise_phone("   ") is None
    assert normalise_phone(None) is None
    assert normalise_phone("  ask   for  Marc ").value == "ask for Marc"


def test_mobile_is_valid_and_unallocated_landline_is_only_possible():
    assert normalise_phone("0470 12 34 56").valid
    assert not normalise_phone("02/123 45 67").valid  # not an allocated range, still E.164


def test_phone_search_forms_give_international_and_national_digits():
    assert phone_search_forms("+32470123456") == ["32470123456", "0470123456"]
    assert phone_search_forms("+3225112233") == ["3225112233", "025112233"]
    assert phone_search_forms("after 6 pm") == []
    assert phone_search_forms("bureau 02 511 22 33") == ["025112233"]
    assert phone_search_forms(None) == []


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("Jeanne.Dupont@Example.BE", "jeanne.dupont@example.be"),
        ("  piet@voorbeeld.be ", "piet@voorbeeld.be"),
        ("", None),
        (None, None),
    ],
)
def test_emails_are_validated_and_lowered(typed, expected):
    assert normalise_email(typed) == expected


@pytest.mark.parametrize("typed", ["not an email", "a@b", "@example.be", "x@@example.be"])
def test_invalid_emails_raise(typed):
    with pytest.raises(ValueError):
        normalise_email(typed)


def test_affiliate_numbers_lose_separators():
    assert normalise_affiliate_number(" be-104.233 ") == "BE104233"
    assert normalise_affiliate_number("") is None


@pytest.mark.parametrize(
    "text, folded",
    [
        ("Bénédicte", "benedicte"),
        ("VAN DEN BOSSCHE", "van den bossche"),
        ("Jean-Marc  O'Neill", "jean marc o neill"),
        ("Çağlar Öztürk", "caglar ozturk"),
        ("Œuvre Straße", "oeuvre strasse"),
        ("  ", ""),
    ],
)
def test_fold_removes_case_accents_and_punctuation(text, folded):
    assert fold(text) == folded


def test_search_text_holds_every_identifier():
    text = search_text("Bénédicte Lambert", "+32475123456", "B.Lambert@example.be", "BE104233")
    for part in ("benedicte lambert", "b lambert example be", "be104233", "32475123456",
                 "0475123456"):
        assert part in text


@pytest.mark.parametrize(
    "query, tokens",
    [
        ("benedicte", ["benedicte"]),
        ("  Bénédicte   LAMBERT ", ["benedicte", "lambert"]),
        ("0475 12 34 56", ["0475123456"]),
        ("0475/12.34", ["04751234"]),
        ("+32 475 12", ["3247512"]),
        ("0032 475 12 34 56", ["32475123456"]),
        ("lambert lambert", ["lambert"]),
        ("%_", []),
        ("", []),
    ],
)
def test_query_tokens(query, tokens):
    assert query_tokens(query) == tokens


def test_display_phone():
    from contacts.normalise import display_phone

    assert display_phone("+32475123456") == "+32 475 12 34 56"
    assert display_phone("+3225112233") == "+32 2 511 22 33"
    assert display_phone("after 6 pm") == "after 6 pm"
    assert display_phone(None) == ""
