"""NUL characters and lone UTF-16 surrogates are refused where text enters: 400 with
`code: "invalid"` naming the field, never a 500 (core.bad_text)."""

from __future__ import annotations

import pytest

from accounts.selectors import person_by_id
from accounts.testing import bearer, session_login


def raw(document: str) -> str:
    """A JSON document with a lone surrogate, escaped as JSON allows, where `@` stands."""
    return document.replace("@", "\\ud800")


@pytest.fixture
def client_no_raise(client):
    client.raise_request_exception = False
    return client


@pytest.fixture
def api_no_raise(api):
    api.raise_request_exception = False
    return api


def post_json(client, url, document, **headers):
    return client.post(url, document, content_type="application/json", **headers)


def assert_invalid(response, field):
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"], body


def test_surrogate_in_a_choice_of_the_public_signup_is_a_400(api_no_raise, db):
    document = raw('{"clinic_name": "Smile", "role": "@"}')
    response = post_json(api_no_raise, "/api/v1/tenants/register-clinic", document)
    assert_invalid(response, "role")


def test_surrogate_in_free_text_and_in_a_key_is_a_400(api_no_raise, db):
    for document, field in (
        (raw('{"clinic_name": "a@b"}'), "clinic_name"),
        (raw('{"@": "x"}'), "non_field_errors"),
        (raw('{"items": [{"dosage": "@"}]}'), "items[0].dosage"),
        (raw('"@"'), "non_field_errors"),
    ):
        response = post_json(api_no_raise, "/api/v1/tenants/register-clinic", document)
        assert_invalid(response, field)


def test_surrogate_in_the_plan_change_is_a_400(api_no_raise, clinic_a, alice):
    document = raw('{"plan": "@"}')
    response = post_json(api_no_raise, "/api/v1/tenants/plan", document, **bearer(alice, clinic_a))
    assert_invalid(response, "plan")


def test_an_escaped_surrogate_pair_is_ordinary_text(api_no_raise, db):
    # "\ud83d\ude00" is one emoji, valid UTF-16: JSON decodes it to one character.
    document = '{"clinic_name": "\\ud83d\\ude00", "role": "nobody"}'
    response = post_json(api_no_raise, "/api/v1/tenants/register-clinic", document)
    assert response.status_code == 400
    assert "role" in response.json()["errors"]
    assert "clinic_name" not in response.json()["errors"]


def test_nul_in_an_api_form_body_is_a_400(api_no_raise, clinic_a, alice):
    response = api_no_raise.post(
        "/api/v1/tenants/offices",
        "name=Main%00Branch&address=x",
        content_type="application/x-www-form-urlencoded",
        **bearer(alice, clinic_a),
    )
    assert_invalid(response, "name")


def test_nul_in_an_api_query_string_is_a_400(api_no_raise, clinic_a, alice):
    response = api_no_raise.get("/api/v1/audit?action=%00", **bearer(alice, clinic_a))
    assert_invalid(response, "action")


def test_nul_in_an_admin_search_is_a_plain_400_page(client_no_raise, clinic_a, alice):
    session_login(client_no_raise, alice, clinic_a)
    response = client_no_raise.get("/admin/clinical/patient/?q=%00")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_nul_in_the_login_form_is_a_400_and_logs_nobody_in(client_no_raise, alice):
    response = client_no_raise.post(
        "/login/", {"username": "alice@asha.example\x00", "password": "x\x00"}
    )
    assert response.status_code == 400
    assert "_auth_user_id" not in client_no_raise.session


def test_nul_in_a_page_form_changes_nothing(client_no_raise, clinic_a, alice):
    session_login(client_no_raise, alice, clinic_a)
    before = person_by_id(alice.pk).first_name
    response = client_no_raise.post(
        f"/admin/accounts/user/{alice.pk}/change/", {"first_name": "Al\x00ice"}
    )
    assert response.status_code == 400
    assert person_by_id(alice.pk).first_name == before
