"""Every clinical endpoint is in the OpenAPI schema with its errors."""

from __future__ import annotations

import yaml
from django.core.management import call_command

PATHS = {
    "/api/v1/doctors/": ["get"],
    "/api/v1/doctors/{id}/": ["get", "patch"],
    "/api/v1/doctors/{id}/deactivate/": ["post"],
    "/api/v1/doctors/{id}/activate/": ["post"],
    "/api/v1/patients/": ["get", "post"],
    "/api/v1/patients/{id}/": ["get", "patch", "delete"],
    "/api/v1/patients/families/{mobile}/": ["get", "post"],
    "/api/v1/medicines/": ["get", "post"],
    "/api/v1/medicines/{id}/": ["get", "patch"],
    "/api/v1/short-keys/": ["get", "post"],
    "/api/v1/short-keys/{code}/": ["get", "patch", "delete"],
    "/api/v1/short-keys/{code}/use/": ["post"],
    "/api/v1/appointments/": ["get", "post"],
    "/api/v1/appointments/{id}/": ["get", "patch"],
    "/api/v1/appointments/{id}/status/": ["post"],
    "/api/v1/appointments/{id}/reschedule/": ["post"],
    "/api/v1/appointments/availability/": ["get"],
    "/api/v1/prescriptions/": ["get", "post"],
    "/api/v1/prescriptions/{id}/": ["get", "patch"],
    "/api/v1/prescriptions/{id}/status/": ["post"],
    "/api/v1/prescriptions/{id}/print/": ["get"],
    "/api/v1/prescriptions/{id}/pdf/": ["get"],
}


def test_every_clinical_endpoint_is_documented_with_its_errors(client, db):
    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    for path, methods in PATHS.items():
        assert path in paths, path
        for method in methods:
            responses = paths[path][method]["responses"]
            assert {"401", "403"} <= set(responses), (path, method)
            if "{" in path:
                assert "404" in responses, (path, method)
            if method != "get":
                assert {"400", "402"} <= set(responses), (path, method)
    assert "409" in paths["/api/v1/appointments/"]["post"]["responses"]
    assert "409" in paths["/api/v1/appointments/{id}/status/"]["post"]["responses"]
    assert "409" in paths["/api/v1/prescriptions/{id}/status/"]["post"]["responses"]
    assert "409" in paths["/api/v1/prescriptions/{id}/"]["patch"]["responses"]
    pdf = paths["/api/v1/prescriptions/{id}/pdf/"]["get"]["responses"]
    assert "application/pdf" in pdf["200"]["content"]
    assert list(pdf["404"]["content"]) == ["application/json"]
    listing = paths["/api/v1/patients/"]["get"]
    assert {"search", "page", "page_size"} <= {p["name"] for p in listing["parameters"]}


def test_schema_validates_without_warnings(db, tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
