"""The templates' `_`, `gettext` and `ngettext` (cellule.templating: one call deep, each
message looked up once per request and language) say exactly what Jinja's own new-style
callables say: the translation, its variables escaped, `%%` as `%`, plurals, and the language
of a `force_locale` block (an email in the recipient's language) inside a page's request."""

import jinja2
import pytest
from flask_babel import force_locale, get_translations

SNIPPETS = [
    "{{ _('Nothing here.') }}",
    "{{ _('Claim %(ref)s', ref=ref) }}",
    "{{ gettext('Claim %(ref)s', ref='<b>x</b>') }}",
    "{{ _('100%% sure') }}",
    "{{ _('<b>%(who)s</b> said', who=ref) }}",  # a message's own markup is kept, not escaped
    "{{ _('<b>plain</b>') }}",
    "{{ ngettext('%(num)s case', '%(num)s cases', n) }}",
    "{{ ngettext('%(num)s case', '%(num)s cases', 1) }}",
    "{{ ngettext('%(num)s case', '%(num)s cases', n, num='many') }}",
    "{% trans %}Nothing here.{% endtrans %}",
    "{% trans count=n %}{{ count }} case{% pluralize %}{{ count }} cases{% endtrans %}",
]


def _stock(autoescape):
    """Jinja's stock new-style callables over Flask-Babel's catalogue of the moment."""
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=autoescape)
    env.install_gettext_callables(
        gettext=lambda s: get_translations().ugettext(s),
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        newstyle=True)
    return env


@pytest.mark.parametrize("autoescape", [True, False])
@pytest.mark.parametrize("language", ["fr", "nl", "de", "en"])
def test_the_same_words_as_jinjas_own_callables(app, language, autoescape):
    stock = _stock(autoescape)
    ours = app.jinja_env.overlay(autoescape=autoescape)
    values = {"ref": "<i>2026-0001</i>", "n": 3}
    with app.test_request_context("/"), force_locale(language):
        for snippet in SNIPPETS:
            for _ in range(2):  # the second time from the request's memo
                assert ours.from_string(snippet).render(values) == \
                    stock.from_string(snippet).render(values), snippet
    with app.test_request_context("/"), force_locale("fr"):
        said = ours.from_string("{{ _('Claim %(ref)s', ref=ref) }}").render(values)
    assert said == ("Prendre en charge &lt;i&gt;2026-0001&lt;/i&gt;" if autoescape
                    else "Prendre en charge <i>2026-0001</i>")


def test_a_forced_language_inside_a_request_then_back(app):
    page = app.jinja_env.from_string("{{ _('Nothing here.') }} {{ ngettext('%(num)s case', "
                                     "'%(num)s cases', 2) }}")
    with app.test_request_context("/"), force_locale("fr"):
        assert page.render() == "Rien à afficher. 2 dossiers"
        with force_locale("en"):
            assert page.render() == "Nothing here. 2 cases"
        assert page.render() == "Rien à afficher. 2 dossiers"
