"""Find the forms of the HTML interface: fields, option values, and the route they post to."""

from html.parser import HTMLParser
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException


class FormParser(HTMLParser):
    """Collect `<form method="post">` elements: action and fields (name → kind, options)."""

    def __init__(self, page_path):
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms = []
        self._form = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self._form = {"action": a.get("action") or self.page_path, "fields": {}}
                self.forms.append(self._form)
            return
        # htmx-driven controls outside a form post too (hx-post on buttons, inputs).
        if self._form is None:
            if a.get("hx-post"):
                self.forms.append({"action": a["hx-post"], "fields": {}})
            return
        name = a.get("name")
        if not name or name == "csrf_token":
            if tag == "select":
                self._select = None
            return
        fields = self._form["fields"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            field = fields.setdefault(name, {"kind": kind, "options": []})
            if kind in ("checkbox", "radio", "hidden", "submit") and a.get("value"):
                field["options"].append(a["value"])
        elif tag == "textarea":
            fields.setdefault(name, {"kind": "textarea", "options": []})
        elif tag == "select":
            self._select = fields.setdefault(name, {"kind": "select", "options": []})
        elif tag == "option" and self._select is not None:
            self._select["options"].append(a.get("value", ""))
        elif tag == "button" and a.get("value"):
            fields.setdefault(name, {"kind": "button", "options": []})["options"].append(
                a["value"]
            )

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms_on(page_path, html):
    parser = FormParser(page_path)
    parser.feed(html)
    return parser.forms


def endpoint_of(app, action):
    """The endpoint a form action posts to, or None (another site, unknown path)."""
    parts = urlsplit(action)
    if parts.netloc:
        return None
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(parts.path, method="POST")
    except HTTPException:
        return None
    return endpoint


def merge_fields(into, fields):
    for name, field in fields.items():
        known = into.setdefault(name, {"kind": field["kind"], "options": []})
        for option in field["options"]:
            if option not in known["options"]:
                known["options"].append(option)
