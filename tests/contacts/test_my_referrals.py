"""Ambassadors follow their referrals (issue 18): a list of the people they referred, newest
first, with where each stands — received, or taken up by the cell — and nothing else."""

from cellule.extensions import db
from contacts import operations
from contacts.models import Contact


def _english(client):
    client.post_form("/language", {"language": "en"})


def test_an_ambassador_lists_their_own_referrals_with_a_status(client, login_as, make_user):
    other = make_user("ambassador")
    operations.create_referral(other, name="Someone Else", reach="0476 99 88 77")
    ambassador = login_as("ambassador")
    _english(client)
    first = operations.create_referral(ambassador, name="Marc Dubois", reach="0475 11 22 33",
                                       noticed="Il a parlé d'en finir.")
    second = operations.create_referral(ambassador, name="Anne Peeters",
                                        reach="anne@example.be", noticed="Épuisée.")
    db.session.commit()
    advisor = make_user("advisor")
    operations.mark_handled(db.session.get(Contact, first.id), advisor)
    db.session.commit()
    html = client.get("/referrals").get_data(as_text=True)
    assert html.index("Anne Peeters") < html.index("Marc Dubois")  # newest first
    assert "Someone Else" not in html
    marc = html.split("Marc Dubois")[1].split("</tr>")[0]
    anne = html.split("Anne Peeters")[1].split("</tr>")[0]
    assert "Taken up by the cell" in marc and "Received, waiting for an advisor" in anne
    # No clinical detail: not even their own note's words on the list.
    assert "en finir" not in html
    home = client.get("/").get_data(as_text=True)
    assert 'href="/referrals"' in home and "Anne Peeters" in home
    assert f'href="/contacts/{second.id}"' in home


def test_only_ambassadors_have_the_list(client, login_as):
    login_as("advisor")
    assert client.get("/referrals").status_code == 403


def test_the_navigation_is_grouped_and_each_group_is_a_menu(client, login_as):
    login_as("supervisor")
    _english(client)
    html = client.get("/").get_data(as_text=True)
    nav = html.split('<nav aria-label="Main navigation"')[1].split("</nav>")[0]
    assert nav.count("<details>") == 3 and "<summary>Work</summary>" in nav
    assert 'aria-expanded="false" aria-controls="nav-list"' in nav
    assert 'href="/contacts/new" data-shortcut-key="n"' in nav
    assert 'href="/board"' in nav.split("<summary>Team</summary>")[1].split("</details>")[0]
