"""Time typical person searches on the configured database.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cellule_bench \\
        python bench/search_timing.py --people 100000

Migrates the database, fills it with N generated Belgian people (fast bulk
insert: COPY on PostgreSQL, executemany on SQLite; skipped when already there),
then runs each typical query many times through `contacts.search.search_persons`
(the code the desk and the API use) and prints p50/p95 per query in ms.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST_FR = ["Bénédicte", "François", "Hélène", "Jérôme", "Anaïs", "Noël", "Céline", "Loïc",
            "Mathieu", "Sophie", "Nathalie", "Mehdi", "Inès", "Théo", "Zoë", "Chloé", "Léa",
            "Maël", "Amélie", "Raphaël"]
FIRST_NL = ["Pieter", "Koen", "Sofie", "Annelies", "Jens", "Lotte", "Wout", "Femke", "Bram",
            "Els", "Joris", "Griet", "Stijn", "Lien", "Thijs", "Ine", "Dries", "Eline", "Arne",
            "Marieke"]
LAST = ["Lambert", "Dubois", "Lemaire", "Van den Bossche", "Wouters", "Claes", "Peeters",
        "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "De Smet", "Goossens", "Vermeulen",
        "D'Hondt", "Dupont", "Martin", "Leroy", "Simon", "Lefèvre", "Renard", "Dumont",
        "Van Damme", "De Backer", "El Amrani", "Hermans", "Michiels", "Pauwels", "Vandenberghe",
        "Desmet", "Gérard", "Noël", "François", "Stevens", "Verhoeven", "Bosmans", "Lejeune",
        "Cools", "Baert"]
SECTORS = ["horeca", "construction", "retail", "liberal_profession", "craft", "transport",
           "care", "services", "agriculture", "creative"]
PREFIXES = ["0470", "0471", "0472", "0475", "0476", "0477", "0478", "0479", "0484", "0485",
            "0486", "0487", "0488", "0489", "0490", "0491", "0492", "0493", "0494", "0495",
            "0496", "0497", "0498", "0499", "02", "03", "09", "010", "050", "071", "081"]

QUERIES = [
    ("surname", "lambert"),
    ("surname, caps and spaces", "VAN DEN BOSSCHE"),
    ("first name, accented", "Bénédicte"),
    ("first name, unaccented", "benedicte"),
    ("full name", "sofie claes"),
    ("name prefix (3 letters)", "ver"),
    ("two letters (word start)", "la"),
    ("letter + word", "v bossche"),
    ("phone, national", "0475 12"),
    ("phone, international", "+32 486 22"),
    ("email fragment", "wouters@exa"),
    ("affiliate number", "BE-1042"),
    ("no match", "zzqxw"),
]


def generate(n, seed=20260115):
    """Yield person rows (dicts of column values) for n people.

    Values are built already normalised (E.164 phones, lower-case emails) so that
    generating 100 000 rows stays quick; the folded columns use the app's code.
    """
    from functools import lru_cache

    from cellule.types import utcnow
    from contacts import normalise

    name_key = lru_cache(maxsize=None)(normalise.name_key)
    fold = lru_cache(maxsize=None)(normalise.fold)
    rng = random.Random(seed)
    now = utcnow()
    for i in range(n):
        language = "fr" if rng.random() < 0.55 else "nl"
        first = rng.choice(FIRST_FR if language == "fr" else FIRST_NL)
        last = rng.choice(LAST)
        name = f"{first} {last}"
        prefix = rng.choice(PREFIXES)
        length = 10 if prefix.startswith("04") and len(prefix) == 4 else 9
        national = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix)))
        phone = "+32" + national[1:]
        email = None
        if rng.random() < 0.7:
            local = fold(f"{first}.{last}").replace(" ", "")
            email = f"{local}{i}@example.be"
        affiliate = f"BE{i:07d}" if rng.random() < 0.6 else None
        # Same text as contacts.normalise.search_text (checked by --check).
        text = " " + " ".join(
            p for p in (fold(name), fold(email), fold(affiliate), phone[1:], national) if p
        )
        yield {
            "name": name,
            "affiliate_number": affiliate,
            "phone": phone,
            "phone_valid": True,
            "email": email,
            "language": language,
            "starter": rng.random() < 0.2,
            "sector": rng.choice(SECTORS),
            "name_key": name_key(name),
            "search_text": text,
            "created_at": now,
            "updated_at": now,
        }


COLUMNS = ["name", "affiliate_number", "phone", "phone_valid", "email", "language", "starter",
           "sector", "name_key", "search_text", "created_at", "updated_at"]


def fill(db, n):
    """Insert n generated people as fast as the database allows."""
    from contacts.models import Person

    started = time.perf_counter()
    if db.engine.dialect.name == "postgresql":
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(f"COPY persons ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in generate(n):
                    copy.write_row([row[c] for c in COLUMNS])
            raw.commit()
            cursor.execute("ANALYZE persons")
            raw.commit()
        finally:
            raw.close()
    else:
        batch = []
        for row in generate(n):
            batch.append(row)
            if len(batch) == 10_000:
                db.session.execute(db.insert(Person), batch)
                batch = []
        if batch:
            db.session.execute(db.insert(Person), batch)
        db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    return time.perf_counter() - started


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p
    low, high = int(k), min(int(k) + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (k - low)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50, help="runs per query")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--check", action="store_true",
                        help="check the generated rows against the app's normalisation and stop")
    args = parser.parse_args()
    if args.check:
        from contacts.normalise import search_text

        rows = list(generate(min(args.people, 20_000)))
        bad = [r for r in rows if r["search_text"] != search_text(
            r["name"], r["phone"], r["email"], r["affiliate_number"])]
        print(f"{len(bad)} of {len(rows)} generated rows differ from the app's search text")
        sys.exit(1 if bad else 0)
    if not args.database_url:
        parser.error("set DATABASE_URL or --database-url (use a database of its own)")

    from flask_migrate import upgrade

    from cellule import create_app
    from cellule.extensions import db
    from cellule.models import User
    from contacts.models import Person
    from contacts.search import DEFAULT_LIMIT, search_persons

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade(revision="heads")
        present = db.session.scalar(db.select(db.func.count(Person.id)))
        if present < args.people:
            seconds = fill(db, args.people - present)
            print(f"inserted {args.people - present} people in {seconds:.1f} s")
        user = db.session.scalar(db.select(User).where(User.email == "bench@cellule.invalid"))
        if user is None:
            user = User(email="bench@cellule.invalid", name="Bench", role="advisor",
                        password_hash="!")
            db.session.add(user)
            db.session.commit()
        total = db.session.scalar(db.select(db.func.count(Person.id)))
        print(f"{db.engine.dialect.name}: {total} people; {args.repeat} runs per query, "
              f"limit {DEFAULT_LIMIT + 1}\n")
        print(f"{'query':<28} {'typed':<18} {'hits':>5} {'p50 ms':>8} {'p95 ms':>8}")
        all_times = []
        for label, query in QUERIES:
            search_persons(query, user, DEFAULT_LIMIT + 1)  # warm the caches
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                hits = search_persons(query, user, DEFAULT_LIMIT + 1)
                times.append((time.perf_counter() - started) * 1000)
                db.session.expunge_all()
            all_times += times
            print(f"{label:<28} {query:<18} {len(hits):>5} {percentile(times, .5):>8.2f} "
                  f"{percentile(times, .95):>8.2f}")
        print(f"\n{'all queries':<47} {percentile(all_times, .5):>8.2f} "
              f"{percentile(all_times, .95):>8.2f}")


if __name__ == "__main__":
    main()
