"""Prescriptions in the clinic's admin, after writing: its doctor changes one through the
service (never over someone else's change); status actions follow the state machine; nurses
read, receptionists never see them, another clinic's is a 404; lists and pages are audited
and read a constant number of queries."""

from __future__ import annotations

import uuid

import pytest

from accounts.testing import add_member, session_login
from clinical.models import (
    Medicine,
    Prescription,
    ShortKey,
    ShortKeyItem,
)
from clinical.services import prescription_create
from clinical.tests.admin_prescriptions.helpers import (
    ADD,
    LIST,
    act,
    add_prescriptions,
    change_url,
    edit,
    errors_of,
    events,
    item_rows,
    line,
    lines,
    status_of,
)
from clinical.tests.conftest import count_queries, item, make_doctor
from tenants.context import tenant_context
from tenants.testing import build


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


def test_listing_prescriptions_is_audited_with_the_patients(as_doctor, clinic_a, bob, written):
    as_doctor.get(LIST)
    [listed] = events(clinic_a, "prescription.listed")
    assert listed.actor_id == bob.pk
    assert listed.details["patient_ids"] == [str(written.patient_id)]


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
