"""The OpenAPI schema documents every endpoint with its errors; Swagger UI works offline."""

from __future__ import annotations

import re

import yaml


def _schema(client) -> dict:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_every_operation_documents_its_errors(client, db):
    schema = _schema(client)
    operations = [
        (path, method, op) for path, item in schema["paths"].items() for method, op in item.items()
    ]
    assert len(operations) >= 20
    for path, method, op in operations:
        codes = set(op["responses"])
        assert codes & {"200", "201", "202", "204"}, (path, method, codes)
        assert any(code.startswith("4") for code in codes), f"{method} {path} has no 4xx"
        if op.get("security") and {} not in op["security"]:
            assert {"401", "403"} <= codes, (path, method, codes)
    error = schema["components"]["schemas"]["Error"]
    assert {"code", "detail"} <= set(error["properties"])


def test_register_and_doctor_endpoints_are_documented(client, db):
    paths = _schema(client)["paths"]
    assert "/api/v1/tenants/register-clinic/" in paths
    assert "403" in paths["/api/v1/tenants/doctors/"]["post"]["responses"]
    assert "402" in paths["/api/v1/tenants/doctors/"]["post"]["responses"]


def test_swagger_ui_is_served_without_external_network(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    external = [
        url
        for url in re.findall(r"""(?:src|href)=["']([^"']+)""", html)
        if url.startswith(("http://", "https://", "//"))
    ]
    assert external == []
    assert "/static/drf_spectacular_sidecar/" in html
