"""The audit log says what happened in words, in the reader's language, never by its action
code (issue 18): one labels table, `cellule.audit.ACTION_LABELS`, covers every code the
source writes; an unknown code (an old row) shows as it is stored."""

import ast
import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from cellule.audit import ACTION_LABELS, action_label
from cellule.extensions import db
from cellule.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cellule", "contacts", "triage", "cases")
# The codes `record` gets through a variable: the callers of these helpers pass them.
INDIRECT = {"wrong_enrolment_code": 1}


def _constants(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _constants(node.body) | _constants(node.orelse)
    return set()


def _written_codes():
    """The action codes the source passes to `audit.record` (or to a helper that does)."""
    codes, unread = {"read", "list", "denied"}, []
    for path in (p for package in PACKAGES for p in (ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text())
        assigned = {target.id: _constants(node.value) for node in ast.walk(tree)
                    if isinstance(node, ast.Assign) for target in node.targets
                    if isinstance(target, ast.Name)}
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            func = call.func
            name = getattr(func, "attr", None) or getattr(func, "id", None)
            if name == "record" and getattr(getattr(func, "value", None), "id", "") == "audit":
                argument = call.args[0] if call.args else None
            elif name in INDIRECT and len(call.args) > INDIRECT[name]:
                argument = call.args[INDIRECT[name]]
            else:
                continue
            found = _constants(argument) or (
                assigned.get(argument.id, set()) if isinstance(argument, ast.Name) else set())
            if found:
                codes |= found
            elif not (isinstance(argument, ast.Name) and argument.id == "action"
                      and name == "record" and path.name == "auth.py"):
                unread.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    return codes, unread


def test_every_action_code_of_the_source_has_a_label():
    codes, unread = _written_codes()
    assert not unread, f"action codes the test cannot read: {unread}"
    assert len(codes) > 40
    assert sorted(codes - set(ACTION_LABELS)) == []


def test_an_unknown_code_is_shown_as_it_is_stored(app):
    assert action_label("an_old_code") == "an_old_code"
    with force_locale("en"):
        assert action_label("login") == "Signed in"


def _action_cells(html):
    rows = re.findall(r"<tr><td>.*?</tr>", html, re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[2].strip() for row in rows]


@pytest.mark.parametrize("language", ["fr", "nl", "de"])
def test_the_audit_log_shows_no_raw_code(client, login_as, language):
    supervisor = login_as("supervisor")
    client.post_form("/language", {"language": language})
    db.session.add_all([AuditEvent(user_id=supervisor.id, action=code, object_type="case",
                                   object_id="7") for code in [*ACTION_LABELS, "an_old_code"]])
    db.session.commit()
    html = client.get("/audit?object_type=case&object_id=7").get_data(as_text=True)
    cells = _action_cells(html)
    assert len(cells) == len(ACTION_LABELS) + 1
    assert not set(cells) & set(ACTION_LABELS), "a raw action code is shown"
    assert "<code>" not in html
    assert cells[0] == "an_old_code"  # newest first: the unknown code, as stored
    with force_locale(language):
        expected = [str(ACTION_LABELS[code]) for code in reversed(list(ACTION_LABELS))]
    assert [cell.replace("&#39;", "'") for cell in cells[1:]] == expected
    refused = {"fr": "Accès refusé", "nl": "Toegang geweigerd", "de": "Zugriff verweigert"}
    assert refused[language] in cells  # a label the catalogues already hold
