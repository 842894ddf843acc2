"""Find the forms of the HTML interface: fields, option values, and the route they post (or
get) to; and encode a fuzzed form as a client could send it."""

from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

from werkzeug.exceptions import HTTPException


class FormParser(HTMLParser):
    """Collect `<form>` elements: method, action and fields (name → kind, options)."""

    def __init__(self, page_path):
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms = []
        self._form = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            method = a.get("method", "get").lower()
            self._form = {"method": "post" if method == "post" else "get",
                          "action": a.get("action") or self.page_path, "fields": {}}
            self.forms.append(self._form)
            return
        # htmx-driven controls outside a form post too (hx-post on buttons, inputs).
        if a.get("hx-post") and (self._form is None or self._form["method"] == "get"):
            self.forms.append({"method": "post", "action": a["hx-post"], "fields": {}})
        if self._form is None:
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


def forms_on(page_path, html, method="post"):
    """The forms of a page that send with `method` ("post" or "get")."""
    parser = FormParser(page_path)
    parser.feed(html)
    return [form for form in parser.forms if form["method"] == method]


def endpoint_of(app, action, method="POST"):
    """The endpoint a form action sends to, or None (another site, unknown path)."""
    parts = urlsplit(action)
    if parts.netloc:
        return None
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(parts.path, method=method)
    except HTTPException:
        return None
    return endpoint


def merge_fields(into, fields):
    for name, field in fields.items():
        known = into.setdefault(name, {"kind": field["kind"], "options": []})
        for option in field["options"]:
            if option not in known["options"]:
                known["options"].append(option)


BOUNDARY = "cellule-fuzz-boundary"


def encode_form(data, multipart=False):
    """Return (body, content type) of a form of `data` (name → text or list of texts) as
    a client could send it: lone surrogates as their (invalid) UTF-8 bytes — %-escaped in a
    urlencoded body, raw in a multipart one."""
    items = [(name, value) for name, values in data.items()
             for value in (values if isinstance(values, list) else [values])]
    if not multipart:
        body = urlencode(items, encoding="utf-8", errors="surrogatepass")
        return body.encode(), "application/x-www-form-urlencoded"
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode("utf-8", "surrogatepass") + b"\r\n"
        for name, value in items
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode(), (
        f"multipart/form-data; boundary={BOUNDARY}")


def query_string(params):
    """`params` as a query string, lone surrogates %-escaped as their UTF-8 bytes."""
    return urlencode(params, encoding="utf-8", errors="surrogatepass")
