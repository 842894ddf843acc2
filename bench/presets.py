"""Dataset sizes of the benchmark, and the answer sets that give each triage level."""

from dataclasses import dataclass, field

# Triage answer sets whose proposal is each level (the cellule-triage v1 script).
from triage.examples import LEVEL_ANSWERS  # noqa: F401  (bench.generate, bench.loadrun)


@dataclass(frozen=True)
class Preset:
    name: str
    cases: int  # cases opened through triage (anonymous ones come on top, ~0.2 %)
    persons: int
    contacts: int
    span_days: int  # how far back the history goes
    open_fraction: float  # share of cases still open today
    users: dict = field(default_factory=dict)
    block: int = 20_000  # persons generated (and committed) together


PRESETS = {
    # Aselo HRM's published figures were measured with 200 cases.
    "200": Preset(
        "200", cases=200, persons=372, contacts=860, span_days=60, open_fraction=0.4,
        users={"admin": 1, "supervisor": 3, "psychologist": 4, "advisor": 8, "ambassador": 6},
        block=372,
    ),
    "10k": Preset(
        "10k", cases=10_000, persons=18_600, contacts=43_000, span_days=365,
        open_fraction=0.1,
        users={"admin": 2, "supervisor": 4, "psychologist": 12, "advisor": 30,
               "ambassador": 40},
        block=5_000,
    ),
    # DESIGN §8 / issue 9: 1.3 M people, 3 M contacts, 700 k cases (most closed),
    # 1.5 M tasks, audit rows. Open cases ~1.5 % (a month of work in the queues).
    "national": Preset(
        "national", cases=700_000, persons=1_300_000, contacts=3_000_000, span_days=6 * 365,
        open_fraction=0.015,
        users={"admin": 4, "supervisor": 12, "psychologist": 60, "advisor": 140,
               "ambassador": 300},
        block=20_000,
    ),
}

