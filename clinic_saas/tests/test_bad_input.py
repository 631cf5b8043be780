"""Bad input and outages get clear 4xx/503 answers, never a 500 or a traceback."""

from __future__ import annotations

import pytest
from django.db import connection

URL = "/api/v1/tenants/register-clinic"


@pytest.fixture
def client_no_raise(client):
    client.raise_request_exception = False
    return client


def test_deeply_nested_json_is_a_400(client_no_raise, db):
    response = client_no_raise.post(URL, "[" * 50_000, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_malformed_json_is_a_400(client_no_raise, db):
    response = client_no_raise.post(URL, "{bad json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_oversized_body_is_a_413(client_no_raise, db, settings):
    body = '{"clinic_name": "' + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + '"}'
    response = client_no_raise.post(URL, body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_too_many_form_fields_is_a_413(client_no_raise, db):
    fields = "&".join(f"f{n}=x" for n in range(1500))
    response = client_no_raise.post(URL, fields, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


def test_unsupported_media_type_is_a_415(client_no_raise, db):
    response = client_no_raise.post(URL, "<clinic/>", content_type="application/xml")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_unknown_api_path_is_a_json_404(client_no_raise, db):
    response = client_no_raise.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_page_size_out_of_range_is_a_400(api, clinic_a, alice):
    from accounts.testing import bearer

    for size in ("0", "101", "1000000", "ten"):
        response = api.get(f"/api/v1/tenants/offices?page_size={size}", **bearer(alice, clinic_a))
        assert response.status_code == 400, size
        assert "page_size" in response.json()["errors"]


@pytest.fixture
def database_down(live_db):
    """The runtime connection's server vanishes (a restart, a failover)."""
    connection.close()
    original = connection.settings_dict["HOST"]
    connection.settings_dict["HOST"] = "/nonexistent-socket-dir"
    yield
    connection.close()
    connection.settings_dict["HOST"] = original


def test_database_outage_answers_503_and_recovers(client_no_raise, database_down):
    api = client_no_raise.get("/api/v1/tenants/limits", HTTP_AUTHORIZATION="Bearer x.y.z")
    assert api.status_code == 503
    assert api.json()["code"] == "service_unavailable"
    assert api["Retry-After"] == "5"
    # Liveness (/healthz) stays up: restarting the process would not bring the database back.
    page = client_no_raise.get("/readyz")
    assert page.status_code == 503


def test_after_the_outage_requests_work_again_without_a_restart(client_no_raise, live_db):
    connection.close()
    original = connection.settings_dict["HOST"]
    connection.settings_dict["HOST"] = "/nonexistent-socket-dir"
    try:
        signup = client_no_raise.post(URL, {}, content_type="application/json")
        assert signup.status_code == 503
    finally:
        connection.close()
        connection.settings_dict["HOST"] = original
    assert client_no_raise.get("/readyz").status_code == 200
