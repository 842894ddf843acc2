"""Hypothesis settings shared by the fuzz tests (test_api_fuzz, test_form_fuzz)."""

import os

from hypothesis import Phase, seed, settings

# Unset: the same examples on every run, so that a run compares with the last and a failure
# comes back on the next run. A number: other examples, from that seed (to explore).
FUZZ_SEED = os.environ.get("CELLULE_FUZZ_SEED")


def fuzz_settings(test, **options):
    """`test` (a @given function) with the suite's fuzz settings and `options`: derandomised
    unless `CELLULE_FUZZ_SEED` is set, no deadline, no example database, no shrinking (each
    example is a request or several; the failure message shows the data)."""
    test = settings(
        deadline=None,
        database=None,
        derandomize=FUZZ_SEED is None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        report_multiple_bugs=False,
        **options,
    )(test)
    return seed(int(FUZZ_SEED))(test) if FUZZ_SEED is not None else test
