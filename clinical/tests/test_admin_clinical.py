"""The clinical records in a clinic's admin: writes through clinical.services, reads audited."""

from __future__ import annotations

import pytest

from clinical.models import Doctor, Medicine, Patient, Prescription, SharedMedicine, ShortKey
from clinics.tests.admin_helpers import log_in, staff
from tenants.context import tenant_context
from tenants.models import AuditEvent, Tenant
from tenants.testing import build

PATIENT = {
    "first_name": "Arjun",
    "last_name": "Menon",
    "mobile": "+91 98450 12345",
    "date_of_birth": "",
    "gender": "male",
    "email": "",
    "address": "",
    "notes": "",
    "emergency_contact": "",
    "relationship_to_primary": "self",
}


@pytest.fixture
def owner(client, clinic_a, alice):
    return log_in(client, staff(alice), clinic_a)


def events(tenant, **filters):
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(**filters))


def test_registering_a_patient_uses_the_service(owner, clinic_a, alice):
    response = owner.post("/admin/clinical/patient/add/", PATIENT)
    assert response.status_code == 302, response.content.decode()
    with tenant_context(clinic_a):
        patient = Patient.objects.get()
    assert (patient.mobile, patient.tenant_id) == ("9845012345", clinic_a.pk)
    [created] = events(clinic_a, action="patient.created")
    assert (created.actor_id, created.patient_id) == (alice.pk, patient.pk)


def test_the_patient_limit_holds_in_the_admin(owner, clinic_a):
    with tenant_context(clinic_a):
        Tenant.objects.filter(pk=clinic_a.pk).update(max_patients_override=1, plan="enterprise")
        build(Patient, mobile="9900112233")
    response = owner.post("/admin/clinical/patient/add/", PATIENT, follow=True)
    assert "allows 1 patients" in response.content.decode()
    with tenant_context(clinic_a):
        assert Patient.objects.count() == 1


def test_a_service_refusal_is_shown_on_the_form_as_typed(owner, clinic_a):
    """The plan's limit refuses the registration: the same form comes back (200, not a 500 or
    a redirect), with the refusal at its top and what was typed still in it."""
    with tenant_context(clinic_a):
        Tenant.objects.filter(pk=clinic_a.pk).update(max_patients_override=1, plan="enterprise")
        build(Patient, mobile="9900112233")
    response = owner.post("/admin/clinical/patient/add/", PATIENT)
    assert response.status_code == 200
    form = response.context_data["adminform"].form
    assert any("allows 1 patients" in e for e in form.non_field_errors())
    assert 'value="Arjun"' in response.content.decode()


def test_a_bad_mobile_is_a_form_error(owner, clinic_a):
    response = owner.post("/admin/clinical/patient/add/", {**PATIENT, "mobile": "12345"})
    assert response.status_code == 200
    assert "valid Indian mobile number" in response.content.decode()


def test_deleting_a_patient_is_the_soft_delete_and_leaves_it_read_only(owner, clinic_a):
    with tenant_context(clinic_a):
        patient = build(Patient)
    response = owner.post(
        "/admin/clinical/patient/",
        {"action": "soft_delete", "_selected_action": [str(patient.pk)]},
    )
    assert response.status_code == 302
    with tenant_context(clinic_a):
        assert Patient.objects.get(pk=patient.pk).deleted_at is not None
    page = owner.get(f"/admin/clinical/patient/{patient.pk}/change/").content.decode()
    assert 'name="first_name"' not in page, "a deleted record is not editable"
    assert owner.get(f"/admin/clinical/patient/{patient.pk}/delete/").status_code == 403


def test_searching_patients_by_mobile_prefix(owner, clinic_a):
    with tenant_context(clinic_a):
        found = build(Patient, mobile="9845012345")
        other = build(Patient, mobile="9900112233")
    response = owner.get("/admin/clinical/patient/", {"q": "+91 98450"})
    listed = {p.pk for p in response.context_data["cl"].result_list}
    assert found.pk in listed and other.pk not in listed


def test_the_shared_catalogue_is_read_only_and_own_medicines_change_through_the_service(
    live_db,
):
    # The shared catalogue is written through platform access: committed data (live_db).
    from django.test import Client

    from accounts.testing import create_clinic
    from tenants.platform import platform_access

    clinic_a = create_clinic("Asha Dental Care")
    alice = clinic_a.owner
    owner = log_in(Client(), staff(alice), clinic_a)
    with platform_access(reason="test: a shared catalogue entry"):
        shared = SharedMedicine.objects.create(
            name="Paracetamol", dosage_form="tablet", strength="500 mg"
        )
    with tenant_context(clinic_a):
        own = build(Medicine, name="House syrup", dosage_form="syrup")
    listing = owner.get("/admin/clinical/medicine/").content.decode()
    assert "Paracetamol" in listing and "House syrup" in listing
    shared_page = owner.get(f"/admin/clinical/medicine/{shared.pk}/change/").content.decode()
    assert 'name="name"' not in shared_page
    data = {
        "name": "House syrup",
        "generic_name": "",
        "composition": "",
        "manufacturer": "",
        "dosage_form": "syrup",
        "strength": "100 ml",
        "category": "",
        "price": "",
        "prescription_only": "on",
        "atc_code": "",
        "notes": "",
        "is_active": "on",
    }
    response = owner.post(f"/admin/clinical/medicine/{own.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()
    with tenant_context(clinic_a):
        assert Medicine.objects.get(pk=own.pk).strength == "100 ml"
    assert [e.actor_id for e in events(clinic_a, action="medicine.updated")] == [alice.pk]


def test_deactivating_a_doctor_uses_the_service(owner, clinic_a):
    with tenant_context(clinic_a):
        doctor = build(Doctor)
    owner.post(
        "/admin/clinical/doctor/", {"action": "deactivate", "_selected_action": [str(doctor.pk)]}
    )
    with tenant_context(clinic_a):
        assert not Doctor.objects.get(pk=doctor.pk).is_active
    assert events(clinic_a, action="doctor.deactivated")


def test_personal_short_keys_stay_their_doctors(owner, clinic_a, bob):
    with tenant_context(clinic_a):
        shared = build(ShortKey, code="FEVER")
        personal = build(ShortKey, code="BOBS", doctor=build(Doctor, user=bob))
    listing = owner.get("/admin/clinical/shortkey/").content.decode()
    assert str(shared.pk) in listing and str(personal.pk) not in listing


def test_reading_a_prescription_is_audited_with_its_patient(owner, clinic_a, alice):
    with tenant_context(clinic_a):
        prescription = build(Prescription)
    page = owner.get(f"/admin/clinical/prescription/{prescription.pk}/change/")
    assert page.status_code == 200
    assert 'name="diagnosis"' not in page.content.decode(), "read-only in the admin"
    [read] = events(clinic_a, action="admin.viewed")
    assert (read.patient_id, read.actor_id) == (prescription.patient_id, alice.pk)


# --- doctors' weekly hours ---------------------------------------------------------------------


def _doctor_page_data(client, doctor, windows):
    """The doctor's change form as posted: the profile as it is, the hours as given."""
    page = client.get(f"/admin/clinical/doctor/{doctor.pk}/change/")
    form = page.context_data["adminform"].form
    data = {
        name: "" if form.initial.get(name) is None else form.initial[name] for name in form.fields
    }
    for inline in page.context_data["inline_admin_formsets"]:
        formset = inline.formset
        prefix = formset.prefix
        if formset.model.__name__ != "DoctorAvailability":
            data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
            continue
        existing = list(formset.queryset)
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(max(len(existing), len(windows))),
                f"{prefix}-INITIAL_FORMS": str(len(existing)),
            }
        )
        for i in range(max(len(existing), len(windows))):
            if i < len(existing):
                data[f"{prefix}-{i}-id"] = str(existing[i].pk)
                data[f"{prefix}-{i}-doctor"] = str(doctor.pk)
            if i < len(windows):
                weekday, start, end = windows[i]
                data.update(
                    {
                        f"{prefix}-{i}-weekday": str(weekday),
                        f"{prefix}-{i}-start_time": start,
                        f"{prefix}-{i}-end_time": end,
                        f"{prefix}-{i}-office": "",
                    }
                )
            else:
                row = existing[i]
                data.update(
                    {
                        f"{prefix}-{i}-weekday": str(row.weekday),
                        f"{prefix}-{i}-start_time": row.start_time.strftime("%H:%M"),
                        f"{prefix}-{i}-end_time": row.end_time.strftime("%H:%M"),
                        f"{prefix}-{i}-DELETE": "on",
                    }
                )
    return data


@pytest.fixture
def hours_doctor(clinic_a, bob):
    from clinical.tests.conftest import make_doctor

    return make_doctor(clinic_a, bob)


def test_owner_changes_a_doctors_hours_through_the_service(owner, clinic_a, hours_doctor):
    from clinical.models import DoctorAvailability

    data = _doctor_page_data(owner, hours_doctor, [(0, "09:00", "13:00"), (2, "14:00", "18:00")])
    response = owner.post(f"/admin/clinical/doctor/{hours_doctor.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()
    with tenant_context(clinic_a):
        hours = sorted(
            DoctorAvailability.objects.filter(doctor=hours_doctor).values_list(
                "weekday", "start_time", "end_time"
            )
        )
    assert [(d, s.strftime("%H:%M"), e.strftime("%H:%M")) for d, s, e in hours] == [
        (0, "09:00", "13:00"),
        (2, "14:00", "18:00"),
    ]
    [updated] = events(clinic_a, action="doctor.updated")
    assert "availability" in updated.details["fields"]


def test_overlapping_hours_are_a_form_error_and_change_nothing(owner, clinic_a, hours_doctor):
    from clinical.models import DoctorAvailability

    data = _doctor_page_data(owner, hours_doctor, [(1, "09:00", "13:00"), (1, "12:00", "15:00")])
    response = owner.post(f"/admin/clinical/doctor/{hours_doctor.pk}/change/", data)
    assert response.status_code == 200
    errors = response.context_data["adminform"].form.non_field_errors()
    assert any("Overlaps another window" in e for e in errors)
    with tenant_context(clinic_a):
        assert DoctorAvailability.objects.filter(doctor=hours_doctor).count() == 7


@pytest.mark.parametrize("role", ["doctor", "nurse", "receptionist"])
def test_other_roles_see_the_doctors_hours_read_only(client, clinic_a, hours_doctor, role):
    from accounts.testing import add_member

    log_in(client, add_member(clinic_a, role=role).user, clinic_a)
    page = client.get(f"/admin/clinical/doctor/{hours_doctor.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "weekly availability" in html.lower() and "08:00" in html
    assert 'name="availability-0-start_time"' not in html, "no editable hours"
    assert 'name="license_number"' not in html
