"""The screen check: every main page of every role (tests/ui/pages.py), walked as a person
does in the demo world, must fit its width, log no console error, show no English string of
the catalogue in French, Dutch or German, and pass axe-core's rules.

One browser context per role and width, in one of the three translations (they take turns
over the roles, so that each language is seen at both widths); axe runs at 1366 px.
A failure lists every problem as `role width language / page: what`.
"""

import functools
import pathlib

import pytest

from . import pages

pytestmark = pytest.mark.browser

LANGUAGES = ("fr", "nl", "de")


def language_for(role, width):
    """advisor fr/nl, ambassador de/fr, psychologist nl/de, supervisor fr/nl, admin de/fr."""
    turn = pages.ROLES.index(role) * len(pages.WIDTHS) + pages.WIDTHS.index(width)
    return LANGUAGES[turn % len(LANGUAGES)]


# axe-core rules not checked, each with its reason (none today).
AXE_EXCLUDED = {}

TRANSLATIONS = pathlib.Path(__file__).parents[2] / "cellule" / "translations"


@functools.cache
def axe_source():
    import axe_playwright_python

    return (pathlib.Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


@functools.cache
def translated_msgids(language):
    """The catalogue's English strings that `language` translates differently: shown as
    they are on a page in that language, they were not translated — unless the very same
    words translate another string there (French "Administration")."""
    from babel.messages.pofile import read_po

    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    found, translations = set(), set()
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not message.id or not any(strings):
            continue
        said = {" ".join(s.split()) for s in strings}
        translations |= said
        found |= {" ".join(msgid.split()) for msgid in ids} - said
    # A language named in its own tongue ("English" on the reply templates) is meant so.
    from contacts.labels import LANGUAGE_LABELS

    return frozenset(found - translations - {""} - set(LANGUAGE_LABELS.values()))


# The visible text nodes and the labels a screen reader reads, whitespace collapsed; the
# language menu names each language in its own tongue ("English") and is left out.
SHOWN_TEXT = """() => {
  const out = new Set();
  const norm = s => (s || "").replace(/\\s+/g, " ").trim();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest("script, style, #language-select")) continue;
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    const text = norm(node.textContent);
    if (text) out.add(text);
  }
  const labelled = "[placeholder], [aria-label], [title], img[alt], input[type=submit][value]";
  for (const el of document.body.querySelectorAll(labelled)) {
    if (el.closest("#language-select")) continue;
    for (const name of ["placeholder", "aria-label", "title", "alt", "value"]) {
      if (name === "value" && el.type !== "submit") continue;
      const text = norm(el.getAttribute(name));
      if (text) out.add(text);
    }
  }
  return [...out];
}"""

# What sticks out past the right edge of the window: the widest few elements.
OVERFLOW = """(width) => {
  const doc = document.documentElement;
  if (doc.scrollWidth <= width) return null;
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 1 && box.width > 0 && el.checkVisibility()) {
      wide.push([box.right, el]);
    }
  }
  wide.sort((a, b) => b[0] - a[0]);
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.classList.length ? "." + [...el.classList].join(".") : "");
  const inner = ([, el]) => !wide.some(([, other]) => other !== el && el.contains(other));
  const said = ([right, el]) => `${name(el)} (right edge ${Math.round(right)})`;
  return {scrollWidth: doc.scrollWidth, elements: wide.filter(inner).slice(0, 3).map(said)};
}"""

AXE_RUN = """async (excluded) => {
  const rules = Object.fromEntries(excluded.map(id => [id, {enabled: false}]));
  const result = await axe.run(document, {resultTypes: ["violations"], rules});
  const where = v => v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ");
  return result.violations.map(v => `${v.id} (${v.impact}): ${where(v)}`);
}"""


def check_page(page, width, language, run_axe):
    """The problems of the page shown now (but its console errors: see the test)."""
    problems = []
    overflow = page.evaluate(OVERFLOW, width)
    if overflow:
        problems.append(f"wider than the window: {overflow['scrollWidth']} px;"
                        f" {'; '.join(overflow['elements'])}")
    raw = sorted(set(page.evaluate(SHOWN_TEXT)) & translated_msgids(language))
    if raw:
        problems.append(f"untranslated: {raw}")
    if run_axe:
        for violation in page.evaluate(AXE_RUN, list(AXE_EXCLUDED)):
            problems.append(f"axe {violation}")
    return problems


@pytest.fixture
def world(database_snapshot):
    return database_snapshot("ui-demo-world", pages.build_world)


def console_listener(messages):
    def listen(message):
        if message.type == "error":
            messages.append(message.text)
    return listen


@pytest.mark.parametrize("width", pages.WIDTHS)
@pytest.mark.parametrize("role", pages.ROLES)
def test_screens(browser, live_server, world, role, width):
    language, run_axe = language_for(role, width), width == pages.WIDTHS[0]
    context = browser.new_context(viewport={"width": width, "height": pages.HEIGHT},
                                  locale="en-GB", timezone_id="Europe/Brussels")
    if run_axe:  # in every page from its start: sent to the browser once, not per page
        context.add_init_script(script=axe_source())
    console = []
    context.on("console", console_listener(console))
    context.on("weberror", lambda error: console.append(f"uncaught: {error.error}"))
    page = context.new_page()
    problems = []
    try:
        pages.sign_in(page, live_server, world[role], language)
        seen = []
        for name in pages.walk(page, role, problems):
            seen.append(name)
            found = check_page(page, width, language, run_axe)
            found += [f"console error: {text}" for text in console]
            console.clear()
            problems += [f"{name}: {problem}" for problem in found]
    finally:
        context.close()
    assert len(seen) > 3, seen
    where = f"{role} {width} {language}"
    assert not problems, "\n".join(f"{where} / {problem}" for problem in problems)
