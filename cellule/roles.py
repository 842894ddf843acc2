"""The roles and the groups of roles that rules name (DESIGN §1): the one place they live.

Constants only, importing nothing, so that models, audit and permissions all read them
without a cycle. A domain gives a group a name of its own where that reads better (e.g.
`contacts.access.PEOPLE_ROLES = CASEWORK`), never a list of its own.
"""

AMBASSADOR = "ambassador"
ADVISOR = "advisor"
PSYCHOLOGIST = "psychologist"
SUPERVISOR = "supervisor"
ADMIN = "admin"
ROLES = (AMBASSADOR, ADVISOR, PSYCHOLOGIST, SUPERVISOR, ADMIN)

# Who works with people, contacts and triage at all (admins never see case content).
CASEWORK = (AMBASSADOR, ADVISOR, PSYCHOLOGIST, SUPERVISOR)
# The cell's professionals: every contact and case, writing to people.
STAFF = (ADVISOR, PSYCHOLOGIST, SUPERVISOR)
# Who works the email inbox and merges records of one person.
DESK = (ADVISOR, SUPERVISOR)
# The sensitive roles: granting one waits for a supervisor's approval (four eyes).
SENSITIVE = (PSYCHOLOGIST, SUPERVISOR)
# Who sees that clinical notes exist (their body: psychologists only).
CLINICAL_META = (PSYCHOLOGIST, SUPERVISOR)
# Who must sign in with a second factor.
SECOND_FACTOR = (PSYCHOLOGIST, SUPERVISOR, ADMIN)
# Who oversees the system: background-work banner, data-subject rights.
OVERSIGHT = (SUPERVISOR, ADMIN)
