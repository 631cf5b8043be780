"""Prescriptions in the clinic's admin, written: a doctor writes one as themself, from an
appointment or a patient, with medicine lines (the clinic's own and shared) and short keys,
through the prescription services; refusals show on the form and write nothing; "Save and
print" opens the PDF; nobody prescribes for another clinic's patient."""

from __future__ import annotations

import datetime

from django.utils import timezone

from accounts.testing import add_member, create_clinic, session_login
from clinical.models import (
    Appointment,
    Doctor,
    Medicine,
    Prescription,
    PrescriptionItem,
    SharedMedicine,
    ShortKey,
)
from clinical.services import short_key_create
from clinical.tests.admin_prescriptions.helpers import (
    ADD,
    change_url,
    edit,
    errors_of,
    events,
    item_rows,
    line,
    lines,
    new_rx,
    only_prescription,
)
from clinical.tests.conftest import colleagues_personal_short_key, item, make_doctor
from tenants.context import tenant_context
from tenants.testing import build


def test_doctor_writes_a_prescription_from_an_appointment(
    as_doctor, clinic_a, bob, doctor, patient, medicine, today_visit
):
    page = as_doctor.get(ADD, {"appointment": str(today_visit.pk)})
    assert page.status_code == 200
    initial = page.context_data["adminform"].form.initial
    assert initial["patient"] == patient.pk and initial["appointment"] == today_visit.pk
    assert initial["visit_date"] == today_visit.appointment_date
    assert "Written by you, Dr." in page.content.decode()

    response = as_doctor.post(
        ADD, {**new_rx(patient, appointment=today_visit), **lines(line(medicine))}
    )
    assert response.status_code == 302, errors_of(response)
    rx = only_prescription(clinic_a)
    assert (rx.doctor_id, rx.patient_id, rx.appointment_id) == (
        doctor.pk,
        patient.pk,
        today_visit.pk,
    )
    assert rx.prescription_number.startswith("RX-")
    assert item_rows(clinic_a, rx) == [(medicine.pk, "1 tablet")]
    [created] = events(clinic_a, "prescription.created")
    assert (created.actor_id, created.patient_id) == (bob.pk, patient.pk)


def test_doctor_starts_a_prescription_from_a_patient(as_doctor, patient):
    page = as_doctor.get(ADD, {"patient": str(patient.pk)})
    initial = page.context_data["adminform"].form.initial
    assert initial["patient"] == patient.pk and "appointment" not in initial


def test_a_bad_or_foreign_start_is_ignored_with_a_warning(as_doctor, clinic_b):
    with tenant_context(clinic_b):
        foreign = build(Appointment)
    for value in (str(foreign.pk), "not-a-uuid"):
        page = as_doctor.get(ADD, {"appointment": value})
        assert page.status_code == 200
        assert "appointment" not in page.context_data["adminform"].form.initial
        assert "No such appointment in this clinic" in page.content.decode()


def test_an_appointment_with_a_prescription_opens_that_one(as_doctor, clinic_a, written):
    with tenant_context(clinic_a):
        visit = build(
            Appointment,
            patient_id=written.patient_id,
            doctor_id=written.doctor_id,
            appointment_date=timezone.localdate(),
        )
        Prescription.objects.filter(pk=written.pk).update(appointment=visit)
    response = as_doctor.get(ADD, {"appointment": str(visit.pk)})
    assert response.status_code == 302 and response.url == change_url(written)


def test_a_prescription_is_always_written_as_the_signed_in_doctor(
    as_doctor, clinic_a, doctor, patient, medicine
):
    with tenant_context(clinic_a):
        colleague = build(Doctor)
    data = {**new_rx(patient), "doctor": str(colleague.pk), **lines(line(medicine))}
    assert as_doctor.post(ADD, data).status_code == 302
    assert only_prescription(clinic_a).doctor_id == doctor.pk


def test_a_short_key_fills_in_the_lines_and_counts_a_use(
    as_doctor, clinic_a, bob, doctor, patient, medicine
):
    with tenant_context(clinic_a):
        other = build(Medicine, name="Cetirizine", strength="10 mg")
    key = short_key_create(
        tenant=clinic_a,
        actor=bob,
        code="FEVER",
        name="Fever",
        items=[item(medicine, dosage="2 tablets"), item(other, dosage="1 tablet at night")],
    )
    # The doctor typed paracetamol's directions themself: theirs win over the key's.
    data = {
        **new_rx(patient, short_key=str(key.pk)),
        **lines(line(medicine, dosage="1 tablet")),
    }
    response = as_doctor.post(ADD, data)
    assert response.status_code == 302, errors_of(response)
    rx = only_prescription(clinic_a)
    assert item_rows(clinic_a, rx) == [
        (medicine.pk, "1 tablet"),
        (other.pk, "1 tablet at night"),
    ]
    with tenant_context(clinic_a):
        assert ShortKey.objects.get(pk=key.pk).usage_count == 1


def test_a_short_key_alone_is_enough(as_doctor, clinic_a, bob, doctor, patient, medicine):
    key = short_key_create(
        tenant=clinic_a, actor=bob, code="COLD", name="Cold", items=[item(medicine)]
    )
    response = as_doctor.post(ADD, {**new_rx(patient, short_key=str(key.pk)), **lines()})
    assert response.status_code == 302, errors_of(response)
    assert item_rows(clinic_a, only_prescription(clinic_a)) == [(medicine.pk, "1 tablet")]


def test_another_doctors_personal_short_key_is_not_offered(
    as_doctor, clinic_a, doctor, patient, medicine
):
    theirs = colleagues_personal_short_key(clinic_a, medicine)
    page = as_doctor.get(ADD)
    assert "THEIRS" not in page.content.decode()
    response = as_doctor.post(ADD, {**new_rx(patient, short_key=str(theirs.pk)), **lines()})
    assert response.status_code == 200
    assert response.context_data["adminform"].form.errors["short_key"]
    with tenant_context(clinic_a):
        assert not Prescription.objects.exists()


def test_a_refusal_shows_on_the_form_and_writes_nothing(
    as_doctor, clinic_a, doctor, patient, medicine
):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = as_doctor.post(
        ADD, {**new_rx(patient, visit_date=tomorrow), **lines(line(medicine))}
    )
    assert response.status_code == 200
    form = response.context_data["adminform"].form
    assert form.errors["visit_date"] == ["The visit date cannot be in the future."]
    # What the doctor typed is still there.
    assert form["diagnosis"].value() == "Acute pharyngitis"
    with tenant_context(clinic_a):
        assert not Prescription.objects.exists()


def test_a_medicine_twice_is_an_error_on_its_line(as_doctor, clinic_a, doctor, patient, medicine):
    response = as_doctor.post(ADD, {**new_rx(patient), **lines(line(medicine), line(medicine))})
    assert response.status_code == 200
    [formset] = response.context_data["inline_admin_formsets"]
    assert "already item 1" in str(formset.formset.forms[1].errors["medicine"])
    with tenant_context(clinic_a):
        assert not Prescription.objects.exists()


def test_no_medicines_is_a_readable_error(as_doctor, clinic_a, doctor, patient):
    response = as_doctor.post(ADD, {**new_rx(patient), **lines()})
    assert response.status_code == 200
    assert "Medicines: Give 1 to 20 medicines (got 0)." in response.content.decode()


def test_another_doctors_appointment_is_refused_on_the_form(
    as_doctor, clinic_a, doctor, patient, medicine
):
    with tenant_context(clinic_a):
        visit = build(Appointment, patient=patient, appointment_date=timezone.localdate())
    page = as_doctor.get(ADD, {"appointment": str(visit.pk)})
    assert "only they can write its prescription" in page.content.decode()
    response = as_doctor.post(ADD, {**new_rx(patient, appointment=visit), **lines(line(medicine))})
    assert response.status_code == 200
    assert response.context_data["adminform"].form.errors["appointment"]


def test_save_and_print_opens_the_pdf(as_doctor, clinic_a, doctor, patient, medicine):
    data = {**new_rx(patient), **lines(line(medicine)), "_saveprint": "Save and print"}
    response = as_doctor.post(ADD, data)
    rx = only_prescription(clinic_a)
    assert response.status_code == 302
    assert response.url == f"/clinic/prescriptions/{rx.pk}/pdf/"
    pdf = as_doctor.get(response.url)
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_an_owner_without_a_doctor_profile_does_not_write_prescriptions(client, clinic_a, alice):
    session_login(client, alice, clinic_a)
    assert client.get(ADD).status_code == 403


def test_an_owner_who_is_a_doctor_writes_as_themself(client, clinic_a, alice, patient, medicine):
    own = make_doctor(clinic_a, alice)
    session_login(client, alice, clinic_a)
    assert client.post(ADD, {**new_rx(patient), **lines(line(medicine))}).status_code == 302
    assert only_prescription(clinic_a).doctor_id == own.pk


def test_another_clinics_doctor_cannot_prescribe_for_this_clinics_patient(
    client, patient, medicine
):
    other = create_clinic("Elsewhere")
    other_doctor = add_member(other, role="doctor").user
    make_doctor(other, other_doctor)
    session_login(client, other_doctor, other)
    with tenant_context(other):
        own_medicine = build(Medicine, name="Own")
    response = client.post(ADD, {**new_rx(patient), **lines(line(own_medicine))})
    assert response.status_code == 200
    assert response.context_data["adminform"].form.errors["patient"]
    with tenant_context(other):
        assert not Prescription.objects.exists()


def test_a_line_names_a_shared_medicine_and_the_clinics_own(live_db):
    """The lines' medicine field takes an entry of either kind, shows it again on the record's
    page, and keeps it when the prescription is saved again."""
    from django.test import Client

    from clinical.services import medicine_catalogue_load, patient_create

    clinic = create_clinic("Asha Dental Care")
    bob = add_member(clinic, role="doctor").user
    make_doctor(clinic, bob)
    medicine_catalogue_load(
        rows=[(2, {"name": "Azithral", "dosage_form": "tablet", "strength": "500 mg"})],
        reason="test: a shared medicine",
    )
    patient = patient_create(
        tenant=clinic, actor=clinic.owner, first_name="Arjun", mobile="9845012345", gender="male"
    )
    with tenant_context(clinic):
        shared = SharedMedicine.objects.get()
        own = build(Medicine, name="House syrup", dosage_form="syrup")
    client = Client()
    session_login(client, bob, clinic)
    response = client.post(ADD, {**new_rx(patient), **lines(line(shared), line(own))})
    assert response.status_code == 302, errors_of(response)
    rx = only_prescription(clinic)
    with tenant_context(clinic):
        stored = list(
            PrescriptionItem.objects.filter(prescription=rx)
            .order_by("order")
            .values_list("medicine_id", "shared_medicine_id")
        )
    assert stored == [(None, shared.pk), (own.pk, None)]
    page = client.get(change_url(rx)).content.decode()
    assert "Azithral 500 mg" in page and "House syrup" in page
    again = client.post(change_url(rx), edit(rx, clinic, diagnosis="Tonsillitis"))
    assert again.status_code == 302, errors_of(again)
    with tenant_context(clinic):
        assert Prescription.objects.get(pk=rx.pk).diagnosis == "Tonsillitis"
        assert PrescriptionItem.objects.filter(prescription=rx, shared_medicine=shared).exists()
