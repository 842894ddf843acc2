"""Admins keep the reply templates: list by kind and language, create, edit, (de)activate;
validation of the placeholders and of one active out-of-hours answer per language; every
write audited; nobody else may touch them. `apply()` fills the placeholders in the
template's language."""

import json
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from cellule.extensions import db
from cellule.models import AuditEvent
from contacts import reply_templates
from contacts.reply_templates import ReplyTemplate

URL = "/admin/reply-templates/"


def _form(**values):
    data = {"kind": "reply", "language": "nl", "name": "Terugbellen", "subject": "Uw bericht",
            "body": "Beste {first_name},\nik bel u terug.\n{advisor_name}", "active": "y"}
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def _templates():
    db.session.expire_all()
    return db.session.scalars(select(ReplyTemplate).order_by(ReplyTemplate.id)).all()


def _audit(action):
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "reply_template",
                                 AuditEvent.action == action).order_by(AuditEvent.id)).all()


def test_an_admin_creates_a_template_and_sees_it_listed_under_its_kind_and_language(
    client, login_as
):
    admin = login_as("admin")
    response = client.post_form(URL + "new", _form())
    assert response.status_code == 303
    [template] = _templates()
    assert (template.kind, template.language, template.name, template.active) == (
        "reply", "nl", "Terugbellen", True)
    assert template.updated_by_id == admin.id
    [event] = _audit("create")
    assert event.user_id == admin.id and event.object_id == str(template.id)
    assert "ik bel" not in (event.detail or "")  # the text is not copied into the audit

    page = client.get(URL).get_data(as_text=True)
    assert 'id="templates-reply-nl"' in page and "Terugbellen" in page
    assert "Template “Terugbellen” saved." in page


def test_an_admin_edits_then_deactivates_and_activates_a_template(client, login_as):
    login_as("admin")
    client.post_form(URL + "new", _form())
    [template] = _templates()
    response = client.post_form(f"{URL}{template.id}", _form(name="Terugbelaanbod",
                                                              body="Dag {first_name}."))
    assert response.status_code == 303
    [template] = _templates()
    assert (template.name, template.body) == ("Terugbelaanbod", "Dag {first_name}.")
    assert client.get(f"{URL}{template.id}").status_code == 200

    assert client.post_form(f"{URL}{template.id}/deactivate").status_code == 303
    assert _templates()[0].active is False
    assert reply_templates.templates_for("nl") == []
    assert client.post_form(f"{URL}{template.id}/activate").status_code == 303
    assert [t.id for t in reply_templates.templates_for("nl")] == [template.id]
    assert [len(_audit(a)) for a in ("update", "deactivate", "activate")] == [1, 1, 1]


@pytest.mark.parametrize("values, field, message", [
    ({"name": ""}, "name", "This field is required."),
    ({"name": "x" * 121}, "name", "Field cannot be longer than 120 characters."),
    ({"language": "es"}, "language", "Not a valid choice."),
    ({"body": ""}, "body", "This field is required."),
    ({"body": "x" * 10_001}, "body", "Field cannot be longer than 10000 characters."),
    ({"body": "Beste {voornaam}, {first_name}"}, "body", "Unknown placeholder {voornaam}."),
    ({"subject": "Voor {naam}"}, "subject", "Unknown placeholder {naam}."),
])
def test_invalid_templates_are_refused_naming_the_field(client, login_as, values, field,
                                                        message):
    login_as("admin")
    response = client.post_form(URL + "new", _form(**values))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    assert _templates() == []


def test_an_unknown_placeholder_message_lists_the_known_ones(client, login_as):
    login_as("admin")
    page = client.post_form(URL + "new", _form(body="{prenom}")).get_data(as_text=True)
    assert "{first_name}, {advisor_name}, {opening_hours}, {next_opening}, " \
           "{crisis_numbers}" in page


def test_one_active_out_of_hours_answer_per_language(client, login_as):
    login_as("admin")
    ooh = _form(kind="out_of_hours", name="Gesloten", body="Gesloten. {opening_hours}")
    assert client.post_form(URL + "new", ooh).status_code == 303
    second = client.post_form(URL + "new", {**ooh, "name": "Gesloten 2"})
    assert second.status_code == 422
    assert "Another out-of-hours answer in this language is active" in second.get_data(
        as_text=True)
    # Inactive, it may be kept; activating it while the first is active is refused.
    assert client.post_form(URL + "new", {**ooh, "name": "Gesloten 2",
                                          "active": None}).status_code == 303
    first, spare = _templates()
    refused = client.post_form(f"{URL}{spare.id}/activate")
    assert refused.status_code == 409
    assert "Another out-of-hours answer in Nederlands is active" in refused.get_data(
        as_text=True)
    assert _templates()[1].active is False
    # Another language is another slot; so is the reply kind.
    assert client.post_form(URL + "new", {**ooh, "language": "de"}).status_code == 303
    client.post_form(f"{URL}{first.id}/deactivate")
    assert client.post_form(f"{URL}{spare.id}/activate").status_code == 303


def test_the_same_name_twice_in_a_kind_and_language_is_refused(client, login_as):
    login_as("admin")
    client.post_form(URL + "new", _form())
    response = client.post_form(URL + "new", _form())
    assert response.status_code == 422
    assert "already has this name" in response.get_data(as_text=True)
    assert client.post_form(URL + "new", _form(language="fr")).status_code == 303


@pytest.mark.parametrize("role", ["ambassador", "advisor", "psychologist", "supervisor"])
def test_only_admins_reach_the_templates(client, login_as, role):
    login_as(role)
    assert client.get(URL).status_code == 403
    assert client.get(URL + "new").status_code == 403
    assert client.post_form(URL + "new", _form()).status_code == 403
    assert _templates() == []


def test_the_built_in_templates_are_added_once_in_four_languages(client, login_as):
    login_as("admin")
    assert client.post_form(URL + "defaults").status_code == 303
    rows = _templates()
    assert {(t.kind, t.language) for t in rows} == {
        (kind, lang) for kind in ("reply", "out_of_hours") for lang in ("fr", "nl", "de", "en")}
    assert len(rows) == 12
    client.post_form(URL + "defaults")
    assert len(_templates()) == 12
    page = client.get(URL).get_data(as_text=True)
    assert "Proposition de rappel" in page and "Rückrufangebot" in page


# --- apply() ---------------------------------------------------------------------


class _Person:
    name = "Annelies De Smet"


class _User:
    name = "Marc Advisor"


# A Friday evening in Brussels: the cell opens again on Monday 16 March at 08:30.
FRIDAY_EVENING = datetime(2026, 3, 13, 19, 0, tzinfo=UTC)


@time_machine.travel(FRIDAY_EVENING, tick=False)
def test_apply_fills_the_placeholders_in_the_template_language(app):
    template = ReplyTemplate(kind="reply", language="nl", name="t", subject="Voor {first_name}",
                             body="Beste {first_name},\n{opening_hours}\n{next_opening}\n"
                                  "{crisis_numbers}\n{advisor_name}")
    subject, body = reply_templates.apply(template, person=_Person(), user=_User())
    assert subject == "Voor Annelies"
    assert body.splitlines() == [
        "Beste Annelies,", "maandag – vrijdag: 08:30 – 17:00", "maandag 16 maart 2026, 08:30",
        "Zelfmoordlijn 1813: 1813", "Noodnummer 112: 112", "Marc Advisor"]


@time_machine.travel(FRIDAY_EVENING, tick=False)
def test_apply_for_an_unknown_sender_drops_the_empty_name_and_speaks_german(app):
    app.config["CELLULE_OPENING_HOURS"] = "mon-thu 08:30-17:00; fri 08:30-12:00"
    app.extensions.pop("cellule_calendar", None)
    template = reply_templates.default_template("out_of_hours", "de")
    _subject, body = reply_templates.apply(template)
    assert body.startswith("Guten Tag,\n")
    assert "Montag – Donnerstag: 08:30 – 17:00\nFreitag: 08:30 – 12:00" in body
    assert "Montag, 16. März 2026, 08:30" in body
    assert "Telefonhilfe: 108" in body and "112" in body
    assert "{" not in body
    app.extensions.pop("cellule_calendar", None)


def test_the_audit_of_a_template_holds_no_text(client, login_as):
    login_as("admin")
    client.post_form(URL + "new", _form(body="Geheim {first_name}"))
    for event in _audit("create"):
        assert "Geheim" not in json.dumps(event.detail)
