"""The users list says "Never" for someone who never signed in, not a blank (issue 18), in
the administrator's language; the others show when they last did."""

import re

import pytest
from flask_babel import force_locale, gettext


def _sign_in_cell(html, user):
    row = re.search(rf'<tr id="user-{user.id}">(.*?)</tr>', html, re.S).group(1)
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[4].strip()  # name, email, role, 2FA


@pytest.mark.parametrize("language", ["en", "fr", "nl", "de"])
def test_a_user_who_never_signed_in_reads_never(client, login_as, make_user, language):
    admin = login_as("admin", name="Ada Admin")
    newcomer = make_user("advisor", name="Nora Nouvelle")
    client.post_form("/language", {"language": language})
    html = client.get("/admin/users/").get_data(as_text=True)
    with force_locale(language):
        never = gettext("Never")
    cell = _sign_in_cell(html, newcomer)
    assert cell == f'<span class="muted">{never}</span>'
    if language == "en":
        assert never == "Never"
    signed_in = _sign_in_cell(html, admin)
    assert signed_in.strip() and never not in signed_in  # the admin's own sign-in, dated
