"""Dental records in the admin: doctors record findings, procedures and attachments through
clinical.services as themselves, nurses read them and upload attachments, receptionists
never see them; refusals come back on the form; reads are audited as in the API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.testing import add_member
from clinical.models import (
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
    DentalTemplate,
    SharedDentalTemplate,
)
from clinical.services import (
    dental_observation_create,
    dental_procedure_create,
)
from clinics.tests.admin_helpers import AllQueries, log_in
from tenants.context import tenant_context
from tenants.models import AuditEvent

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
OBSERVATIONS = "/admin/clinical/dentalobservation/"
PROCEDURES = "/admin/clinical/dentalprocedure/"
TEMPLATES = "/admin/clinical/dentaltemplate/"
SHARED_TEMPLATES = "/admin/clinical/shareddentaltemplate/"
ATTACHMENTS = "/admin/clinical/dentalattachment/"


def finding(patient, **overrides) -> dict:
    body = {
        "patient": str(patient.pk),
        "tooth_number": "46",
        "tooth_surface": "occlusal",
        "condition_type": "caries",
        "severity": "moderate",
        "notes": "Occlusal caries into dentine.",
        "treatment_required": "on",
        "treatment_date": "",
        "observed_on": str(timezone.localdate()),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v != ""}


def events(clinic, action):
    with tenant_context(clinic):
        return list(AuditEvent.objects.filter(action=action))


@pytest.fixture
def doctor_client(client, clinic_a, bob, dentist):
    return log_in(client, bob, clinic_a)


@pytest.fixture
def observation(clinic_a, bob, dentist, patient):
    return dental_observation_create(
        tenant=clinic_a,
        actor=bob,
        patient_id=patient.pk,
        tooth_number=36,
        condition_type="caries",
        notes="Distal caries.",
    )


@pytest.fixture
def procedure(clinic_a, bob, dentist, patient, observation):
    return dental_procedure_create(
        tenant=clinic_a,
        actor=bob,
        patient_id=patient.pk,
        observation_id=observation.pk,
        procedure_code="D2391",
        procedure_name="Resin composite",
    )


def member_client(client, clinic, role):
    return log_in(client, add_member(clinic, role=role).user, clinic)


# --- doctors record findings -------------------------------------------------------------------


def test_doctor_records_a_finding_as_themself(doctor_client, clinic_a, bob, dentist, patient):
    response = doctor_client.post(f"{OBSERVATIONS}add/", finding(patient))
    assert response.status_code == 302, response.content.decode()
    with tenant_context(clinic_a):
        row = DentalObservation.objects.get()
    assert (row.tooth_number, row.doctor_id, row.patient_id) == (46, dentist.pk, patient.pk)
    [created] = events(clinic_a, "dental_observation.created")
    assert created.actor_id == bob.pk and created.patient_id == patient.pk


def test_a_bad_fdi_tooth_number_is_a_form_error(doctor_client, clinic_a, patient):
    response = doctor_client.post(f"{OBSERVATIONS}add/", finding(patient, tooth_number="19"))
    assert response.status_code == 200
    form = response.context_data["adminform"].form
    assert "tooth_number" in form.errors
    with tenant_context(clinic_a):
        assert not DentalObservation.objects.exists()


def test_a_service_refusal_lands_on_its_field(doctor_client, clinic_a, patient):
    # The service, not the form, refuses a treatment dated before the finding.
    response = doctor_client.post(
        f"{OBSERVATIONS}add/",
        finding(patient, observed_on="2025-03-10", treatment_date="2025-03-01"),
    )
    assert response.status_code == 200
    form = response.context_data["adminform"].form
    assert form.errors["treatment_date"] == ["The treatment cannot be before the observation."]
    with tenant_context(clinic_a):
        assert not DentalObservation.objects.exists()


def test_doctor_changes_and_deletes_a_finding_through_the_services(
    doctor_client, clinic_a, observation
):
    page = doctor_client.get(f"{OBSERVATIONS}{observation.pk}/change/")
    assert page.status_code == 200 and 'name="notes"' in page.content.decode()
    body = finding(observation.patient, tooth_number="36", notes="Distal caries, deep.")
    body.pop("patient")
    response = doctor_client.post(f"{OBSERVATIONS}{observation.pk}/change/", body)
    assert response.status_code == 302, response.content.decode()
    assert events(clinic_a, "dental_observation.updated")
    response = doctor_client.post(f"{OBSERVATIONS}{observation.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    with tenant_context(clinic_a):
        assert not DentalObservation.objects.exists()
    assert events(clinic_a, "dental_observation.deleted")


def test_an_owner_who_is_not_a_doctor_reads_but_does_not_record(
    client, clinic_a, alice, observation
):
    log_in(client, alice, clinic_a)
    assert client.get(OBSERVATIONS).status_code == 200
    assert client.get(f"{OBSERVATIONS}add/").status_code == 403
    page = client.get(f"{OBSERVATIONS}{observation.pk}/change/").content.decode()
    assert 'name="notes"' not in page


# --- procedures and their status ---------------------------------------------------------------


def test_doctor_plans_a_procedure_for_a_finding(doctor_client, clinic_a, patient, observation):
    response = doctor_client.post(
        f"{PROCEDURES}add/",
        {
            "patient": str(patient.pk),
            "observation": str(observation.pk),
            "procedure_code": "D2391",
            "procedure_name": "Resin composite, one surface",
            "teeth": "",
            "estimated_cost": "1500.00",
            "notes": "",
        },
    )
    assert response.status_code == 302, response.content.decode()
    with tenant_context(clinic_a):
        row = DentalProcedure.objects.get()
    assert (row.status, row.teeth) == ("planned", [36])  # the finding's tooth


def test_procedure_status_actions_follow_the_state_machine(doctor_client, clinic_a, procedure):
    def act(name):
        return doctor_client.post(
            PROCEDURES, {"action": name, "_selected_action": [str(procedure.pk)]}, follow=True
        )

    act("mark_in_progress")
    act("mark_completed")
    with tenant_context(clinic_a):
        row = DentalProcedure.objects.get(pk=procedure.pk)
        assert row.status == "completed" and row.completed_date is not None
        assert DentalObservation.objects.get(pk=procedure.observation_id).treatment_done
    refused = act("mark_cancelled").content.decode()
    assert "cannot become cancelled" in refused
    with tenant_context(clinic_a):
        assert DentalProcedure.objects.get(pk=procedure.pk).status == "completed"
    page = doctor_client.get(f"{PROCEDURES}{procedure.pk}/change/").content.decode()
    assert 'name="notes"' in page and 'name="procedure_code"' not in page


# --- attachments -------------------------------------------------------------------------------


def test_nurse_reads_findings_and_uploads_an_attachment_but_records_nothing(
    client, clinic_a, observation, media
):
    nurse = member_client(client, clinic_a, "nurse")
    assert nurse.get(OBSERVATIONS).status_code == 200
    assert nurse.get(f"{OBSERVATIONS}add/").status_code == 403
    assert nurse.get(f"{PROCEDURES}add/").status_code == 403
    response = nurse.post(
        f"{ATTACHMENTS}add/",
        {
            "observation": str(observation.pk),
            "file_type": "xray",
            "file": SimpleUploadedFile("bitewing.png", PNG, content_type="image/png"),
            "description": "Bitewing",
        },
    )
    assert response.status_code == 302, response.content.decode()
    with tenant_context(clinic_a):
        attachment = DentalAttachment.objects.get()
    assert (attachment.content_type, attachment.patient_id) == ("image/png", observation.patient_id)
    # Nurses upload, but deleting is the doctors' (the matrix).
    assert nurse.get(f"{ATTACHMENTS}{attachment.pk}/delete/").status_code == 403


def test_a_file_that_is_not_an_image_is_a_form_error(doctor_client, clinic_a, observation, media):
    response = doctor_client.post(
        f"{ATTACHMENTS}add/",
        {
            "observation": str(observation.pk),
            "file_type": "xray",
            "file": SimpleUploadedFile("notes.png", b"just text", content_type="image/png"),
        },
    )
    assert response.status_code == 200
    assert response.context_data["adminform"].form.errors["file"] == [
        "Not a JPEG, PNG or PDF file."
    ]
    with tenant_context(clinic_a):
        assert not DentalAttachment.objects.exists()


# --- receptionists -----------------------------------------------------------------------------


def test_receptionist_never_sees_dental_records(client, clinic_a, observation, procedure):
    desk = member_client(client, clinic_a, "receptionist")
    index = desk.get("/admin/").content.decode()
    for page in (OBSERVATIONS, PROCEDURES, TEMPLATES, ATTACHMENTS):
        assert page not in index
        assert desk.get(page).status_code == 403
    assert desk.get(f"{OBSERVATIONS}{observation.pk}/change/").status_code == 403
    assert desk.get(f"{PROCEDURES}{procedure.pk}/change/").status_code == 403


# --- templates ---------------------------------------------------------------------------------


def test_doctor_manages_the_clinics_own_templates(doctor_client, clinic_a, dentist):
    response = doctor_client.post(
        f"{TEMPLATES}add/",
        {"name": "Our caries", "condition_type": "caries", "notes": "Ours.", "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()
    with tenant_context(clinic_a):
        own = DentalTemplate.objects.get()
    assert own.name == "Our caries" and own.tenant_id == clinic_a.pk
    duplicate = doctor_client.post(
        f"{TEMPLATES}add/", {"name": "Our caries", "notes": "Again.", "is_active": "on"}
    )
    assert duplicate.status_code == 200
    assert "name" in duplicate.context_data["adminform"].form.errors
    assert doctor_client.post(f"{TEMPLATES}{own.pk}/delete/", {"post": "yes"}).status_code == 302
    with tenant_context(clinic_a):
        assert not DentalTemplate.objects.exists()


def test_shared_templates_stay_read_only(doctor_client, clinic_a, bob, dentist):
    from django.contrib import admin

    request = doctor_client.get(TEMPLATES).wsgi_request
    own_admin = admin.site.get_model_admin(DentalTemplate)
    shared_admin = admin.site.get_model_admin(SharedDentalTemplate)
    with tenant_context(clinic_a, user=bob):
        own, shared = DentalTemplate(tenant_id=clinic_a.pk), SharedDentalTemplate()
        assert own_admin.has_change_permission(request, own)
        assert own_admin.has_delete_permission(request, own)
        assert not shared_admin.has_add_permission(request)
        assert not shared_admin.has_change_permission(request, shared)
        assert not shared_admin.has_delete_permission(request, shared)
        assert shared_admin.has_view_permission(request, shared)


def test_the_shared_set_is_listed_read_only_beside_the_clinics_own(live_db, client):
    from accounts.testing import create_clinic
    from tenants.platform import platform_access

    # Committed: the shared set is written through the platform role's own connection.
    clinic = create_clinic("Lotus Dental", owner_email="latha@lotus.example")
    with platform_access(reason="test: a shared template"):
        shared = SharedDentalTemplate.objects.create(name="Shared caries", notes="Shared.")
    owner_client = log_in(client, clinic.owner, clinic)
    page = owner_client.get(SHARED_TEMPLATES)
    assert page.status_code == 200 and "Shared caries" in page.content.decode()
    detail = owner_client.get(f"{SHARED_TEMPLATES}{shared.pk}/change/")
    assert detail.status_code == 200 and 'name="name"' not in detail.content.decode()
    assert owner_client.post(f"{SHARED_TEMPLATES}{shared.pk}/delete/").status_code == 403
    assert "Shared caries" not in owner_client.get(TEMPLATES).content.decode()


# --- reads: audited, and a constant number of queries ------------------------------------------


def test_reading_dental_records_is_audited_as_in_the_api(
    doctor_client, clinic_a, observation, procedure
):
    doctor_client.get(OBSERVATIONS)
    doctor_client.get(f"{PROCEDURES}{procedure.pk}/change/")
    [listed] = events(clinic_a, "dental_observation.listed")
    assert listed.details["ids"] == [str(observation.pk)]
    assert listed.details["patient_ids"] == [str(observation.patient_id)]
    [viewed] = events(clinic_a, "dental_procedure.viewed")
    assert viewed.patient_id == procedure.patient_id


@pytest.mark.parametrize("page", [OBSERVATIONS, PROCEDURES])
def test_dental_lists_run_a_constant_number_of_queries(doctor_client, clinic_a, bob, patient, page):
    def add_rows(n):
        for _ in range(n):
            observation = dental_observation_create(
                tenant=clinic_a,
                actor=bob,
                patient_id=patient.pk,
                tooth_number=11,
                condition_type="caries",
            )
            dental_procedure_create(
                tenant=clinic_a,
                actor=bob,
                patient_id=patient.pk,
                observation_id=observation.pk,
                procedure_code="D2391",
                procedure_name="Fill",
            )

    add_rows(1)
    doctor_client.get(page)  # warm caches
    with AllQueries() as one:
        assert doctor_client.get(page).status_code == 200
    add_rows(5)
    with AllQueries() as many:
        assert doctor_client.get(page).status_code == 200
    assert many.count == one.count, "\n".join(many.statements)
