"""The API is as strict as its OpenAPI schema: a value of the wrong type is a 400 naming the
field (core.fields.StrictInputMixin); an empty or unknown filter value and an unknown
`ordering` are 400s, not silently ignored (core.api)."""

from __future__ import annotations

import pytest

from clinical.models import DentalObservation, Patient
from clinical.tests.conftest import h, observation_body
from clinics.tests.test_api_register import signup_body
from tenants.context import tenant_context


def test_an_integer_where_the_schema_says_string_is_a_400(api, clinic_a, alice, patient):
    response = api.patch(
        f"/api/v1/patients/{patient.pk}",
        {"address": 0, "notes": "new"},
        format="json",
        **h(alice, clinic_a),
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"address": ["Must be a string."]}
    with tenant_context(clinic_a):
        assert Patient.objects.get(pk=patient.pk).notes == ""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", 5, "Must be a string."),
        ("first_name", True, "Must be a string."),
        ("gender", 1, "Must be a string."),
        ("date_of_birth", 19900517, "Must be a string."),
    ],
)
def test_wrong_json_types_on_create_name_the_field(api, clinic_a, alice, field, value, message):
    body = {"first_name": "Ravi", "mobile_number": "9845012399", field: value}
    response = api.post("/api/v1/patients", body, format="json", **h(alice, clinic_a))
    assert response.status_code == 400
    assert response.json()["errors"][field] == [message]


def test_numbers_and_booleans_must_be_json_numbers_and_booleans(
    api, clinic_a, bob, dentist, patient
):
    for field, value, message in (
        ("tooth_number", "46", "Must be a whole number."),
        ("treatment_required", "true", "Must be a boolean: true or false."),
        ("treatment_required", 1, "Must be a boolean: true or false."),
        ("patient_id", 5, "Must be a string."),
    ):
        body = observation_body(patient, **{field: value})
        response = api.post("/api/v1/dental/observations", body, format="json", **h(bob, clinic_a))
        assert response.status_code == 400, (field, value)
        assert response.json()["errors"][field] == [message]


def test_a_multipart_boolean_is_only_true_or_false(api, clinic_a, bob, dentist, patient):
    created = api.post(
        "/api/v1/dental/observations", observation_body(patient), format="json", **h(bob, clinic_a)
    ).json()
    url = f"/api/v1/dental/observations/{created['id']}"
    response = api.patch(url, {"treatment_required": "0"}, format="multipart", **h(bob, clinic_a))
    assert response.status_code == 400
    assert "treatment_required" in response.json()["errors"]
    with tenant_context(clinic_a):
        assert DentalObservation.objects.get(pk=created["id"]).treatment_required is True
    response = api.patch(
        url, {"treatment_required": "false"}, format="multipart", **h(bob, clinic_a)
    )
    assert response.status_code == 200
    assert response.json()["treatment_required"] is False


def test_the_public_signup_refuses_a_number_as_text(api, db):
    response = api.post(
        "/api/v1/tenants/register-clinic",
        signup_body(clinic_address=12, experience_years="9"),
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "clinic_address": ["Must be a string."],
        "experience_years": ["Must be a whole number."],
    }


@pytest.mark.parametrize(
    "query",
    [
        "status=",
        "doctor=",
        "date_from=",
        "is_active=",
        "personal=null",
        "personal=1",
        "is_active=yes",
    ],
)
def test_empty_or_unknown_filter_values_are_a_400(api, clinic_a, alice, query):
    url = "/api/v1/short-keys" if "is_active" in query or "personal" in query else None
    url = url or "/api/v1/appointments"
    response = api.get(f"{url}?{query}", **h(alice, clinic_a))
    assert response.status_code == 400, query
    assert response.json()["code"] == "invalid"
    assert query.split("=")[0] in response.json()["errors"]


def test_an_empty_search_still_means_no_search(api, clinic_a, alice, patient):
    response = api.get("/api/v1/patients?search=", **h(alice, clinic_a))
    assert response.status_code == 200
    assert response.json()["count"] == 1


@pytest.mark.parametrize("ordering", ["bogus", "", "first_name,bogus", "-tenant_id", "--x"])
def test_an_unknown_ordering_is_a_400_naming_the_choices(api, clinic_a, alice, patient, ordering):
    response = api.get(f"/api/v1/patients?ordering={ordering}", **h(alice, clinic_a))
    assert response.status_code == 400
    message = response.json()["errors"]["ordering"][0]
    assert "created_at" in message and "first_name" in message


def test_known_orderings_and_filters_keep_working(api, clinic_a, alice, patient):
    response = api.get(
        "/api/v1/patients?ordering=-created_at,first_name&gender=male", **h(alice, clinic_a)
    )
    assert response.status_code == 200
    assert response.json()["count"] == 1
    response = api.get("/api/v1/short-keys?is_active=true&personal=false", **h(alice, clinic_a))
    assert response.status_code == 200


def test_an_empty_page_size_is_a_400(api, clinic_a, alice):
    response = api.get("/api/v1/patients?page_size=", **h(alice, clinic_a))
    assert response.status_code == 400
    assert "page_size" in response.json()["errors"]


def test_a_boolean_filter_from_filterset_fields_is_strict_too(api, clinic_a, alice):
    response = api.get("/api/v1/tenants/offices?is_primary=-1", **h(alice, clinic_a))
    assert response.status_code == 400
    assert response.json()["errors"] == {"is_primary": ['Must be "true" or "false".']}


def test_an_empty_case_summary_date_is_a_400(api, clinic_a, bob, dentist, patient):
    for suffix in ("", "pdf/"):
        response = api.get(
            f"/api/v1/patients/{patient.pk}/case-summary/{suffix}?to=", **h(bob, clinic_a)
        )
        assert response.status_code == 400
        assert response.json()["errors"] == {"to": ["Enter a date as YYYY-MM-DD."]}


def test_nested_field_errors_are_flat_keys_as_documented(api, clinic_a, alice):
    body = {
        "first_name": "Imran",
        "last_name": "Shaikh",
        "email": "imran@asha.example",
        "license_number": "KA-7788",
        "specialization": "Paediatrics",
        "office_ids": ["6a2fbc30-d64b-45da-aa59-bc4764c48948", "not-a-uuid"],
    }
    response = api.post("/api/v1/tenants/doctors", body, format="json", **h(alice, clinic_a))
    assert response.status_code == 400
    assert response.json()["errors"] == {"office_ids[1]": ["Must be a valid UUID."]}
