"""The safety plan (issue 19): versions, the 409 of a race, who sees it, the audit, the
PDF and the email with its PDF (the mail built as the job sends it)."""

import io

import pytest
from sqlalchemy import select

from cases.safety.models import SafetyPlan, SafetyPlanSend
from cellule.audit import AuditEvent
from cellule.extensions import db
from cellule.jobs import drain
from tests.jobs.conftest import smtp_server  # noqa: F401  (the fixture)

PLAN = {"warning_signs": ["Je ne dors plus", "Je m'isole"], "coping": ["Marcher"],
        "distractions": [], "people": ["Élodie — 0470 12 34 56"], "professionals": [],
        "environment": ["Confier les médicaments à ma sœur"],
        "reasons_for_living": ["Mes enfants", "Über alles: mein Hund"]}


@pytest.fixture
def crisis_case(triage, make_user):
    advisor = make_user("advisor")
    run, case = triage("high", user=advisor)
    case.person.email = "person@example.org"
    case.person.language = "fr"
    db.session.commit()
    return advisor, case


def _put(client, case_id, **body):
    return client.put(f"/api/v1/cases/{case_id}/safety-plan", json={"language": "fr", **body})


def test_versions_and_race(api_client, crisis_case):
    client, user = api_client("advisor")
    _, case = crisis_case
    assert client.get(f"/api/v1/cases/{case.id}/safety-plan").status_code == 404
    first = _put(client, case.id, version=0, **PLAN)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["version"] == 1 and first.get_json()["updated_at"]
    assert _put(client, case.id, version=1, **PLAN).get_json()["version"] == 1  # unchanged
    second = _put(client, case.id, version=1, **{**PLAN, "coping": ["Marcher", "Musique"]})
    assert second.get_json()["version"] == 2
    stale = _put(client, case.id, version=1, **PLAN)  # written on version 1, 2 came first
    assert stale.status_code == 409 and "version" in stale.get_json()["fields"]
    got = client.get(f"/api/v1/cases/{case.id}/safety-plan").get_json()
    assert got["coping"] == ["Marcher", "Musique"] and got["people"] == PLAN["people"]
    assert db.session.scalar(select(db.func.count()).select_from(SafetyPlan)) == 2
    raw = db.session.execute(db.text("SELECT content FROM safety_plans")).scalars().all()
    assert all("Marcher" not in row for row in raw)  # encrypted at rest
    actions = {(e.action, e.object_type) for e in db.session.scalars(select(AuditEvent))}
    assert {("update", "safety_plan"), ("read", "safety_plan")} <= actions


def test_invalid_body_names_the_field(api_client, crisis_case):
    client, _ = api_client("psychologist")
    _, case = crisis_case
    answer = _put(client, case.id, version=0, coping=["x" * 301])
    assert answer.status_code == 422 and "coping.0" in answer.get_json()["fields"]


@pytest.mark.parametrize("role,status", [("ambassador", 403), ("admin", 403),
                                         ("supervisor", 200), ("psychologist", 200)])
def test_who_reads_it(api_client, crisis_case, role, status):
    advisor, case = crisis_case
    from cases.safety.operations import save_plan
    save_plan(case, PLAN, "fr", advisor, 0)
    db.session.commit()
    client, _ = api_client(role)
    assert client.get(f"/api/v1/cases/{case.id}/safety-plan").status_code == status


def test_ambassador_who_opened_the_case_does_not_see_the_plan(client, login_as, triage):
    ambassador = login_as("ambassador")
    _, case = triage("high", user=ambassador)
    assert client.get(f"/cases/{case.id}").status_code == 200
    assert client.get(f"/cases/{case.id}/safety-plan").status_code == 403


def test_page_save_conflict_pdf_and_email(app, client, crisis_case, resources, smtp_server):  # noqa: F811
    advisor, case = crisis_case
    client.sign_in(advisor)
    client.post_form("/language", {"language": "en"})
    page = client.get(f"/cases/{case.id}")
    assert b"Write the safety plan" in page.data
    line = next(r for r in resources.values() if r.kind == "crisis_line" and "fr" in r.languages)
    form = {"version": "0", "language": "fr", "warning_signs": "Je ne dors plus\n\nJe m'isole",
            "reasons_for_living": "Mes enfants", "resources": str(line.id)}
    saved = client.post_form(f"/cases/{case.id}/safety-plan", form)
    assert saved.status_code == 303
    plan = db.session.scalar(select(SafetyPlan))
    assert plan.steps["warning_signs"] == ["Je ne dors plus", "Je m'isole"]
    assert any(line.name in item for item in plan.steps["professionals"])
    race = client.post_form(f"/cases/{case.id}/safety-plan", {**form, "coping": "Marcher"})
    assert race.status_code == 409 and b"plan-conflict" in race.data
    pdf = client.get(f"/cases/{case.id}/safety-plan/pdf")
    assert pdf.data.startswith(b"%PDF")
    from pypdf import PdfReader
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "Je ne dors plus" in text and "Mes enfants" in text
    printed = client.get(f"/cases/{case.id}/safety-plan/print")
    assert b"Je m&#39;isole" in printed.data or b"Je m'isole" in printed.data
    refused = client.post_form(f"/cases/{case.id}/safety-plan/email", {})
    assert refused.status_code == 422
    sent = client.post_form(f"/cases/{case.id}/safety-plan/email", {"consent": "oral"})
    assert sent.status_code == 303
    send = db.session.scalar(select(SafetyPlanSend))
    assert send.consent_channel == "oral" and send.consent_by_id == advisor.id
    from cellule.mailer import OutgoingMail
    mail = db.session.get(OutgoingMail, send.mail_id)
    assert mail.recipient == "person@example.org" and mail.attachment == f"safety_plan:{plan.id}"
    drain(app)
    [message] = smtp_server.messages
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "safety-plan.pdf"
    text = PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
    assert "Je ne dors plus" in text
    assert client.get(f"/cases/{case.id}/safety-plan/versions/1").status_code == 200
    assert client.get(f"/cases/{case.id}/safety-plan/versions/9").status_code == 404


def test_closing_a_high_case_without_a_plan_asks_and_keeps_why(client, make_user, api_client,
                                                               crisis_case):
    _, case = crisis_case
    client.sign_in(make_user("supervisor"))
    step = client.get(f"/cases/{case.id}/close")
    assert 'name="no_safety_plan_reason"' in step.get_data(as_text=True)
    api, _ = api_client("supervisor")
    closed = api.post(f"/api/v1/cases/{case.id}/close", json={
        "outcome": "resolved", "version": case.version, "safety_outcome": "crisis_line",
        "no_safety_plan_reason": "La personne a refusé"})
    assert closed.status_code == 200, closed.get_json()
    from cases.models import Case
    assert db.session.get(Case, case.id).no_safety_plan_reason == "La personne a refusé"


def test_a_case_with_a_plan_is_not_asked_why(client, make_user, crisis_case):
    from cases.safety.operations import save_plan
    advisor, case = crisis_case
    save_plan(case, PLAN, "fr", advisor, 0)
    db.session.commit()
    client.sign_in(make_user("supervisor"))
    assert 'name="no_safety_plan_reason"' not in client.get(
        f"/cases/{case.id}/close").get_data(as_text=True)
