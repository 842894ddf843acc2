"""Hypothesis on every form's POST (ASVS V2.2, V16.5): random and hostile values in the
fields each page really renders, as every role, on real demo objects and missing ones.

Asserted for every request: never a 5xx; and when the answer refuses the input (4xx),
nothing was written — every table is as it was (the audit log, which records refusals, and
the session table excepted). The number of requests sent is printed.

The odd input of issue 13 is generated too (tests/security/odd.py): dates at the edges of
the calendar in every date field, lone surrogates in texts (sent as their invalid UTF-8
bytes, urlencoded or multipart); and every page a role opens is requested again with odd
query strings — forged `cursor`/`after`, edge dates in `from`/`to` and its filter fields.

The examples are the same from run to run (Hypothesis derandomised; `CELLULE_FUZZ_SEED=<n>`
explores others, tests/security/fuzzing.py).
"""

import fcntl
import hashlib
import json
import os
import tempfile
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from cellule import create_app
from cellule.extensions import db
from tests.conftest import base_config
from tests.security import odd
from tests.security.forms import encode_form, endpoint_of, forms_on, merge_fields, query_string
from tests.security.fuzzing import fuzz_settings
from tests.security.routes import ALL, ANONYMOUS, ROLES, arg_value, html_rules

EXAMPLES = int(os.environ.get("CELLULE_FORM_FUZZ_EXAMPLES", "25"))
SLOW_AND_LARGE = [HealthCheck.too_slow, HealthCheck.data_too_large]
# Writes that a refused request may legitimately make (its audit row, the session's clock).
UNTRACKED_TABLES = {"audit_events", "user_sessions"}
UNTRACKED_COLUMNS = {("users", "totp_pending_secret"), ("users", "totp_last_step")}
REFUSALS = {400, 401, 403, 404, 405, 409, 413, 415, 422, 429}
# Refusals that keep a draft on purpose (autosave of a triage in progress, consistent on its
# own): endpoint → the tables it may write while answering 422. "Immediate danger" ticked
# alerts the supervisors at once even when another answer of the section is still missing
# (DESIGN §9: an unanswered question never delays the alert): the case opened or raised,
# the contact linked to it, its timeline, the alert tasks and their mails (outbox, mail log,
# notices), and the case's follow-up protocol (issue 19: an imminent case is followed up).
ALERT_WRITES = {"cases", "case_contacts", "case_events", "tasks", "outbox", "mail_log",
                "notices_sent", "follow_up_protocols"}
DRAFT_WRITES = {
    "triage_ui.start_post": {"triage_runs", *ALERT_WRITES},
    "triage_ui.save_section": {"triage_runs", *ALERT_WRITES},
}
# Sign-out ends the session every later example needs; it has no fields anyway.
NOT_FUZZED = {"auth.logout"}
# Object ids tried for path arguments: the demo data's first rows, and one that is missing.
OBJECT_IDS = (1, 2, 3, 4, 5, 999_999)


def _post_rules():
    app = create_app(
        base_config("sqlite://", "redis://127.0.0.1:1/0"), tempfile.mkdtemp(prefix="cel-")
    )
    rules = [
        r for r in html_rules(app) if "POST" in r.methods and r.endpoint not in NOT_FUZZED
    ]
    return [(r.rule, r.endpoint) for r in rules]


POST_RULES = _post_rules()
COUNTS = {"requests": 0, "routes": 0, "forms_found": 0, "get_requests": 0, "odd_queries": 0}


def snapshot():
    """A digest per table of its full content (minus what a refusal may touch).

    One statement reads every table: each row as the database writes it as text (every
    column, in primary-key order), digested by the database on PostgreSQL — ~40 round trips
    and the rows' conversion to Python cost several times more, once or twice per example.
    On PostgreSQL the statement is prepared at once on each pooled connection (planning its
    ~40 scans costs more than running them on the demo data: 2 ms instead of 7) and the
    read ends with COMMIT — at a ROLLBACK psycopg forgets the prepared statements."""
    query = _snapshot_query(db.engine.dialect)
    if db.engine.dialect.name == "postgresql":
        driver = db.session.connection().connection.driver_connection
        rows = driver.execute(query, prepare=True).fetchall()
    else:
        rows = db.session.execute(db.text(query)).all()
    db.session.commit()
    return {name: hashlib.sha256((content or "").encode()).hexdigest() for name, content in rows}


_SNAPSHOT_QUERIES = {}


def _snapshot_query(dialect):
    """The query of `snapshot()`: per tracked table, its name and its content as one text."""
    if dialect.name in _SNAPSHOT_QUERIES:
        return _SNAPSHOT_QUERIES[dialect.name]
    quote = dialect.identifier_preparer.quote
    parts = []
    for table in db.metadata.sorted_tables:
        if table.name in UNTRACKED_TABLES:
            continue
        columns = [quote(c.name) for c in table.columns
                   if (table.name, c.name) not in UNTRACKED_COLUMNS]
        order = ", ".join(quote(c.name) for c in table.primary_key.columns)
        if dialect.name == "postgresql":
            content = (f"md5(string_agg(ROW({', '.join(columns)})::text, E'\\n'"
                       f" ORDER BY {order}))")
            parts.append(f"SELECT '{table.name}', {content} FROM {quote(table.name)}")
        else:  # SQLite: quote() writes each value back as an SQL literal, exactly
            row = " || ',' || ".join(f"quote({c})" for c in columns)
            rows = f"SELECT {row} AS r FROM {quote(table.name)} ORDER BY {order}"
            parts.append(f"SELECT '{table.name}', (SELECT group_concat(r, char(10)) FROM ({rows}))")
    _SNAPSHOT_QUERIES[dialect.name] = " UNION ALL ".join(parts)
    return _SNAPSHOT_QUERIES[dialect.name]


@pytest.fixture
def world(app, make_user, database_snapshot, tmp_path_factory):
    """Users of every role signed in, the demo data seeded, the forms of every page found.

    The first users (ids 1–5, which the fuzzer picks as object ids) are others, so that an
    administrator's fuzzed "deactivate user 3" does not sign the fuzzing clients out.
    The seeded rows and the signed-in sessions are built once and put back for each test.
    """
    from cellule.models import User

    cookie = app.config["SESSION_COOKIE_NAME"]

    def build():
        from cellule.demo import run_seeders

        others = {role: [make_user(role)] for role in ROLES}
        run_seeders(others)
        signed_in = {role: make_user(role) for role in ROLES}
        db.session.commit()
        cookies = {}
        for role in ROLES:
            client = app.test_client()
            assert client.login(signed_in[role]).status_code == 302
            cookies[role] = client.get_cookie(cookie).value
        return {role: user.id for role, user in signed_in.items()}, cookies

    user_ids, cookies = database_snapshot("test_form_fuzz.world", build)
    clients = {ANONYMOUS: app.test_client()}
    for role in ROLES:
        clients[role] = app.test_client()
        clients[role].set_cookie(cookie, cookies[role])
    signed_in = {role: db.session.get(User, id) for role, id in user_ids.items()}
    # pytest-xdist workers find the same forms on the same world: one finds them for all.
    shared = tmp_path_factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") \
        else None
    forms, pages = _find_forms(app, clients, shared)
    return {"users": signed_in, "clients": clients, "forms": forms, "pages": pages}


_FORMS_CACHE = {}


def _find_forms(app, clients, shared=None):
    """(endpoint → fields of its POST forms, [(role, page, fields of its GET forms)] of
    the pages that role opens), from every GET page (with the demo ids) as every role.

    Found once per process, or once per run when `shared` names a directory the processes
    of the run share (the first one writes what it found there, under a lock, for the others:
    opening every page as every role costs several seconds)."""
    key = tuple(sorted(r.rule for r in app.url_map.iter_rules()))
    if key not in _FORMS_CACHE and shared is None:
        _FORMS_CACHE[key] = _open_every_page(app, clients)
    elif key not in _FORMS_CACHE:
        path = shared / f"form-fuzz-{hashlib.sha256(repr(key).encode()).hexdigest()[:16]}.json"
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.exists():
                path.write_text(json.dumps(_open_every_page(app, clients)))
            found, opened = json.loads(path.read_text())
        _FORMS_CACHE[key] = found, [tuple(page) for page in opened]
    return _FORMS_CACHE[key]


def _open_every_page(app, clients):
    found = {}
    opened = []
    pages = set()
    for rule in html_rules(app):
        if "GET" not in rule.methods:
            continue
        ids = (1, 2) if rule.arguments else (None,)
        for object_id in ids:
            values = {n: arg_value(c, object_id) for n, c in rule._converters.items()}
            with app.test_request_context():
                from flask import url_for

                pages.add(url_for(rule.endpoint, **values))
    for role, client in clients.items():
        for path in sorted(pages):
            response = client.get(path)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            html = response.get_data(as_text=True)
            for form in forms_on(path, html):
                endpoint = endpoint_of(app, form["action"])
                if endpoint:
                    merge_fields(found.setdefault(endpoint, {}), form["fields"])
            query_fields = {}
            for form in forms_on(path, html, method="get"):
                if urlsplit(form["action"]).path == urlsplit(path).path:
                    merge_fields(query_fields, form["fields"])
            if path not in SKIPPED_PAGES:
                opened.append((role, path, query_fields))
    return found, opened


HOSTILE = st.sampled_from(
    [
        "", " ", "0", "-1", "1e309", "NaN", "9" * 40, "null", "true", "[]", "{}",
        "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd", "%00", "\u202e",
        "é" * 300, "x" * 5000, "2025-02-30", "2025-13-01T25:61", "+32 000", "@",
        "a@b", "\r\nSet-Cookie: x=1", "𝕏🙂", "\t", "1; DROP TABLE users", "\ud800",
        "a\udfffb", "%ED%A0%80", "[" * 3000, *odd.EDGE_DATES, *odd.EDGE_LOCAL,
        *odd.EDGE_INSTANTS,
    ]
)
PLAIN_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=300,
)
# Texts with a lone surrogate now and then (the encoder sends its invalid UTF-8 bytes).
TEXT = st.one_of(PLAIN_TEXT, PLAIN_TEXT.flatmap(odd.with_lone_surrogate))
# Date inputs get dates at the edges of the calendar most of the time.
EDGE_VALUES = {
    "date": st.one_of(odd.edge_dates(), odd.edge_local_times()),
    "datetime-local": st.one_of(odd.edge_local_times(), odd.edge_instants(), odd.edge_dates()),
}


def field_value(field):
    choices = [TEXT, HOSTILE]
    if field["kind"] in EDGE_VALUES:
        choices[:0] = [EDGE_VALUES[field["kind"]]] * 2
    if field["options"]:
        choices.insert(0, st.sampled_from(field["options"]))
        choices.insert(0, st.sampled_from(field["options"]))  # mostly valid options
    return st.one_of(*choices)


def form_data(fields):
    required = {name: field_value(field) for name, field in fields.items()}
    return st.fixed_dictionaries(
        {},
        optional={
            **required,
            **{f"x_{n}": TEXT for n in range(2)},
        },
    )


def path_for(app, rule_text, endpoint, object_id, draw_any):
    rule = next(r for r in app.url_map.iter_rules() if r.rule == rule_text)
    values = {}
    for name, converter in rule._converters.items():
        value = arg_value(converter, object_id)
        if hasattr(converter, "items"):
            value = draw_any(sorted(converter.items))
        values[name] = value
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


@pytest.mark.parametrize("rule_text, endpoint", POST_RULES, ids=[r for r, _ in POST_RULES])
def test_form_post_never_fails_and_refusals_write_nothing(app, world, rule_text, endpoint):
    fields = world["forms"].get(endpoint, {})
    COUNTS["forms_found"] += bool(fields)
    COUNTS["routes"] += 1

    @given(
        role=st.sampled_from(ALL),
        object_id=st.sampled_from(OBJECT_IDS),
        data=form_data(fields),
        choose=st.data(),
        htmx=st.booleans(),
        multipart=st.booleans(),
    )
    def attempt(role, object_id, data, choose, htmx, multipart):
        client = world["clients"][role]
        path = path_for(
            app, rule_text, endpoint, object_id, lambda items: choose.draw(st.sampled_from(items))
        )
        before = state["after"] or snapshot()
        state["after"] = None
        headers = {"HX-Request": "true"} if htmx else {}
        body, content_type = encode_form({**data, "csrf_token": token(role)}, multipart)
        response = client.post(path, data=body, content_type=content_type, headers=headers)
        COUNTS["requests"] += 1
        status = response.status_code
        assert status < 500, (endpoint, role, path, data, response.get_data(as_text=True)[:500])
        if status in REFUSALS:
            # What the refusal left is where the next example starts, unless it signs in
            # again below (that writes the user's last sign-in).
            after = state["after"] = snapshot()
            allowed = DRAFT_WRITES.get(endpoint, set()) if status == 422 else set()
            changed = [t for t in before if before[t] != after.get(t) and t not in allowed]
            assert not changed, f"{endpoint} answered {status} but wrote to {changed}"
        # Whatever happened, this client must still be signed in for the next example.
        if role != ANONYMOUS and endpoint.startswith(("account.", "auth.", "users.")):
            if client.get("/").status_code != 200:
                assert client.login(world["users"][role]).status_code == 302
                tokens.pop(role, None)
                state["after"] = None

    tokens = {}
    state = {"after": None}  # the tables' digests after the last example, when known

    def token(role):
        if role not in tokens:
            tokens[role] = world["clients"][role].csrf_token()
        return tokens[role]

    fuzz_settings(attempt, max_examples=EXAMPLES, suppress_health_check=SLOW_AND_LARGE)()


# Query parameters every page is tried with (lists page with `cursor` or `after`, reports
# read `from`/`to`), besides the fields of its own GET forms.
ODD_PARAMS = {
    "cursor": odd.forged_cursors(),
    "after": odd.forged_cursors(),
    "from": st.one_of(odd.edge_dates(), HOSTILE),
    "to": st.one_of(odd.edge_dates(), HOSTILE),
}
# Pages whose GET has an effect the next examples would feel (signing in, one-off links).
SKIPPED_PAGES = {"/logout", "/login/code", "/login/enrol"}


def query_value(name, field):
    if name in ODD_PARAMS:
        return ODD_PARAMS[name]
    return field_value(field)


def test_pages_with_odd_query_strings_never_fail(app, world):
    """Every page a role opens, again with odd query strings: forged cursors, edge dates,
    hostile filter values (lone surrogates %-escaped as their UTF-8 bytes)."""
    pages = {}  # path → (roles that open it, fields of its GET forms)
    for role, path, fields in world["pages"]:
        roles, known = pages.setdefault(path, ([], {}))
        roles.append(role)
        merge_fields(known, fields)
    assert {"/board", "/inbox", "/queues/psychology", "/my/cases", "/reports/"} <= set(pages)
    targets = sorted(pages.items())

    @given(target=st.sampled_from(targets), choose=st.data(), htmx=st.booleans())
    def attempt(target, choose, htmx):
        path, (roles, fields) = target
        role = choose.draw(st.sampled_from(roles))
        names = sorted({*ODD_PARAMS, *fields})
        chosen = choose.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4,
                                      unique=True))
        params = {n: choose.draw(query_value(n, fields.get(n, {"kind": "text", "options": []})))
                  for n in chosen}
        url = path + ("&" if "?" in path else "?") + query_string(params)
        headers = {"HX-Request": "true"} if htmx else {}
        response = world["clients"][role].get(url, headers=headers)
        COUNTS["get_requests"] += 1
        COUNTS["odd_queries"] += bool(set(chosen) & set(ODD_PARAMS))
        assert response.status_code < 500, (role, url[:500], response.get_data(as_text=True)[:500])

    fuzz_settings(attempt, max_examples=max(100, EXAMPLES * 8),
                  suppress_health_check=SLOW_AND_LARGE)()


def test_zz_form_fuzzing_summary(capsys):
    """Print how much was fuzzed (runs last in this module)."""
    with capsys.disabled():
        print(
            f"\nform fuzzing: {COUNTS['requests']} POST requests over {COUNTS['routes']} of "
            f"{len(POST_RULES)} routes ({COUNTS['forms_found']} with fields found on pages), "
            f"{COUNTS['get_requests']} GET requests with odd query strings "
            f"({COUNTS['odd_queries']} with forged cursors or edge dates), zero 5xx"
        )
    if COUNTS["requests"]:
        # Spread over processes (pytest-xdist), each counts the routes it fuzzed.
        assert COUNTS["requests"] >= COUNTS["routes"]
