"""Consent per purpose (issue 20): the operations other parts call."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from cellule.extensions import db
from cellule.models import AuditEvent
from cellule.types import utcnow
from contacts import operations as contact_operations
from contacts.consent import texts
from contacts.consent.operations import (
    CHANNELS,
    PURPOSES,
    ConsentError,
    consents_of,
    has_consent,
    record_consent,
    withdraw_consent,
)


@pytest.fixture
def advisor(make_user):
    return make_user("advisor")


@pytest.fixture
def person(make_person, advisor):
    return make_person(advisor)


def _yes(person, purpose, actor, **values):
    values.setdefault("channel", "oral")
    values.setdefault("text_version", texts.CURRENT[purpose])
    row = record_consent(person, purpose, granted=True, actor=actor, **values)
    db.session.commit()
    return row


def test_vocabularies_are_the_contract():
    assert PURPOSES == ("cell_processing", "share_psychologist", "share_partner",
                        "paid_coaching", "outreach", "survey", "caring_messages")
    assert CHANNELS == ("oral", "written", "web")
    for purpose in PURPOSES:  # every purpose has a current text in the four languages
        assert set(texts.TEXTS[texts.CURRENT[purpose]]) == {"fr", "nl", "de", "en"}


def test_no_record_is_no_consent(person):
    assert not has_consent(person.id, "survey")
    assert consents_of(person.id) == dict.fromkeys(PURPOSES)


def test_a_yes_is_consent_until_withdrawn(person, advisor):
    row = _yes(person, "caring_messages", advisor)
    assert has_consent(person.id, "caring_messages")
    assert not has_consent(person.id, "survey")  # purpose by purpose
    assert row.recorded_by_id == advisor.id and row.text_version == "caring_messages/v1"
    withdrawn = withdraw_consent(person, "caring_messages", actor=advisor, channel="written")
    db.session.commit()
    assert withdrawn.id == row.id and withdrawn.state == "withdrawn"
    assert withdrawn.withdrawal_channel == "written" and withdrawn.withdrawn_by_id == advisor.id
    assert not has_consent(person.id, "caring_messages")
    assert consents_of(person.id)["caring_messages"].state == "withdrawn"


def test_a_no_while_a_yes_stands_withdraws_it(person, advisor):
    row = _yes(person, "survey", advisor)
    answer = record_consent(person, "survey", granted=False, channel="web",
                            text_version="survey/v1", actor=advisor)
    db.session.commit()
    assert answer.id == row.id and answer.state == "withdrawn"
    again = record_consent(person, "survey", granted=False, channel="web",
                           text_version="survey/v1", actor=advisor)
    db.session.commit()
    assert again.id != row.id and again.state == "refused"
    assert not has_consent(person.id, "survey")


def test_the_newest_answer_decides(person, advisor):
    record_consent(person, "outreach", granted=False, channel="oral", actor=advisor,
                   text_version="outreach/v1")
    _yes(person, "outreach", advisor, channel="written",
         at=utcnow() - timedelta(days=3))  # a signed form filed late: given before the no
    assert not has_consent(person.id, "outreach")
    assert consents_of(person.id)["outreach"].state == "refused"


def test_refusals_name_the_field(person, advisor):
    with pytest.raises(ConsentError) as caught:
        record_consent(person, "lottery", granted=True, channel="fax", text_version="x",
                       actor=advisor)
    assert set(caught.value.fields) == {"purpose", "channel"}
    with pytest.raises(ConsentError) as caught:
        record_consent(person, "survey", granted=True, channel="oral",
                       text_version="outreach/v1", actor=advisor)
    assert set(caught.value.fields) == {"text_version"}
    with pytest.raises(ConsentError) as caught:
        withdraw_consent(person, "survey", actor=advisor, channel="oral")
    assert set(caught.value.fields) == {"purpose"}


def test_changes_are_audited_on_the_person(person, advisor):
    _yes(person, "share_partner", advisor)
    withdraw_consent(person, "share_partner", actor=advisor, channel="oral")
    db.session.commit()
    rows = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "person", AuditEvent.object_id == str(person.id),
        AuditEvent.action == "update")).all()
    assert sum('"purpose": "share_partner"' in (row.detail or "") for row in rows) == 2


def test_a_merge_keeps_the_consents(make_person, person, advisor):
    twin = make_person(advisor, name="Jeanne Martin-Dupont")
    _yes(twin, "survey", advisor)
    contact_operations.merge_persons(twin, person, advisor)
    db.session.commit()
    assert has_consent(person.id, "survey")
