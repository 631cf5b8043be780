"""The permission matrix, tested as generated: every role × resource × action of
clinical/permissions.py is exercised through the API, and must be allowed (2xx) or refused
(403) exactly as the matrix says. docs/permissions.md must show the same matrix."""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.testing import add_member, create_clinic
from clinical.models import (
    Appointment,
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
    DentalTemplate,
    Doctor,
    Medicine,
    Office,
    Patient,
    Prescription,
    PrintTemplate,
    ShortKey,
)
from clinical.permissions import MATRIX, ROLES, Rule, matrix_action, matrix_markdown, rule_for
from clinical.services import patient_create
from clinical.tests.conftest import h, item, make_doctor
from clinical.urls import router
from tenants.context import tenant_context
from tenants.testing import build

_n = itertools.count(1)


@dataclass
class World:
    clinic: object
    users: dict
    doctors: dict  # role → that person's doctor profile (owner and doctor have one)
    patient: Patient
    medicine: Medicine
    any_doctor: Doctor
    extra: dict = field(default_factory=dict)

    def build(self, model, **fields):
        with tenant_context(self.clinic):
            return build(model, **fields)


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # uploaded attachments
    clinic = create_clinic(plan="premium")
    users = {"owner": clinic.owner}
    for role in ("admin", "doctor", "nurse", "receptionist"):
        users[role] = add_member(clinic, email=f"{role}@matrix.example", role=role).user
    doctors = {role: make_doctor(clinic, users[role]) for role in ("owner", "doctor")}
    patient = patient_create(
        tenant=clinic, actor=clinic.owner, first_name="Matrix", mobile="9845000000"
    )
    with tenant_context(clinic):
        medicine = build(Medicine)
    return World(clinic, users, doctors, patient, medicine, doctors["doctor"])


def _tomorrow():
    return timezone.localdate() + datetime.timedelta(days=1)


def _fresh_time() -> str:
    minutes = 8 * 60 + (next(_n) % 40) * 15
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _rx_doctor(w: World, role: str) -> Doctor:
    # A prescription of the person themself when they are a doctor: the matrix is about the
    # role; "only their own" is checked (and tested) separately.
    return w.doctors.get(role, w.any_doctor)


def _appointment(w: World) -> Appointment:
    return w.build(
        Appointment,
        patient=w.patient,
        doctor=w.any_doctor,
        start_time=datetime.time.fromisoformat(_fresh_time()),
    )


def _short_key(w: World) -> ShortKey:
    with tenant_context(w.clinic):
        key = ShortKey.objects.create(code=f"K{next(_n)}", name="Key")
        key.items.create(medicine=w.medicine, dosage="1", frequency="1-0-1", duration="3 days")
    return key


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _observation(w: World) -> DentalObservation:
    return w.build(DentalObservation, patient=w.patient, doctor=w.any_doctor)


def _procedure(w: World) -> DentalProcedure:
    return w.build(DentalProcedure, patient=w.patient, doctor=w.any_doctor)


def _stored_attachment(w: World) -> DentalAttachment:
    name = default_storage.save(f"{w.clinic.pk}/dental/matrix.png", ContentFile(PNG))
    return w.build(DentalAttachment, observation=_observation(w), file=name)


def _office_template(w: World) -> PrintTemplate:
    """A print template of a fresh office (one template per office may exist)."""
    office = w.build(Office, name=f"Branch {next(_n)}")
    return w.build(PrintTemplate, office=office, name=f"Letterhead {next(_n)}")


def _stored_logo(w: World) -> PrintTemplate:
    template = _office_template(w)
    template.logo = default_storage.save(f"{w.clinic.pk}/print/matrix.png", ContentFile(PNG))
    template.logo_content_type = "image/png"
    with tenant_context(w.clinic):
        template.save()
    return template


def _upload(w: World) -> dict:
    return {
        "file": SimpleUploadedFile("x.png", PNG, content_type="image/png"),
        "file_type": "xray",
        "observation_id": str(_observation(w).pk),
    }


# (resource, action) → how to exercise it as `role`: returns the response.
EXERCISES = {
    ("doctors", "read"): lambda api, w, role, hd: api.get(
        f"/api/v1/doctors/{w.any_doctor.pk}", **hd
    ),
    ("doctors", "update"): lambda api, w, role, hd: api.patch(
        f"/api/v1/doctors/{w.any_doctor.pk}", {"qualification": "MBBS"}, format="json", **hd
    ),
    ("doctors", "deactivate"): lambda api, w, role, hd: api.post(
        f"/api/v1/doctors/{w.build(Doctor).pk}/deactivate", **hd
    ),
    ("doctors", "activate"): lambda api, w, role, hd: api.post(
        f"/api/v1/doctors/{w.build(Doctor, is_active=False).pk}/activate", **hd
    ),
    ("patients", "read"): lambda api, w, role, hd: api.get(
        f"/api/v1/patients/{w.patient.pk}", **hd
    ),
    ("patients", "create"): lambda api, w, role, hd: api.post(
        "/api/v1/patients",
        {"first_name": "New", "mobile_number": f"97{next(_n):08d}"},
        format="json",
        **hd,
    ),
    ("patients", "update"): lambda api, w, role, hd: api.patch(
        f"/api/v1/patients/{w.patient.pk}", {"notes": "Updated"}, format="json", **hd
    ),
    ("patients", "delete"): lambda api, w, role, hd: api.delete(
        f"/api/v1/patients/{w.build(Patient).pk}", **hd
    ),
    ("medicines", "read"): lambda api, w, role, hd: api.get("/api/v1/medicines", **hd),
    ("medicines", "create"): lambda api, w, role, hd: api.post(
        "/api/v1/medicines",
        {"name": f"Medicine {next(_n)}", "dosage_form": "tablet"},
        format="json",
        **hd,
    ),
    ("medicines", "update"): lambda api, w, role, hd: api.patch(
        f"/api/v1/medicines/{w.medicine.pk}", {"category": "Analgesic"}, format="json", **hd
    ),
    ("short_keys", "read"): lambda api, w, role, hd: api.get("/api/v1/short-keys", **hd),
    ("short_keys", "create"): lambda api, w, role, hd: api.post(
        "/api/v1/short-keys",
        {"code": f"C{next(_n)}", "name": "Key", "items": [item(w.medicine)]},
        format="json",
        **hd,
    ),
    ("short_keys", "update"): lambda api, w, role, hd: api.patch(
        f"/api/v1/short-keys/{_short_key(w).code}", {"name": "Renamed"}, format="json", **hd
    ),
    ("short_keys", "delete"): lambda api, w, role, hd: api.delete(
        f"/api/v1/short-keys/{_short_key(w).code}", **hd
    ),
    ("short_keys", "use"): lambda api, w, role, hd: api.post(
        f"/api/v1/short-keys/{_short_key(w).code}/use", **hd
    ),
    ("appointments", "read"): lambda api, w, role, hd: api.get("/api/v1/appointments", **hd),
    ("appointments", "create"): lambda api, w, role, hd: api.post(
        "/api/v1/appointments",
        {
            "patient_id": str(w.patient.pk),
            "doctor_id": str(w.any_doctor.pk),
            "appointment_date": _tomorrow().isoformat(),
            "appointment_time": _fresh_time(),
        },
        format="json",
        **hd,
    ),
    ("appointments", "update"): lambda api, w, role, hd: api.patch(
        f"/api/v1/appointments/{_appointment(w).pk}", {"notes": "Late"}, format="json", **hd
    ),
    ("appointments", "status"): lambda api, w, role, hd: api.post(
        f"/api/v1/appointments/{_appointment(w).pk}/status",
        {"status": "confirmed"},
        format="json",
        **hd,
    ),
    ("appointments", "reschedule"): lambda api, w, role, hd: api.post(
        f"/api/v1/appointments/{_appointment(w).pk}/reschedule",
        {
            "appointment_date": (_tomorrow() + datetime.timedelta(days=1)).isoformat(),
            "appointment_time": _fresh_time(),
        },
        format="json",
        **hd,
    ),
    ("prescriptions", "read"): lambda api, w, role, hd: api.get(
        f"/api/v1/prescriptions/{w.build(Prescription, patient=w.patient, doctor=w.any_doctor).pk}",
        **hd,
    ),
    ("prescriptions", "print"): lambda api, w, role, hd: api.get(
        f"/api/v1/prescriptions/"
        f"{w.build(Prescription, patient=w.patient, doctor=w.any_doctor).pk}/print",
        **hd,
    ),
    ("prescriptions", "create"): lambda api, w, role, hd: api.post(
        "/api/v1/prescriptions",
        {"patient_id": str(w.patient.pk), "diagnosis": "Dx", "items": [item(w.medicine)]},
        format="json",
        **hd,
    ),
    ("prescriptions", "update"): lambda api, w, role, hd: api.patch(
        f"/api/v1/prescriptions/"
        f"{w.build(Prescription, patient=w.patient, doctor=_rx_doctor(w, role)).pk}",
        {"diagnosis": "Revised"},
        format="json",
        **hd,
    ),
    ("prescriptions", "status"): lambda api, w, role, hd: api.post(
        f"/api/v1/prescriptions/"
        f"{w.build(Prescription, patient=w.patient, doctor=_rx_doctor(w, role)).pk}/status",
        {"status": "active"},
        format="json",
        **hd,
    ),
    ("patients", "dental_chart"): lambda api, w, role, hd: api.get(
        f"/api/v1/patients/{w.patient.pk}/dental-chart", **hd
    ),
    ("patients", "case_summary"): lambda api, w, role, hd: api.get(
        f"/api/v1/patients/{w.patient.pk}/case-summary", **hd
    ),
    ("dental_observations", "read"): lambda api, w, role, hd: api.get(
        f"/api/v1/dental/observations/{_observation(w).pk}", **hd
    ),
    ("dental_observations", "create"): lambda api, w, role, hd: api.post(
        "/api/v1/dental/observations",
        {"patient_id": str(w.patient.pk), "tooth_number": 46, "condition_type": "caries"},
        format="json",
        **hd,
    ),
    ("dental_observations", "update"): lambda api, w, role, hd: api.patch(
        f"/api/v1/dental/observations/{_observation(w).pk}",
        {"severity": "mild"},
        format="json",
        **hd,
    ),
    ("dental_observations", "delete"): lambda api, w, role, hd: api.delete(
        f"/api/v1/dental/observations/{_observation(w).pk}", **hd
    ),
    ("dental_procedures", "read"): lambda api, w, role, hd: api.get(
        f"/api/v1/dental/procedures/{_procedure(w).pk}", **hd
    ),
    ("dental_procedures", "create"): lambda api, w, role, hd: api.post(
        "/api/v1/dental/procedures",
        {
            "patient_id": str(w.patient.pk),
            "procedure_code": "D2391",
            "procedure_name": "Composite",
            "teeth": [46],
        },
        format="json",
        **hd,
    ),
    ("dental_procedures", "update"): lambda api, w, role, hd: api.patch(
        f"/api/v1/dental/procedures/{_procedure(w).pk}", {"notes": "x"}, format="json", **hd
    ),
    ("dental_procedures", "status"): lambda api, w, role, hd: api.post(
        f"/api/v1/dental/procedures/{_procedure(w).pk}/status",
        {"status": "in_progress"},
        format="json",
        **hd,
    ),
    ("dental_procedures", "delete"): lambda api, w, role, hd: api.delete(
        f"/api/v1/dental/procedures/{_procedure(w).pk}", **hd
    ),
    ("dental_templates", "read"): lambda api, w, role, hd: api.get(
        "/api/v1/dental/templates", **hd
    ),
    ("dental_templates", "create"): lambda api, w, role, hd: api.post(
        "/api/v1/dental/templates",
        {"name": f"Template {next(_n)}", "notes": "Text"},
        format="json",
        **hd,
    ),
    ("dental_templates", "update"): lambda api, w, role, hd: api.patch(
        f"/api/v1/dental/templates/{w.build(DentalTemplate).pk}",
        {"notes": "Reworded"},
        format="json",
        **hd,
    ),
    ("dental_templates", "delete"): lambda api, w, role, hd: api.delete(
        f"/api/v1/dental/templates/{w.build(DentalTemplate).pk}", **hd
    ),
    ("dental_attachments", "read"): lambda api, w, role, hd: api.get(
        f"/api/v1/dental/attachments/{w.build(DentalAttachment).pk}", **hd
    ),
    ("dental_attachments", "create"): lambda api, w, role, hd: api.post(
        "/api/v1/dental/attachments", _upload(w), format="multipart", **hd
    ),
    ("dental_attachments", "delete"): lambda api, w, role, hd: api.delete(
        f"/api/v1/dental/attachments/{_stored_attachment(w).pk}", **hd
    ),
    ("print_templates", "read"): lambda api, w, role, hd: api.get(
        f"/api/v1/print-templates/{_office_template(w).pk}", **hd
    ),
    ("print_templates", "create"): lambda api, w, role, hd: api.post(
        "/api/v1/print-templates",
        {"name": "Branch letterhead", "office_id": str(w.build(Office, name=f"B{next(_n)}").pk)},
        format="json",
        **hd,
    ),
    ("print_templates", "update"): lambda api, w, role, hd: api.patch(
        f"/api/v1/print-templates/{_office_template(w).pk}",
        {"footer_text": "Open 9 to 5"},
        format="json",
        **hd,
    ),
    ("print_templates", "delete"): lambda api, w, role, hd: api.delete(
        f"/api/v1/print-templates/{_office_template(w).pk}", **hd
    ),
}
# Further routes that map onto an action of the matrix: they are checked the same way.
EXTRA_ROUTES = {
    ("patients", "read", "family"): lambda api, w, role, hd: api.get(
        "/api/v1/patients/families/9845000000", **hd
    ),
    ("patients", "create", "family"): lambda api, w, role, hd: api.post(
        f"/api/v1/patients/families/96{next(_n):08d}",
        {"first_name": "Relative"},
        format="json",
        **hd,
    ),
    ("appointments", "read", "availability"): lambda api, w, role, hd: api.get(
        "/api/v1/appointments/availability",
        {"doctor": str(w.any_doctor.pk), "date": _tomorrow().isoformat()},
        **hd,
    ),
    ("prescriptions", "print", "pdf"): lambda api, w, role, hd: api.get(
        f"/api/v1/prescriptions/"
        f"{w.build(Prescription, patient=w.patient, doctor=w.any_doctor).pk}/pdf",
        **hd,
    ),
    ("patients", "dental_chart", "print"): lambda api, w, role, hd: api.get(
        f"/api/v1/patients/{w.patient.pk}/dental-chart/print", **hd
    ),
    ("patients", "case_summary", "pdf"): lambda api, w, role, hd: api.get(
        f"/api/v1/patients/{w.patient.pk}/case-summary/pdf", **hd
    ),
    ("dental_templates", "read", "match"): lambda api, w, role, hd: api.get(
        "/api/v1/dental/templates/match", {"condition": "caries"}, **hd
    ),
    ("dental_attachments", "read", "download"): lambda api, w, role, hd: api.get(
        f"/api/v1/dental/attachments/{_stored_attachment(w).pk}/download", **hd
    ),
    ("print_templates", "read", "preview"): lambda api, w, role, hd: api.get(
        f"/api/v1/print-templates/{_office_template(w).pk}/preview", **hd
    ),
    ("print_templates", "read", "logo"): lambda api, w, role, hd: api.get(
        f"/api/v1/print-templates/{_stored_logo(w).pk}/logo", **hd
    ),
}
CASES = [(r, a, "", f) for (r, a), f in EXERCISES.items()] + [
    (r, a, extra, f) for (r, a, extra), f in EXTRA_ROUTES.items()
]


def test_every_matrix_entry_is_exercised():
    entries = {(r, a) for r, actions in MATRIX.items() for a in actions}
    assert entries == set(EXERCISES)


def _route_actions():
    """(viewset, DRF action, HTTP method) of every route of the clinical API."""
    standard = {
        "list": "get",
        "retrieve": "get",
        "create": "post",
        "partial_update": "patch",
        "update": "put",
        "destroy": "delete",
    }
    for _prefix, viewset, _basename in router.registry:
        allowed = set(viewset.http_method_names)
        for name, method in standard.items():
            if hasattr(viewset, name) and method in allowed:
                yield viewset, name, method, {}
        for extra in viewset.get_extra_actions():
            for method in extra.mapping:
                yield viewset, extra.__name__, method, extra.kwargs


def test_every_route_of_the_clinical_api_has_a_matrix_entry():
    for viewset, action, method, kwargs in _route_actions():
        view = viewset()
        view.action = action
        view.matrix_action = kwargs.get("matrix_action")
        name = matrix_action(view, method)
        assert name in MATRIX[viewset.resource], (viewset.__name__, action, method, name)
        assert "ClinicalPermission" in [p.__name__ for p in viewset.permission_classes]


@pytest.mark.parametrize(
    ("resource", "action", "extra", "exercise"),
    CASES,
    ids=[f"{r}.{a}{'.' + e if e else ''}" for r, a, e, _ in CASES],
)
def test_permission_matrix(api, world, resource, action, extra, exercise):
    outcomes = {}
    for role in ROLES:
        user = world.users[role]
        rule = rule_for(resource, action, role)
        allowed = rule is Rule.ALLOW or (rule is Rule.DOCTOR_SELF and role in world.doctors)
        response = exercise(api, world, role, h(user, world.clinic))
        outcomes[role] = response.status_code
        content_type = response.get("Content-Type", "")
        body = response.json() if content_type.startswith("application/json") else {}
        if allowed:
            assert 200 <= response.status_code < 300, (role, response.status_code, body)
        else:
            assert response.status_code == 403, (role, response.status_code, body)
            expected = "not_a_doctor" if rule is Rule.DOCTOR_SELF else "permission_denied"
            assert body.get("code") == expected, (role, body)
    assert outcomes  # every role was tried


def test_receptionists_never_see_clinical_notes_nor_write_prescriptions():
    assert rule_for("prescriptions", "read", "receptionist") is Rule.DENY
    assert rule_for("prescriptions", "create", "receptionist") is Rule.DENY
    assert rule_for("appointments", "create", "receptionist") is Rule.ALLOW
    assert rule_for("patients", "create", "receptionist") is Rule.ALLOW
    assert rule_for("prescriptions", "read", "nurse") is Rule.ALLOW
    assert {rule_for("prescriptions", "create", r) for r in ("nurse", "receptionist")} == {
        Rule.DENY
    }


def test_docs_show_the_enforced_matrix():
    doc = (Path(settings.BASE_DIR) / "docs" / "permissions.md").read_text()
    assert matrix_markdown() in doc, "docs/permissions.md is out of date: paste matrix_markdown()"
