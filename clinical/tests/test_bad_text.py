"""A lone UTF-16 surrogate in any clinical choice or text field is a 400 naming the field,
never a 500 (the renderer could not encode DRF's echo of it: core.bad_text)."""

from __future__ import annotations

import pytest

from clinical.models import Patient
from clinical.tests.conftest import h
from core.bad_text import MESSAGE
from tenants.context import tenant_context


def raw(document: str) -> str:
    """A JSON document with a lone surrogate, escaped as JSON allows, where `@` stands."""
    return document.replace("@", "\\ud800")


@pytest.fixture
def api_no_raise(api):
    api.raise_request_exception = False
    return api


@pytest.mark.parametrize(
    ("url", "document", "field"),
    [
        ("/api/v1/patients", raw('{"first_name": "A", "gender": "@"}'), "gender"),
        ("/api/v1/patients", raw('{"relationship_to_primary": "@"}'), "relationship_to_primary"),
        ("/api/v1/appointments", raw('{"appointment_type": "@"}'), "appointment_type"),
        ("/api/v1/prescriptions", raw('{"status": "@"}'), "status"),
        ("/api/v1/dental/observations", raw('{"tooth_surface": "@"}'), "tooth_surface"),
        ("/api/v1/dental/observations", raw('{"condition_type": "@"}'), "condition_type"),
        ("/api/v1/dental/observations", raw('{"severity": "@"}'), "severity"),
        ("/api/v1/medicines", raw('{"name": "x", "dosage_form": "@"}'), "dosage_form"),
    ],
)
def test_a_surrogate_in_a_clinical_choice_is_a_400(
    api_no_raise, clinic_a, bob, url, document, field
):
    response = api_no_raise.post(url, document, content_type="application/json", **h(bob, clinic_a))
    assert response.status_code == 400, response.content[:200]
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]


def test_a_surrogate_in_a_patient_edit_is_a_400_and_changes_nothing(
    api_no_raise, clinic_a, alice, patient
):
    document = raw('{"first_name": "Ravi", "gender": "@"}')
    response = api_no_raise.patch(
        f"/api/v1/patients/{patient.pk}",
        document,
        content_type="application/json",
        **h(alice, clinic_a),
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"gender": [MESSAGE]}
    with tenant_context(clinic_a):
        assert Patient.objects.get(pk=patient.pk).first_name == "Arjun"


def test_nul_in_a_multipart_field_is_a_400(api_no_raise, clinic_a, bob, patient, media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")
    response = api_no_raise.post(
        "/api/v1/dental/attachments",
        {"file": upload, "file_type": "xray", "description": "a\x00b"},
        format="multipart",
        **h(bob, clinic_a),
    )
    assert response.status_code == 400, response.content[:200]
    assert response.json()["errors"] == {"description": [MESSAGE]}
