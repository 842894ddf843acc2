"""A browser's User-Agent string as a person reads it: "Chrome 156 on Linux".

A tiny parser (no library in requirements does it): the browsers and systems the cell's
staff use, looked for in the order that keeps each one apart from those it imitates (Edge and
Opera say "Chrome", Chrome says "Safari", Android says "Linux"). Only the major version.
"""

import re

from flask_babel import gettext as _

# (name, pattern whose group 1 is the version), the first match wins.
BROWSERS = (
    ("Edge", r"Edg(?:e|A|iOS)?/(\d+)"),
    ("Opera", r"(?:OPR|Opera)/(\d+)"),
    ("Samsung Internet", r"SamsungBrowser/(\d+)"),
    ("Firefox", r"(?:Firefox|FxiOS)/(\d+)"),
    ("Chromium", r"Chromium/(\d+)"),
    ("Chrome", r"(?:HeadlessChrome|Chrome|CriOS)/(\d+)"),
    ("Safari", r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/"),
)
SYSTEMS = (
    ("Windows", r"Windows NT"),
    ("iOS", r"iPhone|iPad|iPod"),
    ("Android", r"Android"),
    ("ChromeOS", r"CrOS"),
    ("macOS", r"Mac OS X|Macintosh"),
    ("Linux", r"Linux|X11"),
)


def browser(agent):
    """(name, major version) of the browser, or (None, None)."""
    for name, pattern in BROWSERS:
        match = re.search(pattern, agent or "")
        if match:
            return name, match.group(1)
    return None, None


def system(agent):
    return next((name for name, pattern in SYSTEMS if re.search(pattern, agent or "")), None)


def describe(agent):
    """"Chrome 156 on Linux", "Firefox 140", "Linux", or "Unknown browser"."""
    name, version = browser(agent)
    on = system(agent)
    if name:
        name = f"{name} {version}"
        return _("%(browser)s on %(system)s", browser=name, system=on) if on else name
    return on or _("Unknown browser")
