"""Person search: accent- and case-insensitive, identical on SQLite and PostgreSQL.

The same data set and queries run on both backends (the suite runs once per
backend); each query's result ids are compared with a pure-Python reference
of the search's meaning and with the ids expected below, so both databases
give the same answer.
"""

import re

import pytest

from cellule.extensions import db
from contacts import operations
from contacts.models import Person
from contacts.normalise import query_tokens
from contacts.search import search_persons

PEOPLE = [
    # name, phone, email, affiliate number
    ("Bénédicte Lambert", "0475 12 34 56", "benedicte.lambert@example.be", "BE-104233"),
    ("Pieter VAN DEN BOSSCHE", "+32 486 22 41 07", "pieter@vandenbossche.example", "BE-208871"),
    ("Nathalie Dubois", "02/511 22 33", None, None),
    ("Koen Wouters", "09 223 45 67", "koen.wouters@example.be", "BE-310045"),
    ("Mehdi El Amrani", "0032 470 98 76 54", "mehdi@example.be", None),
    ("François Lemaire", "04 222 11 00", "f.lemaire@example.be", None),
    ("Benoît Lambert", None, "benoit@example.be", None),
    ("Ève D'Hondt", "après 18 h", None, None),
    ("Zoë Bossché-Dubois", "+33 6 12 34 56 78", None, "FR-77"),
    ("Lambert Dupont", "0496/55.44.33", None, None),
]

# query -> names expected, in order (rank: name starts with, a word starts with, elsewhere).
EXPECTED = {
    "benedicte": ["Bénédicte Lambert"],
    "BÉNÉDICTE": ["Bénédicte Lambert"],
    "bossche": ["Pieter VAN DEN BOSSCHE", "Zoë Bossché-Dubois"],
    "van den bossche": ["Pieter VAN DEN BOSSCHE"],
    "lambert": ["Lambert Dupont", "Bénédicte Lambert", "Benoît Lambert"],
    "lamb ben": ["Bénédicte Lambert", "Benoît Lambert"],
    "dubois": ["Nathalie Dubois", "Zoë Bossché-Dubois"],
    "francois": ["François Lemaire"],
    "zoe": ["Zoë Bossché-Dubois"],
    "d'hondt": ["Ève D'Hondt"],
    "eve": ["Ève D'Hondt"],
    "0475 12 34 56": ["Bénédicte Lambert"],
    "0475/12.34": ["Bénédicte Lambert"],
    "+32 475 12 34 56": ["Bénédicte Lambert"],
    "0032475123456": ["Bénédicte Lambert"],
    "02 511": ["Nathalie Dubois"],
    "0470 98": ["Mehdi El Amrani"],
    "0612": ["Zoë Bossché-Dubois"],
    "koen.wouters@example.be": ["Koen Wouters"],
    "WOUTERS@EXAMPLE": ["Koen Wouters"],
    "be-208871": ["Pieter VAN DEN BOSSCHE"],
    "208871": ["Pieter VAN DEN BOSSCHE"],
    "nobody": [],
    "%": [],
    "_": [],
    "e": [],  # a lone letter is not searched
    "e v": [],
    "ev": ["Ève D'Hondt"],  # short tokens match at the start of a word only
    "la": ["Lambert Dupont", "Bénédicte Lambert", "Benoît Lambert"],
    "be": None,
    "d": [],
    "ben la": ["Bénédicte Lambert", "Benoît Lambert"],
}


@pytest.fixture
def people(app, make_user):
    advisor = make_user("advisor")
    for name, phone, email, affiliate in PEOPLE:
        operations.create_person(advisor, name=name, phone=phone, email=email,
                                 affiliate_number=affiliate)
    db.session.commit()
    return advisor


def reference(query, persons):
    """The search's meaning in plain Python: every token is a substring, then the rank."""
    tokens = query_tokens(query)
    if not any(len(t) >= 2 for t in tokens):
        return []
    patterns = [t if len(t) >= 3 else " " + t for t in tokens]
    found = [p for p in persons if all(t in p.search_text for t in patterns)]
    first = tokens[0]

    def rank(p):
        if p.name_key.startswith(first):
            return 0
        return 1 if re.search(r"(^| )" + re.escape(first), p.name_key) else 2

    return [p.id for p in sorted(found, key=lambda p: (rank(p), p.name_key.encode(), p.id))]


@pytest.mark.parametrize("query", list(EXPECTED))
def test_search_gives_the_reference_answer(people, query):
    persons = db.session.scalars(db.select(Person)).all()
    ids = [p.id for p in search_persons(query, people, limit=50)]
    assert ids == reference(query, persons)
    if EXPECTED[query] is not None:
        names = {p.id: p.name for p in persons}
        assert [names[i] for i in ids] == EXPECTED[query]


def test_accents_and_capitals_do_not_matter(people):
    names = [p.name for p in search_persons("benedicte", people)]
    assert names == ["Bénédicte Lambert"]
    names = [p.name for p in search_persons("bossche", people)]
    assert "Pieter VAN DEN BOSSCHE" in names


def test_merged_people_are_not_found(people):
    loser, winner = (
        db.session.scalar(db.select(Person).where(Person.name == n))
        for n in ("Benoît Lambert", "Bénédicte Lambert")
    )
    operations.merge_persons(loser, winner, people)
    db.session.commit()
    assert [p.name for p in search_persons("lambert ben", people)] == ["Bénédicte Lambert"]


def test_an_edit_updates_the_search(people):
    person = db.session.scalar(db.select(Person).where(Person.name == "Koen Wouters"))
    operations.update_person(person, people, name="Koen Peeters", phone="0471 00 11 22")
    db.session.commit()
    # Still found by the email koen.wouters@…, no longer by the old number.
    assert [p.name for p in search_persons("wouters", people)] == ["Koen Peeters"]
    assert [p.name for p in search_persons("peeters", people)] == ["Koen Peeters"]
    assert [p.name for p in search_persons("0471 00 11", people)] == ["Koen Peeters"]
    assert search_persons("09 223", people) == []


def test_limit_is_applied(people):
    assert len(search_persons("example", people, limit=3)) == 3


def test_short_tokens_match_word_starts_only(people):
    names = [p.name for p in search_persons("di", people)]
    assert "Bénédicte Lambert" not in names  # "di" inside "benedicte" is not a word start
    assert [p.name for p in search_persons("dic", people)] == ["Bénédicte Lambert"]


def test_ambassadors_only_find_the_people_they_created(people, make_user):
    ambassador = make_user("ambassador")
    operations.create_person(ambassador, name="Bénédicte Ambassade")
    db.session.commit()
    assert [p.name for p in search_persons("benedicte", ambassador)] == ["Bénédicte Ambassade"]
    admin = make_user("admin")
    assert search_persons("benedicte", admin) == []


# --------------------------------------------------------------------------- the word index path

FIRST = ["Jan", "Janne", "Marie", "Marie-Claire", "Jean", "Anne", "Koen", "Els", "Peter"]
LAST = ["Peeters", "Janssens", "Maes", "Jacobs", "Van den Bossche", "De Smet", "Peetermans",
        "Dubois", "Lambert", "Jansen"]


@pytest.fixture
def crowd(app, make_user, database_snapshot):
    """150 people whose names share words and prefixes; a few merged; some with the
    searched words only in their email (rank 2). Built once, put back for each test."""
    import random

    from cellule.models import User

    def build():
        advisor = make_user("advisor")
        rng = random.Random(7)
        people = []
        for i in range(150):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            email = f"jan.{i}@peeters.example" if i % 9 == 0 else None
            people.append(operations.create_person(advisor, name=name, email=email))
        db.session.flush()
        for loser, winner in ((people[3], people[4]), (people[10], people[11])):
            operations.merge_persons(loser, winner, advisor)
        db.session.commit()
        return advisor.id

    return db.session.get(User, database_snapshot("test_search.crowd", build))


@pytest.mark.parametrize("query", ["jan", "peeters", "peet", "ja", "marie", "claire", "van",
                                   "smet", "jansen", "pe", "bossche", "example"])
@pytest.mark.parametrize("limit", [1, 3, 7, 20])
def test_word_index_path_gives_the_reference_answer(crowd, query, limit):
    persons = db.session.scalars(db.select(Person).where(Person.merged_into_id.is_(None))).all()
    ids = [p.id for p in search_persons(query, crowd, limit=limit)]
    assert ids == reference(query, persons)[:limit]


def test_common_names_are_answered_from_the_word_index(crowd, monkeypatch):
    from contacts import search

    def general_path(*args):
        raise AssertionError("the general query ran")

    monkeypatch.setattr(search, "_ranked", general_path)
    assert len(search_persons("peeters", crowd, limit=5)) == 5
    assert len(search_persons("jan", crowd, limit=20)) == 20


def test_word_index_follows_every_change_of_a_name(crowd):
    from contacts.models import PersonNameWord
    from contacts.name_words import rebuild_all, rows_for

    person = db.session.scalar(db.select(Person).order_by(Person.id))
    operations.update_person(person, crowd, name="Marie-Claire Van Acker")
    db.session.commit()
    assert [p.name for p in search_persons("acker", crowd)] == ["Marie-Claire Van Acker"]

    def index():
        return sorted(db.session.execute(db.select(
            PersonNameWord.person_id, PersonNameWord.position, PersonNameWord.tail,
            PersonNameWord.name_key)).all())

    expected = sorted(tuple(r.values()) for p in db.session.scalars(db.select(Person))
                      for r in rows_for(p.id, p.name_key))
    assert index() == expected
    assert ("marie claire van acker", "claire van acker") == tuple(
        t for _p, _i, t, _k in index() if _p == person.id)[:2]
    # A bulk rebuild (PostgreSQL does it in SQL) gives exactly the same rows.
    rebuild_all(db.session.connection())
    db.session.commit()
    assert index() == expected
