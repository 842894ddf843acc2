"""A referral's life (issue 20): every step of the one transition table, wrong steps (409
naming the allowed ones), the `share_partner` consent the handover pack needs, the pack
emailed once through the outbox or printed, the reminders when a step is late (business
days, moved time, idempotent), the case page card, the partners' list and the API."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from cellule.audit import AuditEvent
from cellule.extensions import db

WEDNESDAY_10H = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)  # 10:00 in Brussels (CET)
PARTNER_MAIL = "accueil@pass-impasse.example.be"


def share_consent(person, actor, granted=True):
    from contacts.consent.operations import current_text_version, record_consent

    record_consent(person, "share_partner", granted=granted, channel="oral",
                   text_version=current_text_version("share_partner"), actor=actor)
    db.session.commit()


@pytest.fixture
def advisor(make_user):
    return make_user("advisor", name="Claire Dumont")


@pytest.fixture
def partner(resources):
    from cases.models import Resource

    row = Resource(name="Un pass dans l'impasse", kind="external_specialist",
                   languages=["fr"], email=PARTNER_MAIL, active=True)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def case(triage, resources, make_person, advisor):
    person = make_person(name="Marie Dubois", email="marie@example.be", phone="0470 12 34 56",
                         language="fr")
    with time_machine.travel(WEDNESDAY_10H, tick=False):
        _run, case = triage("elevated", user=advisor, person=person, at=WEDNESDAY_10H)
    if case.assignee_id is None:
        case.assignee_id = advisor.id
        db.session.commit()
    return case


@pytest.fixture
def referral(case, partner, advisor):
    from cases import operations as ops

    with time_machine.travel(WEDNESDAY_10H, tick=False):
        row = ops.add_referral(resource=partner, actor=advisor, case=case,
                               note="Épuisement, cherche un accompagnement")
        db.session.commit()
    return row


def _step(referral, state, actor, **kwargs):
    from cases.referrals import operations as referrals

    event = referrals.step(referral, state, actor, **kwargs)
    db.session.commit()
    return event


def _steps(referral_id):
    from cases.referrals.models import ReferralEvent

    return db.session.scalars(select(ReferralEvent.state).where(
        ReferralEvent.referral_id == referral_id).order_by(ReferralEvent.id)).all()


def test_the_table_names_a_next_step_for_every_state_and_closed_ends_it(app):
    from cases.referrals.models import NEXT, STATES

    assert set(NEXT) == set(STATES)
    assert all(set(after) <= set(STATES) for after in NEXT.values())
    assert NEXT["closed"] == ()
    # every state is reachable from `proposed`
    seen, todo = {"proposed"}, ["proposed"]
    while todo:
        for state in NEXT[todo.pop()]:
            if state not in seen:
                seen.add(state)
                todo.append(state)
    assert seen == set(STATES)


def test_a_new_referral_is_proposed_and_dated(referral):
    assert referral.state == "proposed"
    assert _steps(referral.id) == ["proposed"]


def test_a_paid_referral_with_the_price_accepted_starts_accepted(case, resources, advisor):
    from cases import operations as ops

    paid = next(r for r in resources.values() if r.price_cents)
    row = ops.add_referral(resource=paid, actor=advisor, case=case, consent=True)
    db.session.commit()
    assert row.state == "accepted" and row.price_cents_shown == paid.price_cents
    assert _steps(row.id) == ["proposed", "accepted"]


@pytest.mark.parametrize("outcome", ["attended", "no_show", "declined"])
def test_the_whole_life_to_each_outcome_then_closed(referral, case, advisor, outcome):
    from cases.models import CaseEvent

    share_consent(case.person, advisor)
    for state in ("accepted", "sent", "confirmed", outcome, "closed"):
        _step(referral, state, advisor)
    assert db.session.get(type(referral), referral.id).state == "closed"
    assert _steps(referral.id) == ["proposed", "accepted", "sent", "confirmed", outcome,
                                   "closed"]
    kinds = db.session.scalars(select(CaseEvent.detail).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "referral_step")
        .order_by(CaseEvent.id)).all()
    assert [d["state"] for d in kinds] == ["accepted", "sent", "confirmed", outcome, "closed"]
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.object_type == "referral", AuditEvent.action == "update")) == 5


@pytest.mark.parametrize("state", ["sent", "confirmed", "attended", "no_show", "proposed"])
def test_a_wrong_step_is_refused_naming_the_allowed_ones(referral, advisor, state):
    from cases.referrals import operations as referrals

    with pytest.raises(referrals.WrongStep) as refused:
        referrals.step(referral, state, advisor)
    assert refused.value.allowed == ["accepted", "declined", "closed"]
    assert "accepted, declined, closed" in refused.value.fields["state"]


def test_nothing_follows_closed(referral, advisor):
    from cases.referrals import operations as referrals

    _step(referral, "closed", advisor)
    with pytest.raises(referrals.WrongStep) as refused:
        referrals.step(referral, "accepted", advisor)
    assert refused.value.allowed == []


def test_no_handover_without_share_partner_consent(referral, case, advisor, app):
    from cases.referrals import operations as referrals
    from cellule.mailer import OutgoingMail

    _step(referral, "accepted", advisor)
    with pytest.raises(referrals.ConsentMissing) as refused:
        referrals.step(referral, "sent", advisor)
    assert refused.value.fields == {"consent": "share_partner"}
    db.session.rollback()
    share_consent(case.person, advisor)
    share_consent(case.person, advisor, granted=False)  # withdrawn: no consent again
    with pytest.raises(referrals.ConsentMissing):
        referrals.step(referral, "sent", advisor)
    db.session.rollback()
    assert not db.session.scalar(select(OutgoingMail.id))


def test_the_pack_is_emailed_once_with_only_what_the_consent_allows(referral, case, advisor):
    from cellule.mailer import OutgoingMail

    share_consent(case.person, advisor)
    _step(referral, "accepted", advisor)
    event = _step(referral, "sent", advisor)
    assert event.channel == "email"
    mail = db.session.scalar(select(OutgoingMail))
    assert mail.recipient == PARTNER_MAIL and "Marie Dubois" in mail.subject
    assert "0470 12 34 56" in mail.body and "marie@example.be" in mail.body
    assert "Épuisement" in mail.body and case.reference in mail.body
    assert "Français" in mail.body
    assert "affiliate" not in mail.body.lower() and "triage" not in mail.body.lower()
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "handover")) == 1


def test_a_printed_pack_sends_no_mail(referral, case, advisor):
    from cellule.mailer import OutgoingMail

    share_consent(case.person, advisor)
    _step(referral, "accepted", advisor)
    assert _step(referral, "sent", advisor, channel="print").channel == "print"
    assert not db.session.scalar(select(OutgoingMail.id))


def test_a_step_is_not_dated_in_the_future_nor_before_the_last(referral, advisor):
    from cases.referrals import operations as referrals

    with pytest.raises(referrals.StepRefused) as refused:
        referrals.step(referral, "accepted", advisor, at=datetime.now(UTC) + timedelta(hours=1))
    assert "at" in refused.value.fields
    with pytest.raises(referrals.StepRefused):
        referrals.step(referral, "accepted", advisor, at=WEDNESDAY_10H - timedelta(days=1))


# --------------------------------------------------------------------------- reminders


def _reminders(case_id):
    from cases.models import Task

    db.session.expire_all()
    return db.session.scalars(select(Task).where(
        Task.case_id == case_id, Task.code.like("referral_%"))).all()


def test_settings_default_to_five_and_ten_business_days(app):
    assert app.config["CELLULE_REFERRAL_CONFIRM_DAYS"] == 5
    assert app.config["CELLULE_REFERRAL_OUTCOME_DAYS"] == 10


def test_no_confirmation_in_five_business_days_reminds_the_assignee_once(referral, case,
                                                                         advisor):
    from cases.referrals import operations as referrals

    share_consent(case.person, advisor)
    with time_machine.travel(WEDNESDAY_10H, tick=False):
        _step(referral, "accepted", advisor)
        _step(referral, "sent", advisor)
    # Wednesday + 5 business days: Wednesday 21 January at closing time.
    with time_machine.travel(datetime(2026, 1, 21, 12, 0, tzinfo=UTC), tick=False):
        assert referrals.remind_late() == 0
    with time_machine.travel(datetime(2026, 1, 22, 8, 0, tzinfo=UTC), tick=False):
        assert referrals.remind_late() == 1
        assert referrals.remind_late() == 0  # idempotent
    tasks = _reminders(case.id)
    assert [(t.code, t.assignee_id, t.status) for t in tasks] == [
        ("referral_unconfirmed", case.assignee_id, "open")]


def test_the_partner_confirming_late_ends_the_reminder(referral, case, advisor):
    from cases.referrals import operations as referrals

    share_consent(case.person, advisor)
    with time_machine.travel(WEDNESDAY_10H, tick=False):
        _step(referral, "accepted", advisor)
        _step(referral, "sent", advisor)
    with time_machine.travel(datetime(2026, 1, 22, 8, 0, tzinfo=UTC), tick=False):
        assert referrals.remind_late() == 1
        _step(referral, "confirmed", advisor)
        db.session.commit()
    [task] = _reminders(case.id)
    assert (task.code, task.status, task.done_by_id) == ("referral_unconfirmed", "done",
                                                         advisor.id)
    assert referrals.open_reminders(case.id) == []


def test_no_outcome_ten_business_days_after_confirmation(referral, case, advisor):
    from cases.referrals import operations as referrals

    share_consent(case.person, advisor)
    with time_machine.travel(WEDNESDAY_10H, tick=False):
        for state in ("accepted", "sent", "confirmed"):
            _step(referral, state, advisor)
    with time_machine.travel(datetime(2026, 1, 27, 8, 0, tzinfo=UTC), tick=False):
        assert referrals.remind_late() == 0  # confirmed in time: nothing about `sent`
    with time_machine.travel(datetime(2026, 1, 29, 8, 0, tzinfo=UTC), tick=False):
        assert referrals.remind_late() == 1
        _step(referral, "attended", advisor)
        assert referrals.remind_late() == 0
    assert [t.code for t in _reminders(case.id)] == ["referral_no_outcome"]


def test_the_sweep_job_is_periodic(app):
    from cellule.jobs import PERIODIC

    assert "remind_late_referrals" in PERIODIC


# --------------------------------------------------------------------------- the pages


def test_the_case_page_shows_each_step_and_the_next_buttons(referral, case, advisor, client):
    client.sign_in(advisor)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'id="referral-{referral.id}"' in page and 'data-state="proposed"' in page
    assert 'value="accepted"' in page and 'value="sent_email"' not in page
    done = client.post_form(f"/referrals/{referral.id}/steps", {"step": "accepted"})
    assert done.status_code == 303 and done.headers["Location"].endswith("#referrals-card")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'data-state="accepted"' in page
    assert "Referral step</strong>" in page and "Un pass dans l'impasse: Accepted by the person" \
        in page.replace("&#39;", "'")  # the timeline
    assert 'value="sent_email"' in page and 'value="sent_print"' in page
    assert "No consent to share with a partner yet." in page


def test_a_handover_without_consent_is_refused_with_a_link_to_record_it(referral, case,
                                                                        advisor, client):
    from cellule.mailer import OutgoingMail

    _step(referral, "accepted", advisor)
    client.sign_in(advisor)
    refused = client.post_form(f"/referrals/{referral.id}/steps", {"step": "sent_email"})
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert f'id="referral-{referral.id}-refusal"' in page
    assert f'href="/people/{case.person_id}/consents"' in page
    assert not db.session.scalar(select(OutgoingMail.id))
    printed = client.get(f"/referrals/{referral.id}/pack")
    assert printed.status_code == 409 and 'id="pack-refused"' in printed.get_data(as_text=True)


def test_htmx_swaps_the_card_and_the_print_page_holds_the_pack(referral, case, advisor,
                                                               client):
    share_consent(case.person, advisor)
    _step(referral, "accepted", advisor)
    client.sign_in(advisor)
    card = client.htmx("POST", f"/referrals/{referral.id}/steps", {"step": "sent_email"})
    assert card.status_code == 200
    html = card.get_data(as_text=True)
    assert html.lstrip().startswith("{#") is False and 'id="referrals-card"' in html
    assert "<html" not in html and 'data-state="sent"' in html
    # The case's timeline rides along out of band, with the step, and that read is audited.
    assert 'id="case-timeline" class="case-timeline" hx-swap-oob="true"' in html
    assert "Referral step" in html
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "read", AuditEvent.object_type == "case",
        AuditEvent.object_id == str(case.id))) == 1
    printed = client.get(f"/referrals/{referral.id}/pack").get_data(as_text=True)
    assert "Marie Dubois" in printed and "0470 12 34 56" in printed and "Épuisement" in printed
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "handover")) == 2  # emailed, then printed


def test_the_partners_list_filters_by_partner_and_state(referral, case, partner, advisor,
                                                        resources, client, make_user):
    from cases import operations as ops

    other = ops.add_referral(resource=resources["Urgences 112"], actor=advisor, case=case)
    db.session.commit()
    _step(referral, "accepted", advisor)
    client.sign_in(make_user("supervisor"))
    page = client.get("/referrals/partners").get_data(as_text=True)
    assert page.count('class="badge referral-state"') == 2
    only = client.get(f"/referrals/partners?resource_id={partner.id}").get_data(as_text=True)
    assert only.count('class="badge referral-state"') == 1 and "Un pass dans" in only
    proposed = client.get("/referrals/partners?state=proposed").get_data(as_text=True)
    assert proposed.count('data-state="proposed"') == 1 and other.id
    rows = client.htmx("GET", "/referrals/partners?state=accepted",
                       headers={"HX-Target": "partner-referrals"})
    assert rows.get_data(as_text=True).lstrip().startswith('<tbody id="partner-referrals">')


# --------------------------------------------------------------------------- the API


def test_the_api_refers_and_steps_a_referral(case, partner, advisor, api_client):
    client, _user = api_client("advisor")
    url = f"/api/v1/cases/{case.id}/referrals"
    headers = {"Idempotency-Key": "referral-1"}
    made = client.post(url, json={"resource_id": partner.id, "note": "Épuisement"},
                       headers=headers)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["state"] == "proposed" and body["id"]
    assert body["next"] == ["accepted", "declined", "closed"]
    again = client.post(url, json={"resource_id": partner.id, "note": "Épuisement"},
                        headers=headers)
    assert (again.status_code, again.get_json()) == (201, body)
    assert client.post(url, json={"resource_id": partner.id, "note": "autre"},
                       headers=headers).status_code == 422
    events = f"/api/v1/referrals/{body['id']}/events"
    wrong = client.post(events, json={"state": "confirmed"})
    assert wrong.status_code == 409
    assert wrong.get_json()["fields"]["state"] == "allowed next: accepted, declined, closed"
    assert client.post(events, json={"state": "accepted", "note": "oui"}).status_code == 201
    missing = client.post(events, json={"state": "sent"})
    assert missing.status_code == 409
    assert missing.get_json()["fields"] == {"consent": "share_partner"}
    share_consent(db.session.get(type(case), case.id).person, advisor)
    sent = client.post(events, json={"state": "sent", "at": datetime.now(UTC).isoformat()},
                       headers={"Idempotency-Key": "step-1"})
    assert sent.status_code == 201, sent.get_json()
    assert [s["state"] for s in sent.get_json()["steps"]] == ["proposed", "accepted", "sent"]
    assert sent.get_json()["steps"][-1]["channel"] == "email"
    assert client.post(events, json={"state": "bogus"}).status_code == 422
    assert client.post(url, json={"resource_id": 99999}).status_code == 422


@pytest.mark.parametrize("resource_id", [0, 2**31, 3539845136379041792])
def test_a_resource_id_beyond_an_id_s_range_is_a_422_naming_it(case, api_client, resource_id):
    # The fuzzer's 500 on PostgreSQL: a 64-bit number reached the INTEGER column.
    client, _user = api_client("advisor")
    answer = client.post(f"/api/v1/cases/{case.id}/referrals",
                         json={"resource_id": resource_id})
    assert answer.status_code == 422
    assert answer.get_json()["fields"] == {
        "resource_id": "must be a whole number from 1 to 2147483647"}


def test_the_api_refuses_who_may_not(referral, api_client):
    client, _user = api_client("ambassador")
    assert client.post(f"/api/v1/referrals/{referral.id}/events",
                       json={"state": "accepted"}).status_code in (403, 404)
    admin, _user = api_client("admin")
    assert admin.post(f"/api/v1/referrals/{referral.id}/events",
                      json={"state": "accepted"}).status_code == 403
    assert admin.post("/api/v1/referrals/424242/events",
                      json={"state": "accepted"}).status_code in (403, 404)


def test_openapi_documents_the_contract(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    add = spec["paths"]["/cases/{id}/referrals"]["post"]
    step = spec["paths"]["/referrals/{id}/events"]["post"]
    assert {"201", "409", "422"} <= set(step["responses"]) and "201" in add["responses"]
    headers = [p["name"] for p in add.get("parameters", []) + step.get("parameters", [])]
    assert headers.count("Idempotency-Key") == 2


def test_an_administrator_gives_a_partner_its_address(app, partner, make_user, client):
    from cases.models import Resource

    client.sign_in(make_user("admin"))
    form = {"name": partner.name, "kind": partner.kind, "lang_fr": "y", "active": "y",
            "email": "not an address"}
    refused = client.post_form(f"/admin/resources/{partner.id}", form)
    assert refused.status_code == 422 and 'id="r-email"' in refused.get_data(as_text=True)
    saved = client.post_form(f"/admin/resources/{partner.id}",
                             {**form, "email": "nouveau@pass.example.be"})
    assert saved.status_code in (302, 303)
    assert db.session.get(Resource, partner.id).email == "nouveau@pass.example.be"
