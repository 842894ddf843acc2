"""Shared fixtures for the pure triage tests (no app, no database)."""

import pytest

from triage import BusinessCalendar, get_script


@pytest.fixture(scope="session")
def script():
    """Return the shipped cellule-triage definition."""
    return get_script("cellule-triage", 1)


@pytest.fixture(scope="session")
def calendar():
    """Return the default calendar (Mon-Fri 08:30-17:00, Brussels, BE holidays)."""
    return BusinessCalendar()
