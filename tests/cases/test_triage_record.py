"""What the triage screens say (issue 18): the record in one language, a hang-up said as
one, the proposal showing only what its route can use and the open case on top, the crisis
panel's lines from the resource directory, open cases in the search results."""

import re

from sqlalchemy import select

from cases.models import Resource, TriageRun
from cellule.extensions import db

from .conftest import LEVEL_ANSWERS
from .test_triage_screen import _walk


def _english(client):
    client.post_form("/language", {"language": "en"})


def _latest_run():
    db.session.expire_all()
    return db.session.scalars(select(TriageRun).order_by(TriageRun.id.desc())).first()


def _line(name, languages, phone="107", hours="24/7"):
    resource = Resource(name=name, kind="crisis_line", phone=phone, languages=languages,
                        hours=hours, descriptions={"en": f"{name}, in English."})
    db.session.add(resource)
    db.session.commit()
    return resource


def _searchable(user, name, language="fr"):
    from contacts import operations

    person = operations.create_person(user, name=name, language=language)
    db.session.commit()
    return person


# --------------------------------------------------------------------------- the record


def test_a_hang_up_record_says_who_recorded_it_not_a_confirmation(client, login_as,
                                                                   make_contact):
    advisor = login_as("advisor", name="Bram Conseiller")
    _english(client)
    contact = make_contact(advisor)
    client.post_form(f"/contacts/{contact.id}/triage", {
        "cssrs_1_wish_dead": "yes", "cssrs_2_thoughts": "no", "action": "hangup"})
    run = _latest_run()
    html = client.get(f"/triage/runs/{run.id}").get_data(as_text=True)
    assert "Proposal confirmed" not in html
    recorded = re.search(r'<dd id="hangup-recorded">(.*?)</dd>', html, re.S).group(1)
    assert "Bram Conseiller" in recorded and re.search(r"\d", recorded)  # who, and when
    # The state says "incomplete" once, not also as a badge beside it.
    assert html.count("Incomplete (person hung up)") == 1
    assert 'badge badge-flag">incomplete' not in html


def test_the_record_reads_in_the_ui_language_reasons_and_answers(client, login_as, triage):
    advisor = login_as("advisor")
    _english(client)
    run, _case = triage("serious", user=advisor)  # a French-speaking person's run
    html = client.get(f"/triage/runs/{run.id}").get_data(as_text=True)
    reasons = html[html.index('class="reasons"'):html.index("</ul>", html.index('class="reasons"'))]
    assert "Columbia screener" in reasons and "Dépistage Columbia" not in reasons
    assert 'lang="fr"' not in reasons
    answers = html[html.index('class="answers"'):]
    assert "Have you wished you were dead" in answers and "Avez-vous" not in answers
    # Back in French, both are French.
    client.post_form("/language", {"language": "fr"})
    html = client.get(f"/triage/runs/{run.id}").get_data(as_text=True)
    assert "Dépistage Columbia" in html and "Columbia screener" not in html


def test_the_record_lists_answers_as_question_answer_pairs(client, login_as, triage):
    advisor = login_as("advisor")
    _english(client)
    run, _case = triage("serious", user=advisor)
    html = client.get(f"/triage/runs/{run.id}").get_data(as_text=True)
    assert html.count('<div class="answer') == len(LEVEL_ANSWERS["serious"])
    # The safety "yes" stands out.
    assert re.search(r'class="answer answer-flagged">\s*<dt[^>]*>Have you wished', html)


# --------------------------------------------------------------------------- the proposal


def test_the_crisis_proposal_shows_only_what_a_crisis_route_uses(client, login_as,
                                                                   make_contact, resources):
    advisor = login_as("advisor")
    _english(client)
    run, _response = _walk(client, make_contact(advisor), LEVEL_ANSWERS["imminent"])
    html = client.get(f"/triage/runs/{run.id}?step=proposal").get_data(as_text=True)
    assert "badge-imminent" in html and "crisis-panel" in html
    assert "coaching_resource_id" not in html and "Coaching partner" not in html
    assert "open_case_anyway" not in html
    assert 'name="info_resource_ids"' not in html


def test_the_information_proposal_keeps_its_options(client, login_as, make_contact, resources):
    advisor = login_as("advisor")
    _english(client)
    run, _response = _walk(client, make_contact(advisor), LEVEL_ANSWERS["low"])
    html = client.get(f"/triage/runs/{run.id}?step=proposal").get_data(as_text=True)
    assert 'name="open_case_anyway"' in html and 'name="coaching_resource_id"' in html
    run, _response = _walk(client, make_contact(advisor), LEVEL_ANSWERS["elevated"])
    html = client.get(f"/triage/runs/{run.id}?step=proposal").get_data(as_text=True)
    assert "open_case_anyway" not in html and "coaching_resource_id" not in html


def test_an_open_case_is_said_at_the_top_of_the_proposal(client, login_as, make_contact,
                                                          triage):
    advisor = login_as("advisor")
    _english(client)
    first, case = triage("serious", user=advisor)
    contact = make_contact(advisor, person=first.person)
    run, _response = _walk(client, contact, LEVEL_ANSWERS["elevated"])
    html = client.get(f"/triage/runs/{run.id}?step=proposal").get_data(as_text=True)
    notice = html.index('id="open-case-notice"')
    decision = html.index(f'action="/triage/runs/{run.id}/decide"')
    assert notice < html.index('class="card proposal"') < decision
    assert case.reference in html[notice:html.index("</p>", notice)]


# --------------------------------------------------------------------------- crisis panel


def _crisis_panel(client, contact):
    response = client.htmx("POST", f"/contacts/{contact.id}/triage/live",
                           {"section": "safety", "cssrs_1_wish_dead": "yes"},
                           headers={"HX-Target": "triage-live"})
    html = response.get_data(as_text=True)
    return html[html.index('id="crisis-panel"'):]


def test_the_crisis_panel_takes_its_lines_from_the_directory(client, login_as, make_contact,
                                                            make_person, resources):
    advisor = login_as("advisor")
    _english(client)
    _line("Télé-Accueil", ["fr"], phone="107", hours="24/7")
    _line("Tele-Onthaal", ["nl"], phone="106")
    panel = _crisis_panel(client, make_contact(advisor))
    assert "107" in panel and "Télé-Accueil" in panel and "0800 32 123" in panel
    assert "106" not in panel and "1813" not in panel
    assert panel.index("107") < panel.index("Urgences 112")  # 112 last
    # An inactive line is not offered.
    db.session.execute(db.update(Resource).where(Resource.name == "Télé-Accueil")
                       .values(active=False))
    db.session.commit()
    assert "Télé-Accueil" not in _crisis_panel(client, make_contact(advisor))


def test_without_a_directory_line_the_script_is_the_fallback(client, login_as, make_contact,
                                                            make_person):
    advisor = login_as("advisor")
    _english(client)
    _line("Tele-Onthaal", ["nl"], phone="106")
    panel = _crisis_panel(client, make_contact(advisor))  # no French line in the directory
    assert "0800 32 123" in panel and "112" in panel and "106" not in panel
    dutch = make_person(created_by=advisor, language="nl")
    panel = _crisis_panel(client, make_contact(advisor, person=dutch))
    assert "106" in panel and "1813" not in panel  # the directory's line replaces the script's
    assert "112" in panel  # the emergency number always


def test_each_section_exposes_its_next_button_for_the_shortcut(client, login_as, make_contact):
    advisor = login_as("advisor")
    html = client.get(f"/contacts/{make_contact(advisor).id}/triage").get_data(as_text=True)
    assert re.search(r'<button type="submit" name="action" value="next" '
                     r'data-shortcut="next">', html)


# --------------------------------------------------------------------------- search


def test_search_results_show_each_open_case(client, login_as, triage, make_contact):
    advisor = login_as("advisor")
    _english(client)
    followed = _searchable(advisor, "Lambert Suivi")
    _searchable(advisor, "Lambert Libre")
    run, case = triage("serious", user=advisor, contact=make_contact(advisor, person=followed))
    response = client.htmx("POST", "/people/search", {"q": "lambert", "mode": "people"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count('class="open-case-note"') == 1
    item = html[html.index("Lambert Suivi"):]
    item = item[:item.index("</li>")]
    assert case.reference in item and "badge-serious" in item
    assert f'href="/cases/{case.id}"' in item


def test_an_ambassador_sees_only_the_open_cases_they_opened(client, login_as, make_user,
                                                            triage, make_contact):
    ambassador = login_as("ambassador")
    advisor = make_user("advisor")
    mine = _searchable(ambassador, "Dupont Mine")
    _run, case = triage("serious", user=ambassador, contact=make_contact(ambassador, person=mine))
    other = _searchable(advisor, "Dupont Autre")
    _run, hidden = triage("serious", user=advisor, contact=make_contact(advisor, person=other))
    html = client.htmx("POST", "/people/search", {"q": "dupont", "mode": "people"}).get_data(
        as_text=True)
    assert case.reference in html and hidden.reference not in html


def test_the_person_page_says_the_open_case_on_top(client, login_as, triage, make_contact):
    advisor = login_as("advisor")
    _english(client)
    person = _searchable(advisor, "Anne Suivie")
    _run, case = triage("high", user=advisor, contact=make_contact(advisor, person=person))
    html = client.get(f"/people/{person.id}").get_data(as_text=True)
    banner = html.index('class="flash open-case-banner"')
    assert banner < html.index('id="facts-title"')
    assert case.reference in html[banner:html.index("</div>", banner)]
