"""Fixtures of the security tests."""

import re

import pyotp
import pytest

from cellule.extensions import db
from cellule.models import User
from tests.conftest import PASSWORD, TOTP_SECRET, current_totp_code

__all__ = ["PASSWORD", "TOTP_SECRET", "current_totp_code", "page_text", "secret_on_page"]


def page_text(response):
    return response.get_data(as_text=True)


def secret_on_page(response):
    """The TOTP key shown on an enrolment page (spaces removed)."""
    match = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page_text(response))
    assert match, "no TOTP key on the page"
    return match.group(1).replace(" ", "")


def code_for(secret, offset_steps=0):
    totp = pyotp.TOTP(secret)
    import time

    return totp.at(time.time() + offset_steps * 30)


@pytest.fixture
def english(client):
    """Switch the interface to English for text assertions."""
    client.post_form("/language", {"language": "en"})
    return client


def reload(user):
    return db.session.get(User, user.id)
