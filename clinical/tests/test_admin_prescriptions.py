"""Prescriptions in the clinic's admin: a doctor writes one as themself, from an appointment or
a patient, with medicine lines and short keys, through the prescription services; "Save and
print" opens the PDF; status actions follow the state machine; nurses read, receptionists
never see them, another clinic's is a 404; lists and pages read a constant number of rows."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.utils import timezone

from accounts.testing import add_member, create_clinic, session_login
from clinical.models import (
    Appointment,
    Doctor,
    Medicine,
    Patient,
    Prescription,
    PrescriptionItem,
    SharedMedicine,
    ShortKey,
    ShortKeyItem,
)
from clinical.services import prescription_create, short_key_create
from clinical.tests.conftest import count_queries, item, make_doctor
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tenants.testing import build

ADD = "/admin/clinical/prescription/add/"
LIST = "/admin/clinical/prescription/"


def change_url(rx) -> str:
    return f"/admin/clinical/prescription/{rx.pk}/change/"


def lines(*rows, initial: int = 0) -> dict:
    """The medicine lines inline as a browser posts it."""
    data = {
        "items-TOTAL_FORMS": str(len(rows)),
        "items-INITIAL_FORMS": str(initial),
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "20",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"items-{index}-{name}"] = value
    return data


def line(medicine, **overrides) -> dict:
    row = {
        "medicine": str(medicine.pk),
        "dosage": "1 tablet",
        "frequency": "1-0-1",
        "duration": "5 days",
        "instructions": "after food",
        "quantity": "10",
        "generic_substitution_allowed": "on",
    }
    row.update(overrides)
    return row


def new_rx(patient, *, appointment=None, **overrides) -> dict:
    data = {
        "patient": str(patient.pk),
        "appointment": str(appointment.pk) if appointment else "",
        "visit_date": timezone.localdate().isoformat(),
        "status": "draft",
        "short_key": "",
        "chief_complaint": "Sore throat",
        "diagnosis": "Acute pharyngitis",
        "symptoms": "",
        "clinical_notes": "",
        "instructions": "Warm saline gargles",
        "follow_up_date": "",
    }
    data.update(overrides)
    return data


def errors_of(response) -> str:
    """The form's and the lines' errors of a re-displayed page, for assertion messages."""
    context = getattr(response, "context_data", None) or {}
    form = context.get("adminform")
    formsets = context.get("inline_admin_formsets", [])
    found = [form.form.errors] if form else []
    found += [f.formset.errors for f in formsets] + [f.formset.non_form_errors() for f in formsets]
    return repr(found)


def events(clinic, action):
    with tenant_context(clinic):
        return list(AuditEvent.objects.filter(action=action))


def only_prescription(clinic) -> Prescription:
    with tenant_context(clinic):
        return Prescription.objects.prefetch_related("items").get()


def item_rows(clinic, rx):
    with tenant_context(clinic):
        return list(
            PrescriptionItem.objects.filter(prescription=rx)
            .order_by("order")
            .values_list("medicine_id", "dosage")
        )


@pytest.fixture
def as_doctor(client, clinic_a, bob, doctor):
    session_login(client, bob, clinic_a)
    return client


@pytest.fixture
def today_visit(clinic_a, doctor, patient):
    with tenant_context(clinic_a):
        return build(
            Appointment,
            patient=patient,
            doctor=doctor,
            appointment_date=timezone.localdate(),
            status=Appointment.Status.CONFIRMED,
        )


@pytest.fixture
def written(clinic_a, bob, doctor, patient, medicine):
    """A draft that Bob wrote."""
    return prescription_create(
        tenant=clinic_a,
        actor=bob,
        patient_id=patient.pk,
        diagnosis="Viral fever",
        items=[item(medicine)],
    )


# --- writing -----------------------------------------------------------------------------------


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
    colleague = add_member(clinic_a, role="doctor").user
    make_doctor(clinic_a, colleague)
    theirs = short_key_create(
        tenant=clinic_a,
        actor=colleague,
        code="THEIRS",
        name="Theirs",
        personal=True,
        items=[item(medicine)],
    )
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


# --- changing ---------------------------------------------------------------------------------


def edit(rx, clinic, **overrides) -> dict:
    with tenant_context(clinic):
        rows = list(PrescriptionItem.objects.filter(prescription=rx).order_by("order"))
    data = {
        "visit_date": rx.visit_date.isoformat(),
        "chief_complaint": rx.chief_complaint,
        "diagnosis": rx.diagnosis,
        "symptoms": rx.symptoms,
        "clinical_notes": rx.clinical_notes,
        "instructions": rx.instructions,
        "follow_up_date": "",
        "short_key": "",
        "row_version": "",
        **lines(
            *[
                {
                    **line(Medicine(pk=row.catalogue_medicine_id), dosage=row.dosage),
                    "id": str(row.pk),
                    "prescription": str(rx.pk),
                }
                for row in rows
            ],
            initial=len(rows),
        ),
    }
    data.update(overrides)
    return data


def test_doctor_changes_their_prescription_through_the_service(
    as_doctor, clinic_a, bob, written, medicine
):
    with tenant_context(clinic_a):
        other = build(Medicine, name="Cetirizine")
    data = edit(written, clinic_a, diagnosis="Influenza")
    data.update(lines(line(medicine, dosage="2 tablets"), line(other)))
    response = as_doctor.post(change_url(written), data)
    assert response.status_code == 302, errors_of(response)
    with tenant_context(clinic_a):
        assert Prescription.objects.get(pk=written.pk).diagnosis == "Influenza"
    assert item_rows(clinic_a, written) == [(medicine.pk, "2 tablets"), (other.pk, "1 tablet")]
    [updated] = events(clinic_a, "prescription.updated")
    assert updated.actor_id == bob.pk and "items" in updated.details["fields"]


def test_saving_over_someone_elses_change_is_refused(as_doctor, clinic_a, written):
    page = as_doctor.get(change_url(written))
    version = page.context_data["adminform"].form["row_version"].value()
    with tenant_context(clinic_a):
        Prescription.objects.filter(pk=written.pk).update(diagnosis="Changed elsewhere")
    written.diagnosis = "Changed elsewhere"
    response = as_doctor.post(
        change_url(written), edit(written, clinic_a, diagnosis="Mine", row_version=version)
    )
    assert response.status_code == 200
    assert "Someone else changed this record" in response.content.decode()
    with tenant_context(clinic_a):
        assert Prescription.objects.get(pk=written.pk).diagnosis == "Changed elsewhere"


def test_another_doctors_prescription_is_read_only(client, clinic_a, written):
    colleague = add_member(clinic_a, role="doctor").user
    make_doctor(clinic_a, colleague)
    session_login(client, colleague, clinic_a)
    page = client.get(change_url(written))
    assert page.status_code == 200
    assert 'name="diagnosis"' not in page.content.decode()
    assert client.post(change_url(written), edit(written, clinic_a)).status_code == 403


def test_a_completed_prescription_is_read_only_for_its_doctor(as_doctor, clinic_a, written):
    with tenant_context(clinic_a):
        Prescription.objects.filter(pk=written.pk).update(status="completed")
    page = as_doctor.get(change_url(written)).content.decode()
    assert 'name="diagnosis"' not in page and "Save and print" not in page


# --- status -----------------------------------------------------------------------------------


def act(client, action, *prescriptions, **extra):
    data = {
        "action": action,
        "index": "0",
        "_selected_action": [str(p.pk) for p in prescriptions],
        **extra,
    }
    return client.post(LIST, data, follow=True)


def status_of(clinic, rx) -> str:
    with tenant_context(clinic):
        return Prescription.objects.get(pk=rx.pk).status


def test_status_actions_follow_the_state_machine(as_doctor, clinic_a, written):
    refused = act(as_doctor, "mark_dispensed", written)
    assert "A draft prescription cannot become dispensed." in refused.content.decode()
    assert status_of(clinic_a, written) == "draft"
    act(as_doctor, "mark_active", written)
    act(as_doctor, "mark_dispensed", written)
    assert status_of(clinic_a, written) == "dispensed"
    changes = [e.details["to"] for e in events(clinic_a, "prescription.status_changed")]
    assert sorted(changes) == ["active", "dispensed"]


def test_the_change_page_offers_the_next_statuses_only(as_doctor, clinic_a, written):
    page = as_doctor.get(change_url(written)).content.decode()
    assert 'value="mark_active"' in page and 'value="mark_cancelled"' in page
    assert 'value="mark_dispensed"' not in page
    response = act(as_doctor, "mark_active", written, _from_form="1")
    assert response.redirect_chain[-1][0] == change_url(written)
    assert status_of(clinic_a, written) == "active"


def test_only_its_doctor_changes_a_prescriptions_status(client, clinic_a, written):
    colleague = add_member(clinic_a, role="doctor").user
    make_doctor(clinic_a, colleague)
    session_login(client, colleague, clinic_a)
    assert 'value="mark_active"' not in client.get(change_url(written)).content.decode()
    response = act(client, "mark_active", written)
    assert "Only the doctor who wrote a prescription can change it." in response.content.decode()
    assert status_of(clinic_a, written) == "draft"


# --- who sees what ----------------------------------------------------------------------------


def test_nurse_reads_but_cannot_change_a_prescription(client, clinic_a, staff, written):
    session_login(client, staff["nurse"], clinic_a)
    listing = client.get(LIST)
    assert listing.status_code == 200 and written.prescription_number in listing.content.decode()
    assert ADD not in listing.content.decode()
    page = client.get(change_url(written)).content.decode()
    assert "Viral fever" in page and 'name="diagnosis"' not in page
    assert f"/clinic/prescriptions/{written.pk}/pdf/" in page
    assert client.post(change_url(written), edit(written, clinic_a)).status_code == 403
    assert client.get(ADD).status_code == 403
    act(client, "mark_active", written)
    assert status_of(clinic_a, written) == "draft"


def test_receptionist_never_sees_prescriptions(client, clinic_a, staff, written):
    session_login(client, staff["receptionist"], clinic_a)
    index = client.get("/admin/").content.decode()
    assert LIST not in index
    assert client.get(LIST).status_code == 403
    assert client.get(change_url(written)).status_code == 403
    assert client.get(ADD).status_code == 403


@pytest.mark.parametrize("role", ["owner", "doctor", "nurse"])
def test_another_clinics_prescription_is_a_404(client, written, clinic_b, role):
    outsider = clinic_b.owner if role == "owner" else add_member(clinic_b, role=role).user
    if role == "doctor":
        make_doctor(clinic_b, outsider)
    session_login(client, outsider, clinic_b)
    assert client.get(change_url(written)).status_code == 404
    missing = f"/admin/clinical/prescription/{uuid.uuid4()}/change/"
    assert client.get(missing).status_code == 404
    if role == "doctor":
        assert client.post(change_url(written), {}).status_code == 404


# --- reads: audit and a constant number of queries --------------------------------------------


def test_listing_prescriptions_is_audited_with_the_patients(as_doctor, clinic_a, bob, written):
    as_doctor.get(LIST)
    [listed] = events(clinic_a, "prescription.listed")
    assert listed.actor_id == bob.pk
    assert listed.details["patient_ids"] == [str(written.patient_id)]


def add_prescriptions(clinic, doctor, count):
    with tenant_context(clinic):
        for _ in range(count):
            rx = build(Prescription, doctor=doctor, patient=build(Patient))
            build(PrescriptionItem, prescription=rx)


def test_the_list_reads_a_constant_number_of_queries(as_doctor, clinic_a, doctor):
    add_prescriptions(clinic_a, doctor, 1)
    one, _ = count_queries(lambda: as_doctor.get(LIST))
    add_prescriptions(clinic_a, doctor, 6)
    many, page = count_queries(lambda: as_doctor.get(LIST))
    assert len(page.context_data["cl"].result_list) == 7
    assert one == many


@pytest.mark.parametrize("role", ["doctor", "nurse"])
def test_the_change_page_reads_its_lines_in_a_constant_number_of_queries(
    client, clinic_a, bob, doctor, patient, staff, role
):
    with tenant_context(clinic_a):
        drugs = [build(Medicine, name=f"Drug {n}") for n in range(6)]

    def write(count):
        return prescription_create(
            tenant=clinic_a,
            actor=bob,
            patient_id=patient.pk,
            diagnosis="Viral fever",
            items=[item(m) for m in drugs[:count]],
        )

    small, large = write(1), write(6)
    session_login(client, bob if role == "doctor" else staff["nurse"], clinic_a)
    client.get(change_url(small))  # warm the per-process caches (content types, templates)
    one, _ = count_queries(lambda: client.get(change_url(small)))
    many, page = count_queries(lambda: client.get(change_url(large)))
    assert page.status_code == 200 and "Drug 5" in page.content.decode()
    assert one == many


def test_short_key_items_are_shown_with_their_medicines(as_doctor, clinic_a):
    # The short key choice lists the member's keys by code and name.
    with tenant_context(clinic_a):
        key = build(ShortKey, code="ACID", name="Acidity")
        build(ShortKeyItem, short_key=key)
    assert "ACID — Acidity" in as_doctor.get(ADD).content.decode()


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
