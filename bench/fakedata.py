"""Fake but plausible Belgian people, phone numbers, emails and contact summaries.

Nothing here is real: names are combined from common first names and surnames of
the three language communities, numbers are drawn from Belgian formats (and written
the many ways people say them), summaries are short invented notes. The raw values
go through the application's own normalisation (`contacts.normalise`) before they are
stored, exactly as a person typed into the desk form would.
"""

FIRST_FR = (
    "Marie", "Nathalie", "Isabelle", "Sophie", "Catherine", "Christine", "Anne", "Valérie",
    "Sandrine", "Véronique", "Julie", "Céline", "Aurélie", "Hélène", "Geneviève", "Anaïs",
    "Thérèse", "Chloé", "Léa", "Zoé", "Jean", "Pierre", "Philippe", "Michel", "Alain",
    "Patrick", "Eric", "Olivier", "Christophe", "Laurent", "François", "Frédéric", "Benoît",
    "Jérôme", "Sébastien", "Nicolas", "Julien", "Mehdi", "Karim", "Youssef", "Jean-Marc",
    "Jean-François", "Marie-Claire", "Noël", "Gaëtan", "Cédric", "Stéphane", "Grégory",
)
FIRST_NL = (
    "Maria", "An", "Els", "Inge", "Katrien", "Sofie", "Annelies", "Lies", "Sarah", "Eline",
    "Lotte", "Hanne", "Ine", "Griet", "Veerle", "Nele", "Marleen", "Jan", "Peter", "Koen",
    "Tom", "Bart", "Kris", "Wim", "Dirk", "Luc", "Geert", "Pieter", "Joris", "Stijn",
    "Wouter", "Jeroen", "Thomas", "Jens", "Niels", "Maarten", "Sander", "Bram", "Ruben",
    "Dries", "Jef", "Rik", "Hilde", "Ilse", "Kaat", "Febe", "Wannes", "Seppe",
)
FIRST_DE = ("Jürgen", "Günter", "Ursula", "Jörg", "Brigitte", "Matthias", "Stefan", "Monika")
LAST_FR = (
    "Dubois", "Lambert", "Martin", "Dupont", "Simon", "Laurent", "Lejeune", "Renard",
    "Leclercq", "Lefèbvre", "Mathieu", "Collard", "Denis", "François", "Lemaire", "Lemaître",
    "Dumont", "Gérard", "Michel", "Fontaine", "Henrard", "Delvaux", "Pirard", "Hoste",
    "Bodart", "Gilson", "Wathelet", "Noël", "Marchal", "Hubert", "Jacquet", "Servais", "Thiry",
    "Rousseau", "Bertrand", "Colin", "Masson", "Gillet", "Warnier", "Benali", "Ouali", "Rossi",
    "Lopez", "Kowalski", "Nguyen", "Dujardin", "Lecomte", "Lebrun", "Lefort", "Charlier",
    "Dethier", "Lallemand", "Piron", "Hennebert", "Goffin", "Delhaye", "Delcourt", "Dupuis",
    "Duchêne", "Mercier", "Moreau", "Petit", "Leroy", "Roux", "Vincent", "Fournier", "Girard",
    "Bonnet", "André", "Lemoine", "Leblanc", "Guillaume", "Legrand", "Lacroix", "Baudoux",
    "Chapelle", "Dessy", "Gobert", "Hardy", "Jadot", "Jacob", "Léonard", "Lorent", "Maréchal",
    "Monfort", "Nicolas", "Pierre", "Poncelet", "Raskin", "Remacle", "Rigaux", "Schmit",
    "Stassart", "Thonon", "Toussaint", "Vandenbroucke", "Vanderlinden", "Wilmotte", "Wéry",
    "Xhonneux", "Yerna", "Zanetti", "Absil", "Anciaux", "Bastin", "Beckers", "Bernard",
    "Bouchat", "Bruyère", "Burton", "Closset", "Cornet", "Crucifix", "Demoulin", "Derenne",
    "Detry", "Dewez", "Englebert", "Fabry", "Gaspard", "Grandjean", "Herman", "Hubin",
    "Huberty", "Kaiser", "Lahaye", "Liégeois", "Louis", "Marlier", "Minet", "Mottet", "Navez",
    "Olivier", "Paquet", "Quinet", "Rasquin", "Sacré", "Simonis", "Tilmant", "Urbain",
    "Vanhove", "Wauthier", "Bouazza", "Chaouki", "Haddad", "Mansouri", "Amrani", "Ferreira",
    "Da Silva", "Santos", "Pereira", "Russo", "Romano", "Esposito", "Bianchi", "Nowak",
    "Wiśniewski", "Popescu", "Yılmaz", "Demir",
)
LAST_NL = (
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
    "Wouters", "De Smet", "Vermeulen", "Hermans", "Smets", "Van Damme", "De Clercq", "Desmet",
    "Aerts", "Michiels", "Verstraete", "Pauwels", "Van de Velde", "De Backer", "Segers",
    "Coppens", "Stevens", "Verhoeven", "Lambrechts", "De Vos", "Martens", "Cools", "Van Hecke",
    "Bogaert", "Van Acker", "De Meyer", "Vandenberghe", "Declercq", "Verbeke", "Claeys",
    "Van Loo", "De Wilde", "Geerts", "Dewulf", "Baert", "Verschueren", "Sterckx", "Van Gorp",
    "Wuyts", "Dumon", "Leemans", "Moens", "Thys", "Hendrickx", "Vermeiren", "Lemmens",
    "Verlinden", "Bosmans", "Vanhoutte", "Deprez", "Cuypers", "Wijns", "Pieters", "Roels",
    "Verheyen", "Huysmans", "Vandamme", "Devos", "Vervoort", "Boeckx", "Buys", "Cornelis",
    "Daems", "Dierckx", "Engelen", "Francken", "Gielen", "Heylen", "Janssen", "Kerckhofs",
    "Laenen", "Mees", "Nijs", "Op de Beeck", "Peetermans", "Quintens", "Raes",
    "Schepers", "Slegers", "Timmermans", "Uyttendaele", "Vandevelde", "Vanhoof", "Verbruggen",
    "Vercammen", "Verhaegen", "Vlaeminck", "Wauters", "Willaert", "Anthonis", "Bauwens",
    "Beerten", "Bruggeman", "Callens", "Casteels", "Coene", "Coussement", "Dauwe", "Debruyne",
    "Decock", "Degroote", "Dehaene", "Dejonghe", "Delanghe", "Demeester", "Depoorter",
    "Desmedt", "Devriendt", "Dhondt", "Eeckhout", "Everaert", "Goethals", "Goris", "Haesaert",
    "Hoste", "Lauwers", "Lievens", "Mortier", "Naessens", "Noppe", "Pattyn", "Provoost",
    "Rombaut", "Sabbe", "Schoonjans", "Seghers", "Soenens", "Tack", "Tanghe", "Temmerman",
    "Vanacker", "Vanneste", "Vandecasteele", "Vandenbussche", "Vanlerberghe", "Verhelst",
    "Vermeersch", "Verstraeten", "Vinck", "Wyffels",
)
LAST_DE = ("Schmitz", "Müller", "Kohnen", "Heinen", "Lentz", "Cremer", "Pankert", "Jost")

MAIL_DOMAINS = (
    "gmail.com", "skynet.be", "telenet.be", "proximus.be", "outlook.com", "hotmail.com",
    "yahoo.fr", "voo.be", "scarlet.be", "icloud.com", "live.be",
)
# Area codes of fixed lines (with the trunk 0) and mobile prefixes.
AREA = ("02", "03", "04", "09", "010", "011", "013", "014", "015", "016", "019", "050",
        "051", "053", "056", "057", "058", "059", "060", "061", "063", "064", "065", "067",
        "069", "071", "080", "081", "082", "083", "084", "085", "086", "087", "089")
MOBILE = ("0470", "0471", "0472", "0473", "0474", "0475", "0476", "0477", "0478", "0479",
          "0484", "0485", "0486", "0487", "0488", "0489", "0491", "0492", "0493", "0494",
          "0495", "0496", "0497", "0498", "0499", "0456", "0460", "0465", "0466", "0467")
UNPARSEABLE_PHONES = (
    "après 18 h au bureau", "via sa fille", "na 17u", "GSM kapot, mail liever",
    "rappeler demain matin", "nummer volgt",
)

SUMMARIES = {
    "fr": (
        "Restaurateur, TVA en retard, travaille 70 h par semaine. Se sent dépassé.",
        "Indépendante dans le commerce, loyer impayé, dort mal depuis des semaines.",
        "Agriculteur, sécheresse, perte de revenus, isolement important.",
        "Infirmière à domicile, combine soins à sa mère et travail, épuisée.",
        "Chauffeur indépendant, cotisations sociales impayées, demande un plan d'apurement.",
        "Coiffeuse, client important parti, inquiète pour l'avenir du salon.",
        "Architecte, burn-out probable, arrêt de travail envisagé.",
        "Appel pour des informations sur la cellule et le droit passerelle.",
        "Rappel : plan d'apurement accepté, dort mieux, se sent soutenu.",
        "Boulanger, faillite d'un fournisseur, doit licencier un employé.",
        "Demande de dispense de cotisations, beaucoup de stress administratif.",
        "Graphiste, isolement, plus de contact avec ses anciens collègues.",
    ),
    "nl": (
        "Aannemer, grote klant failliet, slaapt slecht, piekert over personeel.",
        "Advocaat, burn-out klachten, eerste gesprek.",
        "Thuisverpleegkundige, combineert zorg voor moeder met werk.",
        "Kapster, zaak loopt slecht, achterstand sociale bijdragen.",
        "Landbouwer, oogst mislukt, voelt zich alleen op de boerderij.",
        "Vraagt info over overbruggingsrecht en vrijstelling van bijdragen.",
        "Schrijnwerker, werkt 80 uur per week, gezin lijdt eronder.",
        "Terugbelgesprek: afbetalingsplan loopt, voelt zich beter.",
        "Fotograaf, opdrachten weggevallen, financiële zorgen.",
        "Webformulier: zelfstandige in de horeca, vraagt om teruggebeld te worden.",
    ),
    "de": (
        "Landwirt, Ernte verloren, fühlt sich allein.",
        "Friseurin, hohe Schulden, schläft schlecht.",
    ),
    "en": (
        "Freelance developer, lost main client, anxious about paying contributions.",
        "Asked for information about the listening cell.",
    ),
}
# Summaries with a red-flag phrase (about 2 % of contacts).
RED_FLAG_SUMMARIES = {
    "fr": ("Il dit qu'il veut en finir, que tout serait plus simple sans lui.",
           "Elle ne voit plus d'issue et pense à mettre fin à ses jours."),
    "nl": ("Hij zegt dat hij er een einde aan wil maken.",
           "Ze ziet het niet meer zitten en denkt aan zelfmoord."),
    "de": ("Er sagt, er will nicht mehr leben.",),
    "en": ("Says she feels hopeless and wants to end it all.",),
}
RED_FLAG_SHARE = 0.02
NOTES = (
    "Premier entretien fait, rappel dans une semaine.",
    "Eerste gesprek gevoerd, volgt afbetalingsplan op.",
    "Orientation vers le partenaire coaching acceptée.",
    "Persoon bereikt, voelt zich gesteund.",
    "Situation stabilisée, clôture proposée.",
    "Pas joignable, message laissé.",
)
EMAIL_SUBJECTS = (
    "Demande d'aide - dettes sociales", "Vraag om hulp", "Besoin de parler à quelqu'un",
    "Uitstel van betaling", "Question sur le droit passerelle", "Hulp gevraagd",
)
