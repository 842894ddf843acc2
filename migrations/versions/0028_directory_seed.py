"""issue 20 — the directory seeded with Belgian crisis lines and partners (gaps19)

A fresh database holds the crisis lines (fr, nl, de; 112) and the partners that issue 20
names (DESIGN §10 "Directory"); administrators edit them afterwards. An entry is inserted only
when no resource of its name exists, so a database that has them (typed by an administrator,
or the demo's) keeps its own. The data is frozen here: later edits of the code's lists do not
change what this revision wrote. The downgrade removes nothing (an administrator may have
edited or referred people to these entries).

Revision ID: 0028
Revises: 0027

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


resources = sa.table(
    "resources",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("kind", sa.String),
    sa.column("phone", sa.String),
    sa.column("url", sa.String),
    sa.column("languages", sa.JSON),
    sa.column("hours", sa.String),
    sa.column("price_cents", sa.Integer),
    sa.column("cost", sa.String),
    sa.column("descriptions", sa.JSON),
    sa.column("active", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def _entry(name, kind, languages, descriptions, phone=None, url=None, hours=None,
           price_cents=None, cost=None):
    return dict(name=name, kind=kind, phone=phone, url=url, languages=languages, hours=hours,
                price_cents=price_cents, cost=cost, descriptions=descriptions)


SEED = [
    # --- crisis lines, 24/7 -------------------------------------------------------------
    _entry("Centre de Prévention du Suicide", "crisis_line", ["fr"], phone="0800 32 123",
           url="https://www.preventionsuicide.be", hours="24/7", descriptions={
               "fr": "Ligne d'écoute gratuite et anonyme pour les personnes qui pensent au"
                     " suicide et leurs proches, 24 h/24.",
               "nl": "Gratis en anonieme zelfmoordpreventielijn in het Frans, dag en nacht.",
               "de": "Kostenlose und anonyme Suizidpräventionslinie auf Französisch, Tag und"
                     " Nacht.",
               "en": "Free, anonymous suicide prevention line in French, 24/7."}),
    _entry("Zelfmoordlijn 1813", "crisis_line", ["nl"], phone="1813",
           url="https://www.zelfmoord1813.be", hours="24/7", descriptions={
               "fr": "Ligne de prévention du suicide en néerlandais, gratuite et anonyme,"
                     " 24 h/24 (chat aussi).",
               "nl": "Gratis en anonieme hulplijn voor wie aan zelfmoord denkt en hun"
                     " naasten, dag en nacht, ook via chat.",
               "de": "Kostenlose und anonyme Suizidpräventionslinie auf Niederländisch, Tag"
                     " und Nacht, auch per Chat.",
               "en": "Free, anonymous suicide prevention line in Dutch, 24/7, chat too."}),
    _entry("Télé-Accueil 107", "crisis_line", ["fr"], phone="107",
           url="https://www.tele-accueil.be", hours="24/7", descriptions={
               "fr": "Écoute gratuite et anonyme pour toute personne en difficulté, 24 h/24.",
               "nl": "Gratis en anonieme luisterlijn in het Frans, dag en nacht.",
               "de": "Kostenloses und anonymes Zuhören auf Französisch, Tag und Nacht.",
               "en": "Free, anonymous listening line in French, 24/7."}),
    _entry("Tele-Onthaal 106", "crisis_line", ["nl"], phone="106",
           url="https://www.tele-onthaal.be", hours="24/7", descriptions={
               "fr": "Écoute gratuite et anonyme en néerlandais, 24 h/24.",
               "nl": "Gratis en anoniem praten over wat je bezighoudt, dag en nacht.",
               "de": "Kostenloses und anonymes Zuhören auf Niederländisch, Tag und Nacht.",
               "en": "Free, anonymous listening line in Dutch, 24/7."}),
    _entry("Telefonhilfe 108", "crisis_line", ["de"], phone="108",
           url="https://www.telefonhilfe.be", hours="24/7", descriptions={
               "fr": "Ligne d'écoute gratuite et anonyme en allemand (Belgique de l'Est),"
                     " 24 h/24.",
               "nl": "Gratis en anonieme hulplijn in het Duits (Oost-België), dag en nacht.",
               "de": "Kostenlose und anonyme Telefonhilfe in Ostbelgien, Tag und Nacht.",
               "en": "Free, anonymous helpline in German (East Belgium), 24/7."}),
    _entry("Urgences 112", "crisis_line", ["fr", "nl", "de", "en"], phone="112",
           hours="24/7", descriptions={
               "fr": "Danger immédiat pour la vie : ambulance et police.",
               "nl": "Acuut levensgevaar: ziekenwagen en politie.",
               "de": "Unmittelbare Lebensgefahr: Rettungsdienst und Polizei.",
               "en": "Immediate danger to life: ambulance and police."}),
    # --- partners ------------------------------------------------------------------------
    _entry("Un pass dans l'impasse", "external_specialist", ["fr"],
           url="https://www.unpassdanslimpasse.be", price_cents=0,
           cost="8 séances", descriptions={
               "fr": "Accompagnement psychologique des indépendants en difficulté : huit"
                     " séances gratuites.",
               "nl": "Psychologische begeleiding van zelfstandigen in moeilijkheden, in het"
                     " Frans: acht gratis sessies.",
               "de": "Psychologische Begleitung für Selbständige in Schwierigkeiten, auf"
                     " Französisch: acht kostenlose Sitzungen.",
               "en": "Psychological support for self-employed people in difficulty, in"
                     " French: eight free sessions."}),
    _entry("Soins psychologiques de première ligne", "external_specialist",
           ["fr", "nl", "de"], url="https://www.inami.fgov.be", price_cents=1100,
           cost="4 € avec intervention majorée ; première séance gratuite", descriptions={
               "fr": "Psychologues conventionnés de première ligne des réseaux de santé"
                     " mentale : 11 € la séance, 4 € avec l'intervention majorée, la"
                     " première séance gratuite.",
               "nl": "Eerstelijnspsychologische zorg via de netwerken geestelijke"
                     " gezondheid: 11 € per sessie, 4 € met verhoogde tegemoetkoming, de"
                     " eerste sessie gratis.",
               "de": "Psychologische Versorgung der ersten Linie über die Netzwerke für"
                     " psychische Gesundheit: 11 € pro Sitzung, 4 € mit erhöhter"
                     " Kostenbeteiligung, die erste Sitzung kostenlos.",
               "en": "First-line psychological care through the mental health networks:"
                     " 11 € a session, 4 € with preferential cover, the first session"
                     " free."}),
    _entry("Huis van de Veerkracht", "external_specialist", ["nl"], descriptions={
               "fr": "Soutien à la résilience et au bien-être mental (en néerlandais).",
               "nl": "Ondersteuning van veerkracht en mentaal welzijn.",
               "de": "Unterstützung von Resilienz und psychischem Wohlbefinden (auf"
                     " Niederländisch).",
               "en": "Support for resilience and mental well-being (in Dutch)."}),
    _entry("Dyzo", "coaching_partner", ["nl"], url="https://www.dyzo.be", price_cents=0,
           descriptions={
               "fr": "Accompagnement gratuit des indépendants en difficulté (en"
                     " néerlandais).",
               "nl": "Gratis begeleiding van zelfstandigen en ondernemers in moeilijkheden.",
               "de": "Kostenlose Begleitung von Selbständigen in Schwierigkeiten (auf"
                     " Niederländisch).",
               "en": "Free support for self-employed people in difficulty (in Dutch)."}),
]


def upgrade():
    conn = op.get_bind()
    existing = set(conn.execute(sa.select(resources.c.name)).scalars())
    now = datetime.now(UTC)
    if conn.dialect.name == "sqlite":  # naive UTC text there, as cellule.types stores it
        now = now.replace(tzinfo=None)
    rows = [{**entry, "active": True, "created_at": now, "updated_at": now}
            for entry in SEED if entry["name"] not in existing]
    if rows:
        op.bulk_insert(resources, rows)


def downgrade():
    pass  # data: the entries stay (edited or referred to since, perhaps)
