"""Demo people and contacts (run by `flask demo` on a fresh database)."""

from datetime import timedelta

from cellule.demo import seeder
from cellule.types import utcnow

from . import operations

PEOPLE = [
    # name, phone, email, affiliate, language, starter, sector
    ("Bénédicte Lambert", "0475 12 34 56", "benedicte.lambert@example.be", "BE-104233", "fr",
     False, "horeca"),
    ("Pieter Van den Bossche", "+32 486 22 41 07", "pieter@vandenbossche.example", "BE-208871",
     "nl", False, "construction"),
    ("Nathalie Dubois", "02/511 22 33", None, None, "fr", True, "retail"),
    ("Koen Wouters", "09 223 45 67", "koen.wouters@example.be", "BE-310045", "nl", False,
     "liberal_profession"),
    ("Mehdi El Amrani", "0032 470 98 76 54", "mehdi.elamrani@example.be", None, "fr", True,
     "transport"),
    ("Sofie Claes", "0496/55.44.33", None, "BE-400178", "nl", False, "care"),
    ("François Lemaire", "04 222 11 00", "f.lemaire@example.be", None, "fr", False, "craft"),
    ("Annelies De Smet", "0478 33 22 11", "annelies.desmet@example.be", None, "nl", True,
     "creative"),
    ("Jean-Marc Hoste", "après 18 h au bureau", None, None, "fr", False, "agriculture"),
]


@seeder(20)
def seed(users_by_role):
    """Add a few Belgian self-employed people and their contacts."""
    advisor = users_by_role["advisor"][0]
    ambassador = users_by_role["ambassador"][0]
    psychologist = users_by_role["psychologist"][0]
    now = utcnow().replace(second=0, microsecond=0)
    people = {}
    for name, phone, email, affiliate, language, starter, sector in PEOPLE:
        people[name] = operations.create_person(
            advisor, name=name, phone=phone, email=email, affiliate_number=affiliate,
            language=language, starter=starter, sector=sector,
        )
    log = operations.create_contact
    log(advisor, person=people["Bénédicte Lambert"], channel="phone",
        occurred_at=now - timedelta(days=12, hours=3), duration_minutes=25,
        reasons=["finances", "workload"],
        summary="Restaurant à Namur, TVA en retard, travaille 70 h par semaine. "
                "Se sent dépassée mais entourée. Rappel proposé.")
    log(advisor, person=people["Bénédicte Lambert"], channel="phone", direction="out",
        occurred_at=now - timedelta(days=5, hours=1), duration_minutes=15,
        reasons=["finances"],
        summary="Rappel : plan d'apurement accepté, dort mieux.")
    log(advisor, person=people["Pieter Van den Bossche"], channel="phone",
        occurred_at=now - timedelta(days=3, hours=2), duration_minutes=30,
        reasons=["business_failure", "stress", "sleep"],
        summary="Aannemer, grote klant failliet, slaapt slecht, piekert over personeel.")
    log(psychologist, person=people["Koen Wouters"], channel="phone",
        occurred_at=now - timedelta(days=2, hours=4), duration_minutes=45,
        reasons=["health", "workload"],
        summary="Advocaat, burn-out klachten, eerste gesprek.")
    log(advisor, person=people["Nathalie Dubois"], channel="walk_in",
        occurred_at=now - timedelta(days=1, hours=6), duration_minutes=20,
        reasons=["isolation", "administration"],
        summary="Passée au guichet de Liège après un rendez-vous statut social.")
    log(advisor, person=None, channel="phone", occurred_at=now - timedelta(hours=30),
        duration_minutes=10, reasons=["stress"],
        summary="Appel anonyme, indépendante dans le commerce, voulait des infos sur la cellule.")
    log(advisor, person=people["Sofie Claes"], channel="web",
        occurred_at=now - timedelta(hours=20), reasons=["family", "workload"],
        summary="Webformulier: thuisverpleegkundige, combineert zorg voor moeder met werk.")
    # The inbox: an email and two internal referrals, one with a red flag.
    log(None, person=people["Mehdi El Amrani"], channel="email",
        occurred_at=now - timedelta(hours=9), reasons=[],
        summary="",
        email_sender="mehdi.elamrani@example.be",
        email_subject="Demande d'aide - dettes sociales",
        email_body="Bonjour, je suis chauffeur indépendant depuis deux ans et je n'arrive plus "
                   "à payer mes cotisations. Pouvez-vous me rappeler ? Mehdi",
        email_message_id="<demo-1@example.be>", mailbox="INBOX", mailbox_uidvalidity=1,
        mailbox_uid=101)
    operations.create_referral(
        ambassador, name="Marc Janssens", reach="0479 11 22 33",
        noticed="Au téléphone pour ses cotisations, il a dit qu'il voulait en finir, que tout "
                "serait plus simple sans lui. Boulanger à Charleroi.",
        consent=True, language="fr",
    )
    operations.create_referral(
        ambassador, name="Annelies De Smet", reach="annelies.desmet@example.be",
        noticed="Vroeg uitstel van betaling, leek erg moe en alleen.",
        consent=True, language="nl",
    )
