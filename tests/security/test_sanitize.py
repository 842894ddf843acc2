"""HTML of received emails is sanitised with nh3 before display (ASVS V1.3)."""

import pytest
from flask import render_template_string

from cellule.security import sanitize_html


@pytest.mark.parametrize(
    "dirty, forbidden",
    [
        ("<script>alert(1)</script>hello", "alert"),
        ('<img src="https://tracker.example/p.gif" onerror="alert(1)">', "<img"),
        ('<a href="javascript:alert(1)">x</a>', "javascript"),
        ('<p style="position:fixed">x</p>', "style"),
        ("<style>body{display:none}</style>text", "display"),
        ('<iframe src="https://evil.example"></iframe>', "iframe"),
        ('<form action="https://evil.example"><input name="pw"></form>', "<form"),
        ('<svg onload="alert(1)"><circle/></svg>', "onload"),
        ("<!-- secret comment -->visible", "secret"),
        ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', "data:"),
        ('<div onclick="steal()">x</div>', "onclick"),
        ('<meta http-equiv="refresh" content="0;url=https://evil.example">', "refresh"),
        ('<base href="https://evil.example/">', "<base"),
    ],
)
def test_dangerous_markup_is_removed(dirty, forbidden):
    assert forbidden not in sanitize_html(dirty)


def test_harmless_formatting_and_links_are_kept():
    clean = sanitize_html(
        '<p>Bonjour <b>Madame</b>,<br><a href="https://www.example.be/aide">aide</a></p>'
        "<ul><li>un</li></ul><table><tr><td colspan=2>x</td></tr></table>"
    )
    assert "<b>Madame</b>" in clean and "<li>un</li>" in clean
    assert 'href="https://www.example.be/aide"' in clean
    assert 'rel="noopener noreferrer nofollow"' in clean
    assert 'colspan="2"' in clean


def test_empty_input():
    assert sanitize_html(None) == "" and sanitize_html("") == ""


def test_jinja_filter_renders_sanitised_markup(app):
    with app.test_request_context():
        out = render_template_string(
            "{{ body|safe_email_html }}", body="<b>ok</b><script>alert(1)</script>"
        )
    assert out == "<b>ok</b>"
