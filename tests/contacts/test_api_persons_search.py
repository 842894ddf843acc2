"""`POST /api/v1/persons/search`: the contract's lookup with its filters in a JSON body, so
that names, phones and emails stay out of access logs (issue 14); and the shipped
`gunicorn.conf.py`, whose access log leaves query strings out."""

import os
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

from cellule.extensions import db
from cellule.models import ApiToken
from tests.servers import ROOT, Gunicorn

from .test_api_contacts import known  # noqa: F401 (a fixture)

QUERIES = [
    {"q": "benedicte"},
    {"q": "BOSSCHE"},
    {"phone": "0475/12.34.56"},
    {"email": "Benedicte@Example.be"},
    {"affiliate_number": "be104233"},
    {"q": "lambert", "phone": "0475123456"},
    {"q": "bossche", "phone": "0475123456"},
    {"q": "lambert", "limit": "1"},
    # The same refusals.
    {},
    {"q": "x" * 201},
    {"email": "nope"},
    {"q": "x", "limit": "0"},
    {"q": "x", "limit": "²"},
]


@pytest.mark.usefixtures("known")
@pytest.mark.parametrize("query", QUERIES)
def test_the_body_search_answers_as_the_contracts_get(api_client, query):
    client, _ = api_client("advisor")
    by_get = client.get("/api/v1/persons?" + urlencode(query))
    by_post = client.post("/api/v1/persons/search", json=query)
    assert by_post.status_code == by_get.status_code
    assert by_post.get_json() == by_get.get_json()


@pytest.mark.usefixtures("known")
def test_the_body_search_takes_json_numbers_and_refuses_other_types(api_client):
    client, _ = api_client("advisor")
    body = client.post("/api/v1/persons/search", json={"q": "lambert", "limit": 1}).get_json()
    assert body == client.get("/api/v1/persons?q=lambert&limit=1").get_json()
    assert len(body["items"]) == 1
    for wrong in ({"q": ["benedicte"]}, {"phone": 475123456}, {"q": "x", "limit": True},
                  {"q": "x", "limit": 2.5}):
        response = client.post("/api/v1/persons/search", json=wrong)
        assert response.status_code == 400, wrong
        assert set(response.get_json()["fields"]) <= {"q", "phone", "limit"}
    assert client.post("/api/v1/persons/search", data="q=x").status_code == 400


@pytest.mark.usefixtures("known")
def test_the_body_search_has_the_gets_permissions(api_client, make_person, client):
    ambassador_api, ambassador = api_client("ambassador")
    mine = make_person(ambassador, name="Bénédicte Mine")
    body = ambassador_api.post("/api/v1/persons/search", json={"q": "benedicte"}).get_json()
    assert [p["id"] for p in body["items"]] == [mine.id]
    admin_api, _ = api_client("admin")
    assert admin_api.post("/api/v1/persons/search", json={"q": "x"}).status_code == 403
    assert client.post("/api/v1/persons/search", json={"q": "x"}).status_code == 401


def test_the_openapi_document_points_to_the_body_search(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    search = spec["paths"]["/persons/search"]["post"]
    assert "the one to use" in search["summary"]
    assert set(search["requestBody"]["content"]["application/json"]["schema"][
        "properties"]) == {"q", "phone", "email", "affiliate_number", "limit"}
    assert "POST /persons/search" in spec["paths"]["/persons"]["get"]["description"]


# --- The access log ------------------------------------------------------------------


def test_the_readme_runs_gunicorn_with_the_shipped_settings():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    assert "`gunicorn -c gunicorn.conf.py wsgi:app`" in readme
    assert os.path.exists(os.path.join(ROOT, "gunicorn.conf.py"))


def test_gunicorns_access_log_leaves_the_query_string_out(app, tmp_path, make_user):
    user = make_user("advisor")
    row, token = ApiToken.issue(user)
    db.session.add(row)
    db.session.commit()
    email, phone = "benedicte.lookup@example.be", "0475123499"
    with Gunicorn(app, tmp_path, workers=1,
                  config=os.path.join(ROOT, "gunicorn.conf.py")) as server:
        url = f"{server.url}/api/v1/persons?" + urlencode(
            {"q": "Bénédicte Lambert", "phone": phone, "email": email})
        request = Request(url, headers={"Authorization": f"Bearer {token}"})
        with urlopen(request, timeout=30) as response:
            assert response.status == 200
    log = server.log_text()  # complete once gunicorn stopped (its stdout is buffered)
    [line] = [line for line in log.splitlines() if "/api/v1/persons" in line]
    assert '"GET /api/v1/persons HTTP/1.1" 200' in line
    for secret in ("benedicte", "Lambert", "Ben%C3%A9dicte", "0475123499", "example.be", "?"):
        assert secret not in line
