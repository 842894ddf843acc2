"""The crisis lines come from the resource directory wherever they are given (issue 18): the
crisis panel, the JSON API's triage answers and the reply templates' `{crisis_numbers}` —
the directory's active lines for the person's language, the script only as a fallback, the
emergency number last."""

from cases.models import Resource
from cellule.extensions import db

from .conftest import LEVEL_ANSWERS


def _line(name, languages, phone, hours="24/7", active=True):
    db.session.add(Resource(name=name, kind="crisis_line", phone=phone, languages=languages,
                            hours=hours, active=active,
                            descriptions={"fr": f"{name}, en français."}))
    db.session.commit()


def _phones(lines):
    return [line["phone"] for line in lines]


def test_the_evaluation_api_gives_the_directorys_lines_then_112(api_client):
    _line("Télé-Accueil", ["fr"], "107")
    _line("Tele-Onthaal", ["nl"], "106")
    _line("Ancienne ligne", ["fr"], "105", active=False)
    client, _user = api_client("advisor")
    response = client.post("/api/v1/triage/evaluate", json={
        "language": "fr", "answers": LEVEL_ANSWERS["serious"]})
    lines = response.get_json()["crisis_resources"]
    assert _phones(lines) == ["107", "112"]  # not the script's 0800 32 123, not Dutch
    assert lines[0] == {"name": "Télé-Accueil", "phone": "107", "language": "fr",
                        "description": "Télé-Accueil, en français.", "hours": "24/7"}


def test_the_evaluation_api_falls_back_on_the_script_without_a_directory_line(api_client):
    _line("Tele-Onthaal", ["nl"], "106")
    client, _user = api_client("advisor")
    response = client.post("/api/v1/triage/evaluate", json={
        "language": "de", "answers": LEVEL_ANSWERS["serious"]})
    assert _phones(response.get_json()["crisis_resources"]) == ["108", "112"]
    low = client.post("/api/v1/triage/evaluate", json={"answers": LEVEL_ANSWERS["low"]})
    assert low.get_json()["crisis_resources"] == []  # no crisis, no lines


def test_a_contacts_triage_answers_with_the_directorys_line_in_the_persons_language(
        api_client, make_contact, make_person, make_user):
    make_user("supervisor")
    _line("Télé-Accueil", ["fr"], "107")
    _line("Tele-Onthaal", ["nl"], "106")
    _line("Urgences", ["fr", "nl", "de"], "112", hours="24/7")
    client, user = api_client("advisor")
    contact = make_contact(user, person=make_person(created_by=user, language="nl"))
    response = client.post(f"/api/v1/contacts/{contact.id}/triage",
                           json={"answers": LEVEL_ANSWERS["imminent"], "immediate_danger": True})
    assert response.status_code == 201, response.get_json()
    lines = response.get_json()["crisis_resources"]
    assert _phones(lines) == ["106", "112"]
    assert lines[-1]["name"] == "Urgences"  # the directory's 112 entry replaces the script's


def test_a_reply_templates_crisis_numbers_come_from_the_directory(app):
    from contacts import reply_templates
    from contacts.reply_templates import ReplyTemplate

    _line("Tele-Onthaal", ["nl"], "106")
    template = ReplyTemplate(kind="reply", language="nl", name="t", subject="s",
                             body="{crisis_numbers}")
    _subject, body = reply_templates.apply(template)
    assert body.splitlines() == ["Tele-Onthaal: 106", "Noodnummer 112: 112"]
    french = ReplyTemplate(kind="reply", language="fr", name="t", subject="s",
                           body="{crisis_numbers}")
    assert "0800 32 123" in reply_templates.apply(french)[1]  # no French line: the script's
