"""The retention policy: a dry run that changes nothing, then a run that anonymises."""

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from cases.models import CaseContact, Note, TriageRun
from cases.reporting.figures import build_report
from cases.reporting.periods import parse_period
from cases.rights.models import Anonymisation
from cases.rights.retention import plan, purge_expired
from cellule import jobs
from cellule.extensions import db
from cellule.mailer import OutgoingMail
from cellule.models import AuditEvent
from contacts.models import Contact, Person

from .conftest import at


@pytest.fixture
def old_and_new(app, make_user, make_person, make_case):
    """A: everything before 2018. B: an old case, a contact in 2024. C: a case still open."""
    advisor = make_user("advisor")
    o = SimpleNamespace(advisor=advisor)
    o.a = make_person(name="Albert Ancien", phone="+3223334455", email="albert@example.org",
                      affiliate_number="OLD-1", created_at=at("2015-05-01 10:00"))
    o.b = make_person(name="Berthe Revenue", email="berthe@example.org",
                      created_at=at("2015-06-01 10:00"))
    o.c = make_person(name="Cyril Toujours", created_at=at("2015-07-01 10:00"))
    o.a_case = make_case("serious", "psychologist", "2016-01-10 10:00", "2016-01-10 14:00",
                         "2016-01-10 12:00", closed="2017-02-01 10:00", person=o.a)
    o.b_case = make_case("elevated", "coaching", "2016-03-10 10:00", "2016-03-11 10:00",
                         "2016-03-10 15:00", closed="2017-03-01 10:00", person=o.b)
    o.c_case = make_case("elevated", "coaching", "2016-04-10 10:00", "2016-04-11 10:00",
                         person=o.c)

    def contact(person, when, summary, case=None):
        row = Contact(person_id=person.id if person else None, channel="phone",
                      occurred_at=at(when), summary=summary, created_by_id=advisor.id,
                      reasons=["stress"], email_body=summary if person else None)
        db.session.add(row)
        db.session.flush()
        if case is not None:
            db.session.add(CaseContact(case_id=case.id, contact_id=row.id))
        return row

    o.a_contact = contact(o.a, "2016-01-10 09:00", "Albert talks about his debts", o.a_case)
    o.b_old = contact(o.b, "2016-03-10 09:00", "Berthe old summary", o.b_case)
    o.b_new = contact(o.b, "2024-05-01 09:00", "Berthe new summary")
    o.c_contact = contact(o.c, "2016-04-10 09:00", "Cyril summary", o.c_case)
    o.anon_old = contact(None, "2016-08-01 09:00", "anonymous old summary")
    o.anon_new = contact(None, "2024-08-01 09:00", "anonymous new summary")
    db.session.add(Note(case_id=o.a_case.id, body="Albert note", visibility="clinical"))
    db.session.add(TriageRun(script_id="cellule-triage", script_version=1, language="fr",
                             state="decided", answers={"sleep_problems": "yes"},
                             notes="Albert triage note", person_id=o.a.id, case_id=o.a_case.id,
                             evaluation={"level": "serious", "route": "psychologist",
                                         "scores": {"phq2": {"total": 4}},
                                         "text_red_flags": [{"phrase": "debts"}]},
                             created_at=at("2016-01-10 09:30")))
    db.session.add(OutgoingMail(recipient="albert@example.org", subject="Albert subject",
                                body="Albert body", message_id="<m1@test>", person_id=o.a.id,
                                created_at=at("2016-01-11 09:00")))
    db.session.commit()
    return o


def _figures():
    period = parse_period({"from": "2015-01-01", "to": "2019-12-31"})
    report = build_report(period).to_dict()
    return (report["contacts"]["by_channel"], report["cases"]["by_level"],
            report["cases"]["outcomes"], report["first_response"]["all"])


def test_dry_run_shows_what_would_be_done_and_changes_nothing(app, old_and_new):
    app.config["CELLULE_RETENTION_YEARS"] = 5
    result = app.test_cli_runner().invoke(args=["retention", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    o = old_and_new
    assert "Retention period: 5 year(s)" in result.output
    assert f"cases closed before the cut-off: 2 — ids {o.a_case.id}, {o.b_case.id}" \
        in result.output
    assert f"people with nothing after the cut-off: 1 — ids {o.a.id}" in result.output
    assert f"anonymous contacts before the cut-off: 1 — ids {o.anon_old.id}" in result.output
    assert "Dry run: nothing was changed." in result.output
    assert "Albert" not in result.output  # ids only
    db.session.expire_all()
    assert db.session.get(Person, o.a.id).name == "Albert Ancien"
    assert db.session.scalar(select(db.func.count(Anonymisation.id))) == 0


def test_real_run_anonymises_keeps_statistics_and_audits(app, old_and_new):
    o = old_and_new
    before = _figures()
    app.config["CELLULE_RETENTION_YEARS"] = 5
    result = app.test_cli_runner().invoke(args=["retention", "purge"])
    assert result.exit_code == 0, result.output
    assert "Done: 1 person(s), 1 case(s), 1 contact(s) anonymised." in result.output
    db.session.expire_all()

    a = db.session.get(Person, o.a.id)
    assert (a.name, a.phone, a.email, a.affiliate_number, a.search_text) == (
        "—", None, None, None, "")
    contact = db.session.get(Contact, o.a_contact.id)
    assert (contact.summary, contact.email_body, contact.reasons) == ("", None, ["stress"])
    run = db.session.scalar(select(TriageRun).where(TriageRun.person_id == o.a.id))
    assert (run.answers, run.notes) == ({}, None)
    assert run.evaluation == {"level": "serious", "route": "psychologist",
                              "scores": {"phq2": {"total": 4}}}
    assert db.session.scalar(select(Note.body).where(Note.case_id == o.a_case.id)) == ""
    mail = db.session.scalar(select(OutgoingMail))
    assert (mail.recipient, mail.subject, mail.body) == ("", "", "")

    # B came back in 2024: the old case is cleared, the person and the new contact stay.
    assert db.session.get(Person, o.b.id).name == "Berthe Revenue"
    assert db.session.get(Contact, o.b_old.id).summary == ""
    assert db.session.get(Contact, o.b_new.id).summary == "Berthe new summary"
    # C's case is still open: nothing moves.
    assert db.session.get(Person, o.c.id).name == "Cyril Toujours"
    assert db.session.get(Contact, o.c_contact.id).summary == "Cyril summary"
    assert db.session.get(Contact, o.anon_old.id).summary == ""
    assert db.session.get(Contact, o.anon_new.id).summary == "anonymous new summary"

    assert _figures() == before  # the statistics are kept

    done = {(r.object_type, r.object_id, r.cause)
            for r in db.session.scalars(select(Anonymisation))}
    assert done == {("person", o.a.id, "retention"), ("case", o.a_case.id, "retention"),
                    ("case", o.b_case.id, "retention"), ("contact", o.anon_old.id, "retention")}
    audited = {(e.action, e.object_type, e.object_id) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(("anonymise", "retention_purge"))))}
    assert ("anonymise", "person", str(o.a.id)) in audited
    assert ("anonymise", "case", str(o.b_case.id)) in audited
    assert ("retention_purge", None, None) in audited

    # A second run finds nothing left to do.
    again = app.test_cli_runner().invoke(args=["retention", "purge", "--dry-run"])
    assert "cases closed before the cut-off: 0" in again.output
    assert plan(_cutoff(5)).empty


def _cutoff(years):
    from cases.rights.retention import cutoff_for
    from cellule.types import utcnow

    return cutoff_for(years, utcnow())


def test_the_job_runs_through_the_worker_and_is_idempotent(app, old_and_new):
    from cellule import outbox

    app.config["CELLULE_RETENTION_YEARS"] = 5
    outbox.request("purge_expired")
    db.session.commit()
    assert jobs.drain(app) == 1
    db.session.expire_all()
    assert db.session.get(Person, old_and_new.a.id).name == "—"
    assert purge_expired() == {"cases": 0, "persons": 0, "contacts": 0}


def test_no_period_configured_means_no_purge(app, old_and_new):
    app.config["CELLULE_RETENTION_YEARS"] = None
    assert purge_expired() is None
    assert jobs.PERIODIC["purge_expired"].enabled(app) is False
    result = app.test_cli_runner().invoke(args=["retention", "purge", "--dry-run"])
    assert result.exit_code != 0
    assert "CELLULE_RETENTION_YEARS" in result.output
    app.config["CELLULE_RETENTION_YEARS"] = 5
    assert jobs.PERIODIC["purge_expired"].enabled(app) is True


def test_years_option_overrides_the_setting(app, old_and_new):
    app.config["CELLULE_RETENTION_YEARS"] = 50
    result = app.test_cli_runner().invoke(args=["retention", "purge", "--dry-run",
                                                "--years", "5"])
    assert "cases closed before the cut-off: 2" in result.output
