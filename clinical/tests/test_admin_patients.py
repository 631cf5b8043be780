"""Patients at the front desk (clinical.admin.patients): every role registers and edits
through the services, refusals come back on the form, and the patient's page shows their
history as a timeline with the documents one click away, by role, audited and in a constant
number of queries."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.testing import add_member, session_login
from clinical.models import (
    Appointment,
    DentalObservation,
    DentalProcedure,
    Patient,
    Prescription,
)
from clinical.services import patient_create
from clinical.tests.conftest import make_doctor
from tenants.context import tenant_context
from tenants.models import AuditEvent, Tenant
from tenants.testing import build

LIST = "/admin/clinical/patient/"
ADD = "/admin/clinical/patient/add/"
ROLES = ["owner", "admin", "doctor", "nurse", "receptionist"]

PATIENT = {
    "first_name": "Meera",
    "last_name": "Iyer",
    "mobile": "+91 98860 12345",
    "date_of_birth": "1985-02-11",
    "gender": "female",
    "email": "",
    "address": "",
    "notes": "",
    "emergency_contact": "",
    "relationship_to_primary": "",
    "print_language": "",
}


def signed_in(user, clinic) -> Client:
    client = Client()
    session_login(client, user, clinic)
    return client


@pytest.fixture
def member(clinic_a, alice, bob, doctor, staff):
    """`member(role)`: a signed-in browser of that role in clinic A (the doctor is Bob,
    who has a doctor profile)."""

    def browser(role):
        user = {"owner": alice, "doctor": bob}.get(role) or staff[role]
        return signed_in(user, clinic_a)

    return browser


def events(clinic, **filters):
    with tenant_context(clinic):
        return list(AuditEvent.objects.filter(**filters))


def page_of(patient) -> str:
    return f"{LIST}{patient.pk}/change/"


# --- registering and editing ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["receptionist", "nurse"])
def test_the_front_desk_registers_a_patient_through_the_service(member, clinic_a, staff, role):
    response = member(role).post(ADD, PATIENT)
    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant_context(clinic_a):
        patient = Patient.objects.get()
    assert (patient.mobile, patient.relationship_to_primary) == ("9886012345", "self")
    [created] = events(clinic_a, action="patient.created")
    assert (created.actor_id, created.patient_id) == (staff[role].pk, patient.pk)


@pytest.mark.parametrize("role", ["receptionist", "nurse"])
def test_the_front_desk_edits_a_patient_through_the_service(member, clinic_a, patient, role):
    page = member(role).get(page_of(patient))
    form = page.context_data["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data["address"] = "12 MG Road, Bengaluru"
    response = member(role).post(page_of(patient), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant_context(clinic_a):
        assert Patient.objects.get(pk=patient.pk).address == "12 MG Road, Bengaluru"
    assert events(clinic_a, action="patient.updated")


@pytest.mark.parametrize("role", ["doctor", "nurse", "receptionist"])
def test_only_owners_and_admins_delete_patients(member, patient, role):
    client = member(role)
    action_form = client.get(LIST).context_data["action_form"]
    actions = dict(action_form.fields["action"].choices) if action_form else {}
    assert "soft_delete" not in actions
    assert client.get(f"{LIST}{patient.pk}/delete/").status_code == 403


def test_a_second_family_member_needs_a_relationship_on_the_form(member, clinic_a, patient):
    response = member("receptionist").post(ADD, {**PATIENT, "mobile": "9845012345"})
    assert response.status_code == 200
    errors = response.context_data["adminform"].form.errors
    assert "already belongs to a family" in errors["relationship_to_primary"][0]
    joined = member("receptionist").post(
        ADD, {**PATIENT, "mobile": "9845012345", "relationship_to_primary": "spouse"}
    )
    assert joined.status_code == 302
    with tenant_context(clinic_a):
        assert Patient.objects.filter(mobile="9845012345").count() == 2


def test_the_plan_limit_is_an_error_on_the_form(member, clinic_a, patient):
    with tenant_context(clinic_a):
        Tenant.objects.filter(pk=clinic_a.pk).update(max_patients_override=1, plan="enterprise")
    response = member("receptionist").post(ADD, PATIENT)
    assert response.status_code == 200, "the form again, as typed"
    form = response.context_data["adminform"].form
    assert any("allows 1 patients" in e for e in form.non_field_errors())
    assert form["first_name"].value() == "Meera"
    with tenant_context(clinic_a):
        assert Patient.objects.count() == 1


def test_a_bad_mobile_is_an_error_on_its_field(member, clinic_a):
    response = member("receptionist").post(ADD, {**PATIENT, "mobile": "12345"})
    assert (
        "valid Indian mobile number" in response.context_data["adminform"].form.errors["mobile"][0]
    )


@pytest.mark.parametrize("role", ROLES)
def test_another_clinics_patient_is_a_404_for_every_role(member, clinic_b, role):
    with tenant_context(clinic_b):
        theirs = build(Patient, first_name="Outsider")
    client = member(role)
    assert client.get(page_of(theirs)).status_code == 404
    assert "Outsider" not in client.get(LIST).content.decode()


# --- the list ---------------------------------------------------------------------------------


def test_the_patient_list_is_audited_like_the_apis(member, clinic_a, patient, staff):
    member("receptionist").get(LIST, {"q": "Arjun"})
    [listed] = events(clinic_a, action="patient.listed")
    assert listed.actor_id == staff["receptionist"].pk
    assert listed.details == {"patient_ids": [str(patient.pk)], "search": "Arjun"}


def test_picking_a_patient_by_autocomplete_is_audited_like_the_list(
    member, clinic_a, patient, staff
):
    response = member("receptionist").get(
        "/admin/autocomplete/",
        {
            "term": "Arjun",
            "app_label": "clinical",
            "model_name": "appointment",
            "field_name": "patient",
        },
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(patient.pk)]
    [listed] = events(clinic_a, action="patient.listed")
    assert listed.actor_id == staff["receptionist"].pk
    assert listed.details == {"patient_ids": [str(patient.pk)], "search": "Arjun"}


def _list_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)
    return len(queries.captured_queries), len(response.context_data["cl"].result_list)


def test_the_patient_list_takes_as_many_queries_for_one_row_as_for_many(member, clinic_a, patient):
    client = member("receptionist")
    one, rows = _list_queries(client)
    assert rows == 1
    with tenant_context(clinic_a):
        for n in range(20):
            build(Patient, mobile=f"98000{n:05d}")
    many, rows = _list_queries(client)
    assert rows == 21
    assert many == one


# --- the patient's page -----------------------------------------------------------------------


@pytest.fixture
def history(clinic_a, doctor, patient):
    """Arjun's history: an appointment last month, a prescription and a finding last week,
    a procedure yesterday and an appointment tomorrow."""
    today = timezone.localdate()
    with tenant_context(clinic_a):
        return {
            "old_visit": build(
                Appointment,
                patient=patient,
                doctor=doctor,
                appointment_date=today - datetime.timedelta(days=30),
                reason="First visit",
            ),
            "prescription": build(
                Prescription,
                patient=patient,
                doctor=doctor,
                visit_date=today - datetime.timedelta(days=7),
                diagnosis="Acute pharyngitis",
            ),
            "finding": build(
                DentalObservation,
                patient=patient,
                doctor=doctor,
                tooth_number=46,
                observed_on=today - datetime.timedelta(days=6),
                notes="Deep occlusal caries",
            ),
            "procedure": build(
                DentalProcedure,
                patient=patient,
                doctor=doctor,
                procedure_name="Root canal treatment, molar",
                planned_date=today - datetime.timedelta(days=1),
            ),
            "next_visit": build(
                Appointment,
                patient=patient,
                doctor=doctor,
                appointment_date=today + datetime.timedelta(days=1),
                reason="Review",
            ),
        }


def test_the_doctor_sees_the_whole_history_newest_first_with_every_document(
    member, patient, history
):
    response = member("doctor").get(page_of(patient))
    kinds = [entry["kind"] for entry in response.context_data["timeline"]]
    assert kinds == ["appointment", "procedure", "finding", "prescription", "appointment"]
    page = response.content.decode()
    rx = history["prescription"].pk
    for link in (
        f"/clinic/prescriptions/{rx}/print/",
        f"/clinic/prescriptions/{rx}/pdf/",
        f"/clinic/patients/{patient.pk}/dental-chart/",
        f"/clinic/patients/{patient.pk}/case-summary/",
        f"/clinic/patients/{patient.pk}/case-summary/pdf/",
        f"/admin/clinical/appointment/add/?patient={patient.pk}",
        f"/admin/clinical/prescription/add/?patient={patient.pk}",
    ):
        assert link in page, link
    for text in ("Acute pharyngitis", "Root canal treatment, molar", "Review", "First visit"):
        assert text in page


def test_the_receptionist_sees_appointments_only(member, patient, history):
    response = member("receptionist").get(page_of(patient))
    assert {e["kind"] for e in response.context_data["timeline"]} == {"appointment"}
    page = response.content.decode()
    for hidden in (
        "Acute pharyngitis",
        "Root canal",
        "/clinic/prescriptions/",
        "dental-chart",
        "case-summary",
        "/admin/clinical/prescription/add/",
    ):
        assert hidden not in page, hidden
    assert f"/admin/clinical/appointment/add/?patient={patient.pk}" in page


def test_the_nurse_reads_and_prints_but_writes_no_prescription(member, patient, history):
    page = member("nurse").get(page_of(patient)).content.decode()
    assert f"/clinic/prescriptions/{history['prescription'].pk}/pdf/" in page
    assert f"/clinic/patients/{patient.pk}/dental-chart/" in page
    assert "/admin/clinical/prescription/add/" not in page


def test_an_owner_without_a_doctor_profile_writes_no_prescription(member, patient, history):
    page = member("owner").get(page_of(patient)).content.decode()
    assert "Acute pharyngitis" in page
    assert "/admin/clinical/prescription/add/" not in page


def test_the_timelines_reads_are_audited_as_the_api_audits_them(
    member, clinic_a, bob, patient, history
):
    member("doctor").get(page_of(patient))
    expected = {
        "prescription.listed": {
            "prescription_ids": [str(history["prescription"].pk)],
            "patient_ids": [str(patient.pk)],
        },
        "dental_observation.listed": {
            "ids": [str(history["finding"].pk)],
            "patient_ids": [str(patient.pk)],
        },
        "dental_procedure.listed": {
            "ids": [str(history["procedure"].pk)],
            "patient_ids": [str(patient.pk)],
        },
    }
    for action, details in expected.items():
        [event] = events(clinic_a, action=action)
        assert (event.actor_id, event.patient_id, event.details) == (bob.pk, patient.pk, details)


def test_the_receptionists_page_records_no_clinical_reads(member, clinic_a, patient, history):
    member("receptionist").get(page_of(patient))
    assert not events(clinic_a, action__in=["prescription.listed", "dental_observation.listed"])


def _page_queries(client, patient) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page_of(patient))
    assert response.status_code == 200
    return len(queries.captured_queries), len(response.context_data["timeline"])


def test_the_timeline_takes_as_many_queries_for_one_entry_of_each_kind_as_for_many(
    member, clinic_a, patient, history
):
    client = member("doctor")
    one, entries = _page_queries(client, patient)
    assert entries == 5
    colleague = make_doctor(clinic_a, add_member(clinic_a, role="doctor").user)
    with tenant_context(clinic_a):
        for n in range(6):
            who = colleague if n % 2 else history["finding"].doctor
            day = timezone.localdate() - datetime.timedelta(days=40 + n)
            build(Appointment, patient=patient, doctor=who, appointment_date=day)
            build(Prescription, patient=patient, doctor=who, visit_date=day)
            build(DentalObservation, patient=patient, doctor=who, observed_on=day)
            build(DentalProcedure, patient=patient, doctor=who)
    many, entries = _page_queries(client, patient)
    assert entries == 5 + 24
    assert many == one


def test_a_deleted_patients_page_offers_no_booking(member, clinic_a, alice, patient):
    with tenant_context(clinic_a):
        Patient.objects.filter(pk=patient.pk).update(deleted_at=timezone.now())
    page = member("receptionist").get(page_of(patient)).content.decode()
    assert "/admin/clinical/appointment/add/" not in page


def test_a_family_member_registered_through_the_service_shows_in_the_list(
    member, clinic_a, alice, patient
):
    with tenant_context(clinic_a):
        spouse = patient_create(
            tenant=clinic_a,
            actor=alice,
            first_name="Lakshmi",
            last_name="Menon",
            mobile=patient.mobile,
            relationship_to_primary="spouse",
        )
    listed = member("receptionist").get(LIST, {"q": "98450"}).context_data["cl"].result_list
    assert {p.pk for p in listed} == {patient.pk, spouse.pk}
