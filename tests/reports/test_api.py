"""`GET /api/v1/reports/summary` (DESIGN §7): supervisors only, anonymised counts and times."""

import json

import pytest

from .conftest import SECRETS


def test_summary_is_anonymised(api_client, activity):
    client, _ = api_client("supervisor")
    response = client.get("/api/v1/reports/summary?from=2025-03-01&to=2025-03-31")
    assert response.status_code == 200
    data = response.get_json()
    assert data["period"] == {"from": "2025-03-01", "to": "2025-03-31",
                              "timezone": "Europe/Brussels", "granularity": "day"}
    assert data["suppression_threshold"] == 5
    assert data["contacts"]["total"] == 9
    assert data["contacts"]["by_channel"]["phone"] == 6
    assert data["contacts"]["by_channel"]["email"] is None  # 2 < 5
    assert data["cases"]["opened"] == 8
    assert data["first_response"]["all"]["median_hours"] == 3.5
    assert data["satisfaction"]["share_satisfied"] == 0.6
    assert "series" not in data["contacts"] and "series" not in data["cases"]
    text = json.dumps(data)
    for value in SECRETS.values():
        assert value not in text


def test_summary_matches_its_openapi_schema(api_client, activity):
    client, _ = api_client("supervisor")
    data = client.get("/api/v1/reports/summary?from=2025-03-01&to=2025-03-31").get_json()
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/reports/summary"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"from", "to"}
    schema = spec["components"]["schemas"]["ReportSummary"]
    assert set(schema["required"]) <= set(data)

    def check(value, schema, where):
        kinds = schema.get("type")
        if kinds:
            kinds = kinds if isinstance(kinds, list) else [kinds]
            names = {dict: "object", str: "string", int: "integer", float: "number",
                     type(None): "null", bool: "boolean", list: "array"}
            kind = names[type(value)]
            assert kind in kinds or (kind == "integer" and "number" in kinds), where
        for key, sub in schema.get("properties", {}).items():
            assert key in value, f"{where}.{key} documented but missing"
            check(value[key], sub, f"{where}.{key}")

    check(data, schema, "summary")


def test_summary_defaults_to_the_last_30_days(api_client):
    client, _ = api_client("supervisor")
    data = client.get("/api/v1/reports/summary").get_json()
    from datetime import date

    start, end = date.fromisoformat(data["period"]["from"]), date.fromisoformat(
        data["period"]["to"])
    assert (end - start).days == 29


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("from=2025-13-01", 400, "from"),
        ("to=soon", 400, "to"),
        ("from=2025-03-31&to=2025-03-01", 422, "to"),
        ("from=2025-03-01&name=Zoe", 400, "name"),
    ],
)
def test_bad_parameters_are_json_errors(api_client, query, status, field):
    client, _ = api_client("supervisor")
    response = client.get(f"/api/v1/reports/summary?{query}")
    assert response.status_code == status
    assert field in response.get_json()["fields"]


@pytest.mark.parametrize("role", ["ambassador", "advisor", "psychologist", "admin"])
def test_only_supervisors(api_client, role):
    client, _ = api_client(role)
    response = client.get("/api/v1/reports/summary")
    assert response.status_code == 403
    assert response.get_json()["error"]


def test_token_required(client):
    assert client.get("/api/v1/reports/summary").status_code == 401
