"""Every free-text field has a maximum (issue 13, docs/limits.md): the forms show it
(`maxlength`), the OpenAPI document states it (`maxLength`), and the server holds it — one
character over is a 422 naming the field with nothing written, exactly the limit is taken.

The limits the tests post are read from the page and from the OpenAPI document, so what the
interface and the document say is what the server does.
"""

import hashlib
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from cellule.extensions import db
from tests.security.routes import ANONYMOUS, ROLES, arg_value, html_rules

TEXT_INPUTS = {"text", "search", "email", "tel", "url", "password"}
# A refusal may write its audit row and touch the session's clock; nothing else.
UNTRACKED_TABLES = {"audit_events", "user_sessions"}
# Characters, not bytes, are counted: a two-byte letter is one character.
CHAR = "é"


class TextFields(HTMLParser):
    """Every text <input> and <textarea> of a page, as (name, maxlength attribute or None)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fields = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "textarea" or (tag == "input" and a.get("type", "text").lower() in TEXT_INPUTS):
            self.fields.append((a.get("name", ""), a.get("maxlength")))


def text_fields(html):
    parser = TextFields()
    parser.feed(html)
    return parser.fields


def maxlength_on(response, name):
    """The `maxlength` the page gives the field `name` (which must be there)."""
    assert response.status_code == 200, response.status_code
    found = [m for n, m in text_fields(response.get_data(as_text=True)) if n == name]
    assert found and found[0] and found[0].isdigit(), f"no maxlength on {name!r}: {found}"
    return int(found[0])


def snapshot():
    """A digest per table of its full content (minus what a refusal may touch)."""
    digests = {}
    for table in db.metadata.sorted_tables:
        if table.name not in UNTRACKED_TABLES:
            rows = db.session.execute(db.select(table).order_by(*table.primary_key.columns))
            digests[table.name] = hashlib.sha256(repr(rows.all()).encode()).hexdigest()
    db.session.rollback()
    return digests


def changed_tables(before):
    after = snapshot()
    return sorted(t for t in before if before[t] != after.get(t))


# --------------------------------------------------------------------------- the objects


def contact_of(user, person=True):
    from contacts import operations as contact_ops

    who = contact_ops.create_person(user, name="Ada Martin", language="fr") if person else None
    contact = contact_ops.create_contact(user, channel="phone", person=who)
    db.session.commit()
    return contact


def draft_run(user, level, contact=None):
    """A complete triage run of `user` on a contact, at its proposal, not yet decided."""
    from cases import triage_runs
    from cellule.types import utcnow
    from triage.calendar import get_calendar
    from triage.engine import evaluate
    from triage.examples import LEVEL_ANSWERS
    from triage.loader import get_script

    contact = contact or contact_of(user)
    evaluation = evaluate(get_script("cellule-triage"), LEVEL_ANSWERS[level], language="fr",
                          at=utcnow(), calendar=get_calendar())
    run = triage_runs.record_complete(evaluation, user, contact=contact)
    db.session.commit()
    return run


def decided_run(user, level, contact=None, lower_to=None):
    """A decided run and its case; `lower_to`: a downgrade that waits for its sign-off."""
    from cases import routing
    from triage.calendar import get_calendar

    run = draft_run(user, level, contact)
    decision = routing.Decision(
        level=lower_to or run.proposed_level, route=run.proposed_route,
        reason="The person has found support since." if lower_to else "",
        resources_given=True, coaching_resource_id=0)
    outcome = routing.decide(run, decision, user, get_calendar())
    db.session.commit()
    return run, outcome.case


def free_resource():
    from cases.models import Resource

    resource = Resource(name="Self-help guide", kind="self_help", languages=["fr"],
                        descriptions={}, active=True)
    db.session.add(resource)
    db.session.commit()
    return resource


def open_survey(user):
    """A survey link, answerable now (as mailed when a case closes); return its token."""
    from cases.survey.models import Survey, digest
    from cellule.types import utcnow

    _run, case = decided_run(user, "elevated")
    token = "limits-survey-token-0123456789"
    db.session.add(Survey(case_id=case.id, language="en", status="sent",
                          token_digest=digest(token), sent_at=utcnow(),
                          expires_at=utcnow() + timedelta(days=7)))
    db.session.commit()
    return token


# --------------------------------------------------------------------------- forms


@pytest.fixture
def signed_in(app, make_user):
    """A signed-in client per role (and an anonymous one), with their users."""
    users = {role: make_user(role) for role in ROLES}
    clients = {ANONYMOUS: app.test_client()}
    for role in ROLES:
        clients[role] = app.test_client()
        assert clients[role].login(users[role]).status_code == 302
    return users, clients


def test_every_text_field_of_every_page_shows_its_maximum(app, make_user, signed_in):
    """Every page (demo data, every role, and the steps only some states show: a proposal,
    a sign-off, a closing, a survey, an anonymous case) gives each text field a maxlength."""
    from flask import url_for

    from cellule.demo import run_seeders

    users, clients = signed_in
    run_seeders({role: [make_user(role)] for role in ROLES})
    db.session.commit()
    advisor, psychologist = users["advisor"], users["psychologist"]
    draft = draft_run(advisor, "elevated")
    pending, _case = decided_run(make_user("advisor"), "serious", lower_to="elevated")
    _run, high_case = decided_run(advisor, "high")
    _run, anonymous_case = decided_run(advisor, "elevated", contact_of(advisor, person=False))
    token = open_survey(advisor)

    pages = {role: set() for role in clients}
    with app.test_request_context():
        for rule in html_rules(app):
            if "GET" not in rule.methods:
                continue
            for object_id in ((1, 2) if rule.arguments else (None,)):
                values = {n: arg_value(c, object_id) for n, c in rule._converters.items()}
                for role in clients:
                    pages[role].add(url_for(rule.endpoint, **values))
        pages["advisor"] |= {
            url_for("triage_ui.show_run", run_id=draft.id, step="proposal"),
            url_for("triage_ui.show_run", run_id=draft.id, section="buffers"),
            url_for("cases.case_page", case_id=high_case.id),
            url_for("cases.identify_person_page", case_id=anonymous_case.id),
        }
        pages["psychologist"] |= {url_for("triage_ui.show_run", run_id=pending.id),
                                  url_for("cases.close_step", case_id=high_case.id)}
        pages["admin"].add(url_for("cases.edit_resource", resource_id=1))
        pages[ANONYMOUS].add(url_for("survey.answer", token=token))
    assert psychologist.id not in (pending.created_by_id, pending.decided_by_id)

    seen, missing = set(), set()
    for role, paths in pages.items():
        for path in sorted(paths):
            response = clients[role].get(path)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            for name, maxlength in text_fields(response.get_data(as_text=True)):
                seen.add(name)
                if not (maxlength and maxlength.isdigit() and int(maxlength) > 0):
                    missing.add((path.split("?")[0], name))
    assert not missing, f"text fields without maxlength: {sorted(missing)}"
    # The walk reached the fields this issue is about (and the usual ones).
    expected = {"body", "note", "title", "reason", "safety_note", "summary", "buffers_note",
                "comment", "description_fr", "q", "name", "phone", "email", "password",
                "noticed"}
    assert expected <= seen, f"not reached: {sorted(expected - seen)}"


# --------------------------------------------------------------------------- HTML posts


def html_case(name, users, make_user):
    """(client role, page showing the field, field, post path, other form data, stored(),
    tables a refusal may write) for the field `name`."""
    from flask import url_for

    from cases.models import Note, Referral, Resource, Task, TriageRun
    from contacts.models import Contact

    advisor = users["advisor"]

    def run_of(run_id):
        return lambda: db.session.get(TriageRun, run_id)

    if name in ("note body", "referral note", "task title"):
        _run, case = decided_run(advisor, "elevated")
        resource = free_resource()
        page = url_for("cases.case_page", case_id=case.id)
        if name == "note body":
            return ("advisor", page, "body", url_for("cases.add_note", case_id=case.id),
                    {"visibility": "team"},
                    lambda: db.session.scalar(db.select(Note.body)), ())
        if name == "referral note":
            return ("advisor", page, "note", url_for("cases.add_referral", case_id=case.id),
                    {"resource_id": resource.id},
                    lambda: db.session.scalar(db.select(Referral.note)), ())
        return ("advisor", page, "title", url_for("cases.add_task", case_id=case.id),
                {"kind": "custom", "assignee_id": advisor.id},
                lambda: db.session.scalar(db.select(Task.title).where(Task.kind == "custom")), ())
    if name == "override reason":
        run = draft_run(advisor, "elevated")
        return ("advisor", url_for("triage_ui.show_run", run_id=run.id, step="proposal"),
                "reason", url_for("triage_ui.decide", run_id=run.id),
                {"level": "at_risk", "route": run.proposed_route, "coaching_resource_id": "0"},
                lambda: run_of(run.id)().override_reason, ())
    if name == "sign-off note":
        run, _case = decided_run(make_user("advisor"), "serious", lower_to="elevated")
        return ("psychologist", url_for("triage_ui.show_run", run_id=run.id), "note",
                url_for("triage_ui.signoff", run_id=run.id), {"decision": "approve"},
                lambda: run_of(run.id)().signoff_note, ())
    if name == "safety note":
        from cases import operations as ops

        _run, case = decided_run(advisor, "high")
        tasks = {f"task_{t.id}": "cancelled" for t in ops.open_tasks_of(case)}
        return ("psychologist", url_for("cases.close_step", case_id=case.id), "safety_note",
                url_for("cases.close", case_id=case.id),
                {"outcome": "resolved", "safety_outcome": "other", "version": case.version,
                 "no_safety_plan_reason": "Refusé", **tasks},
                lambda: db.session.get(type(case), case.id).safety_note, ())
    if name == "triage text answer":
        run = draft_run(advisor, "elevated")
        # A section sent back keeps its valid answers on purpose (the draft autosaves).
        return ("advisor", url_for("triage_ui.show_run", run_id=run.id, section="buffers"),
                "buffers_note",
                url_for("triage_ui.save_section", run_id=run.id, section_id="buffers"),
                {"support_person": "yes", "future_plans": "yes"},
                lambda: (run_of(run.id)().answers or {}).get("buffers_note"), ("triage_runs",))
    if name == "what an ambassador noticed":
        return ("ambassador", url_for("contacts.new_referral"), "noticed",
                url_for("contacts.new_referral"), {"name": "Ada Martin", "language": "fr"},
                lambda: db.session.scalar(db.select(Contact.summary).where(
                    Contact.channel == "internal_referral")), ())
    if name == "resource description":
        return ("admin", url_for("cases.edit_resource"), "description_fr",
                url_for("cases.edit_resource"), {"name": "Guide", "kind": "self_help"},
                lambda: (db.session.scalar(db.select(Resource.descriptions)) or {}).get("fr"),
                ())
    raise AssertionError(name)


HTML_FIELDS = ["note body", "referral note", "task title", "override reason", "sign-off note",
               "safety note", "triage text answer", "what an ambassador noticed",
               "resource description"]


@pytest.mark.parametrize("name", HTML_FIELDS)
def test_a_form_refuses_one_character_over_and_takes_the_limit(app, make_user, signed_in,
                                                               name):
    users, clients = signed_in
    with app.test_request_context():
        role, page, field, post, data, stored, may_write = html_case(name, users, make_user)
    client = clients[role]
    limit = maxlength_on(client.get(page), field)

    before = snapshot()
    over = client.post_form(post, {**data, field: CHAR * (limit + 1)})
    assert over.status_code == 422, (name, over.status_code)
    text = over.get_data(as_text=True)
    assert re.search(rf"(at most|longer than) {limit} characters", text, re.I), text[:3000]
    assert set(changed_tables(before)) <= set(may_write), changed_tables(before)
    assert not stored(), "the refused text was stored"
    assert CHAR * (limit + 1) in text, "the form lost what was typed"

    taken = client.post_form(post, {**data, field: CHAR * limit})
    assert taken.status_code in (200, 302, 303), (name, taken.status_code)
    assert stored() == CHAR * limit


def test_the_identify_search_refuses_a_query_over_its_limit(app, signed_in):
    users, clients = signed_in
    _run, case = decided_run(users["advisor"], "elevated", contact_of(users["advisor"], False))
    client = clients["advisor"]
    limit = maxlength_on(client.get(f"/cases/{case.id}/person"), "q")
    over = client.post_form(f"/cases/{case.id}/person/search", {"q": "x" * (limit + 1)})
    assert over.status_code == 422
    assert f"At most {limit} characters" in over.get_data(as_text=True)
    assert client.post_form(f"/cases/{case.id}/person/search",
                            {"q": "x" * limit}).status_code == 200


# --------------------------------------------------------------------------- JSON API


def _resolve(document, schema):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _strings(document, schema, where):
    """Yield (where, schema) for every string schema inside `schema`."""
    schema = _resolve(document, schema)
    types = schema.get("type", [])
    if "string" in (types if isinstance(types, list) else [types]):
        yield where, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _strings(document, sub, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _strings(document, schema[key], f"{where}[]")
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _strings(document, sub, where)


def test_the_openapi_document_bounds_every_string_of_every_request_body(client):
    """Every string a client may send in a body has a maxLength (or is one of an enum).
    Dates (`format: date-time`) are bounded by their own checks: a date, not text."""
    document = client.get("/api/v1/openapi.json").get_json()
    bodies, unbounded = 0, []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = (operation.get("requestBody") or {}).get("content", {})
            for content in body.values():
                bodies += 1
                for where, schema in _strings(document, content["schema"], f"{method} {path}"):
                    if "enum" in schema or schema.get("format") == "date-time":
                        continue
                    if not isinstance(schema.get("maxLength"), int):
                        unbounded.append(where)
    assert bodies >= 6
    assert not unbounded, f"strings without maxLength: {unbounded}"


def _schema_at(document, path, method, dotted):
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"][
        "schema"]
    for name in dotted.split("."):
        schema = _resolve(document, schema)
        if name == "*":
            schema = next(s for s in schema["additionalProperties"]["oneOf"]
                          if s.get("type") == "string")
        else:
            schema = schema["properties"][name]
    return _resolve(document, schema)


def api_case(name, users):
    """(role, path, documented path, body builder, dotted field, error field, count()) of `name`."""
    from cases.models import Note, TriageRun
    from contacts.models import Contact, ScreenPop

    def count(model):
        return lambda: db.session.scalar(db.select(db.func.count()).select_from(model))

    advisor = users["advisor"]
    if name in ("contact summary", "person name", "person phone"):
        field = {"contact summary": "summary", "person name": "person.name",
                 "person phone": "person.phone"}[name]

        def body(value):
            person = {"name": "Ada Martin", "language": "fr"}
            data = {"channel": "phone", "person": person}
            if "." in field:
                person[field.split(".")[1]] = value
            else:
                data[field] = value
            return data

        return ("advisor", "/api/v1/contacts", "/contacts", body, field, field, count(Contact))
    if name == "note body":
        _run, case = decided_run(advisor, "elevated")
        return ("advisor", f"/api/v1/cases/{case.id}/notes", "/cases/{id}/notes",
                lambda v: {"body": v, "visibility": "team"}, "body", "body", count(Note))
    if name == "safety note":
        _run, case = decided_run(advisor, "high")
        return ("psychologist", f"/api/v1/cases/{case.id}/close", "/cases/{id}/close",
                lambda v: {"outcome": "resolved", "version": case.version,
                           "safety_outcome": "other", "safety_note": v,
                           "no_safety_plan_reason": "Refusé"},
                "safety_note", "safety_note",
                lambda: db.session.get(type(case), case.id).status)
    if name in ("triage notes", "triage text answer"):
        from triage.examples import LEVEL_ANSWERS

        answers = dict(LEVEL_ANSWERS["elevated"])
        if name == "triage notes":
            return ("advisor", "/api/v1/triage/evaluate", "/triage/evaluate",
                    lambda v: {"answers": answers, "notes": v}, "notes", "notes",
                    lambda: None)
        return ("advisor", "/api/v1/triage/evaluate", "/triage/evaluate",
                lambda v: {"answers": {**answers, "buffers_note": v}}, "answers.*",
                "answers.buffers_note", lambda: None)
    if name == "contact triage notes":
        contact = contact_of(advisor)
        from triage.examples import LEVEL_ANSWERS

        return ("advisor", f"/api/v1/contacts/{contact.id}/triage", "/contacts/{id}/triage",
                lambda v: {"answers": LEVEL_ANSWERS["elevated"], "notes": v},
                "notes", "notes", count(TriageRun))
    if name in ("call id", "caller number"):
        field = {"call id": "call_id", "caller number": "from"}[name]
        return ("advisor", "/api/v1/telephony/calls", "/telephony/calls",
                lambda v: {"call_id": "c-1", "from": "+3225550101", "event": "ringing",
                           field: v}, field, field, count(ScreenPop))
    raise AssertionError(name)


API_FIELDS = ["contact summary", "person name", "person phone", "note body", "safety note",
              "triage notes", "triage text answer", "contact triage notes", "call id",
              "caller number"]


@pytest.mark.parametrize("name", API_FIELDS)
def test_the_api_refuses_one_character_over_naming_the_field(app, api_client, name):
    client, advisor = api_client("advisor")
    role, path, documented, body, dotted, error_field, written = api_case(
        name, {"advisor": advisor})
    if role != "advisor":
        client, _user = api_client(role)
    document = client.get("/api/v1/openapi.json").get_json()
    limit = _schema_at(document, documented, "post", dotted)["maxLength"]
    client.get("/api/v1/me")  # the token's first use of the minute is written: not a refusal

    before, written_before = snapshot(), written()
    over = client.post(path, json=body(CHAR * (limit + 1)))
    assert over.status_code == 422, (name, over.status_code, over.get_json())
    assert error_field in over.get_json()["fields"], over.get_json()
    assert str(limit) in over.get_json()["fields"][error_field]
    assert changed_tables(before) == [] and written() == written_before

    taken = client.post(path, json=body(CHAR * limit))
    assert taken.status_code in (200, 201), (name, taken.status_code, taken.get_json())
