"""Where consent matters today (issue 20): a paid referral's accepted price is the
person's `paid_coaching` consent, with the price shown; the safety plan's email keeps its
own consent on the send."""

from cases import operations as ops
from cellule.extensions import db
from contacts.consent.operations import consents_of, has_consent


def test_a_paid_referral_records_the_paid_coaching_consent_with_its_price(
        make_user, triage, resources):
    advisor = make_user("advisor")
    _run, case = triage("serious", user=advisor)
    paid = next(r for r in resources.values() if r.price_cents)
    ops.add_referral(resource=paid, actor=advisor, case=case, consent=True)
    db.session.commit()
    assert has_consent(case.person_id, "paid_coaching")
    row = consents_of(case.person_id)["paid_coaching"]
    assert row.text_version == "paid_coaching/v1" and row.channel == "oral"
    assert paid.name in row.detail and "€" in row.detail
    assert row.recorded_by_id == advisor.id


def test_a_free_referral_records_no_consent(make_user, triage, resources):
    advisor = make_user("advisor")
    _run, case = triage("serious", user=advisor)
    free = next(r for r in resources.values() if not r.price_cents and r.active)
    ops.add_referral(resource=free, actor=advisor, case=case)
    db.session.commit()
    assert consents_of(case.person_id)["paid_coaching"] is None


def test_the_access_export_holds_the_consents(make_user, make_person):
    from cases.rights.export import person_data
    from contacts.consent.operations import record_consent

    advisor = make_user("advisor")
    person = make_person(email="griet@example.be")
    record_consent(person, "survey", granted=True, channel="web", text_version="survey/v1",
                   actor=advisor)
    db.session.commit()
    [consent] = person_data(person)["consents"]
    assert (consent["purpose"], consent["granted"], consent["channel"]) == ("survey", True,
                                                                           "web")
