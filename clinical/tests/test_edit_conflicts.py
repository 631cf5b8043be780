"""Optimistic concurrency for clinical records (clinical.versions): answers carry a strong
ETag, a PATCH whose If-Match names an older version is 409 `edit_conflict` and changes
nothing, a PATCH without If-Match works as before, and two concurrent edits of one version
cannot both win. The admin's change form refuses to save over someone else's change."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.testing import bearer, create_clinic
from clinical.models import (
    Appointment,
    DentalObservation,
    DentalProcedure,
    Patient,
    Prescription,
)
from clinical.services import patient_create, patient_update
from clinical.tests.conftest import h, observation_body, procedure_body
from clinical.tests.test_appointments import book
from clinical.tests.test_prescriptions import rx_body
from clinics.tests.admin_helpers import log_in, staff
from tenants.context import tenant_context
from tenants.testing import build


def created(response):
    assert response.status_code == 201, response.content[:300]
    return response.json()["id"]


@pytest.fixture
def records(api, clinic_a, bob, dentist, patient, medicine, tomorrow):
    """One record of each versioned kind: {kind: (url, model, a text field it has)}."""
    headers = h(bob, clinic_a)
    rx = created(
        api.post("/api/v1/prescriptions", rx_body(patient, [medicine]), format="json", **headers)
    )
    apt = created(book(api, bob, clinic_a, patient, dentist, tomorrow))
    obs = created(
        api.post("/api/v1/dental/observations", observation_body(patient), format="json", **headers)
    )
    proc = created(
        api.post("/api/v1/dental/procedures", procedure_body(patient), format="json", **headers)
    )
    return {
        "patient": (f"/api/v1/patients/{patient.pk}", Patient, "notes"),
        "prescription": (f"/api/v1/prescriptions/{rx}", Prescription, "diagnosis"),
        "appointment": (f"/api/v1/appointments/{apt}", Appointment, "notes"),
        "observation": (f"/api/v1/dental/observations/{obs}", DentalObservation, "notes"),
        "procedure": (f"/api/v1/dental/procedures/{proc}", DentalProcedure, "notes"),
    }


KINDS = ["patient", "prescription", "appointment", "observation", "procedure"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_stale_if_match_is_a_409_and_changes_nothing(api, clinic_a, bob, records, kind):
    url, model, field = records[kind]
    headers = h(bob, clinic_a)
    first = api.get(url, **headers)
    seen = first["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{24}"', seen), "a strong, opaque ETag"
    # Someone else saves a change first.
    other = api.patch(url, {field: "theirs"}, format="json", HTTP_IF_MATCH=seen, **headers)
    assert other.status_code == 200, other.content[:300]
    assert other["ETag"] != seen
    mine = api.patch(url, {field: "mine"}, format="json", HTTP_IF_MATCH=seen, **headers)
    assert mine.status_code == 409
    assert mine.json()["code"] == "edit_conflict"
    assert mine.json()["version"] == other["ETag"].strip('"')
    with tenant_context(clinic_a):
        assert getattr(model.objects.get(pk=url.rsplit("/", 1)[1]), field) == "theirs"
    # With the current version the same change goes through.
    retry = api.patch(url, {field: "mine"}, format="json", HTTP_IF_MATCH=other["ETag"], **headers)
    assert retry.status_code == 200
    assert retry.json()[field] == "mine"


@pytest.mark.parametrize("kind", KINDS)
def test_without_if_match_an_edit_works_as_before(api, clinic_a, bob, records, kind):
    url, _model, field = records[kind]
    response = api.patch(url, {field: "edited"}, format="json", **h(bob, clinic_a))
    assert response.status_code == 200
    assert response["ETag"] == api.get(url, **h(bob, clinic_a))["ETag"]


def test_if_match_star_and_lists_and_weak_tags(api, clinic_a, alice, patient):
    url = f"/api/v1/patients/{patient.pk}"
    headers = h(alice, clinic_a)
    current = api.get(url, **headers)["ETag"]
    star = api.patch(url, {"notes": "a"}, format="json", HTTP_IF_MATCH="*", **headers)
    assert star.status_code == 200
    current = star["ETag"]
    listed = api.patch(
        url, {"notes": "b"}, format="json", HTTP_IF_MATCH=f'"stale", {current}', **headers
    )
    assert listed.status_code == 200
    weak = api.patch(
        url, {"notes": "c"}, format="json", HTTP_IF_MATCH=f"W/{listed['ETag']}", **headers
    )
    assert weak.status_code == 409, "If-Match compares strongly"


def test_the_etag_is_the_same_for_every_reader_and_differs_between_records(
    api, clinic_a, alice, bob, patient
):
    url = f"/api/v1/patients/{patient.pk}"
    assert api.get(url, **h(alice, clinic_a))["ETag"] == api.get(url, **h(bob, clinic_a))["ETag"]
    other = patient_create(tenant=clinic_a, actor=alice, first_name="Meera", mobile="9845099999")
    assert (
        api.get(f"/api/v1/patients/{other.pk}", **h(alice, clinic_a))["ETag"]
        != api.get(url, **h(alice, clinic_a))["ETag"]
    )


def test_another_clinics_record_stays_a_404_whatever_the_if_match(
    api, clinic_a, alice, patient, clinic_b, charlie
):
    url = f"/api/v1/patients/{patient.pk}"
    seen = api.get(url, **h(alice, clinic_a))["ETag"]
    for if_match in (seen, "*"):
        response = api.patch(
            url, {"notes": "x"}, format="json", HTTP_IF_MATCH=if_match, **h(charlie, clinic_b)
        )
        assert response.status_code == 404


def test_two_concurrent_edits_of_one_version_cannot_both_win(live_db):
    clinic = create_clinic("Race Clinic")
    owner = clinic.owner
    with tenant_context(clinic):
        patient = build(Patient, first_name="Arjun", notes="")
    headers = bearer(owner, clinic)
    url = f"/api/v1/patients/{patient.pk}"
    seen = APIClient().get(url, **headers)["ETag"]
    connection.close()
    start = threading.Barrier(2)
    answers: dict[str, int] = {}

    def edit(note):
        client = APIClient()
        start.wait()
        answers[note] = client.patch(
            url, {"notes": note}, format="json", HTTP_IF_MATCH=seen, **headers
        ).status_code
        connection.close()

    threads = [threading.Thread(target=edit, args=(note,)) for note in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers.values()) == [200, 409], answers
    [winner] = [note for note, status in answers.items() if status == 200]
    with tenant_context(clinic):
        assert Patient.objects.get(pk=patient.pk).notes == winner


def test_the_admin_refuses_to_save_over_someone_elses_change(client, clinic_a, alice, patient):
    owner = log_in(client, staff(alice), clinic_a)
    url = f"/admin/clinical/patient/{patient.pk}/change/"
    page = owner.get(url).content.decode()
    [opened] = re.findall(r'name="row_version" value="([0-9a-f]{24})"', page)
    form = {
        "first_name": "Arjun",
        "last_name": "Menon",
        "mobile": "9845012345",
        "date_of_birth": "1990-05-17",
        "gender": "male",
        "email": "",
        "address": "",
        "notes": "mine",
        "emergency_contact": "",
        "relationship_to_primary": "self",
        "print_language": "",
    }
    # Meanwhile a colleague changes the record through the API's service.
    patient_update(tenant=clinic_a, actor=alice, patient=patient, notes="theirs")
    response = owner.post(url, {**form, "row_version": opened}, follow=True)
    assert "Someone else changed this record" in response.content.decode()
    with tenant_context(clinic_a):
        assert Patient.objects.get(pk=patient.pk).notes == "theirs"
    # Opened again, the form carries the new version and saves.
    [current] = re.findall(
        r'name="row_version" value="([0-9a-f]{24})"', owner.get(url).content.decode()
    )
    assert current != opened
    response = owner.post(url, {**form, "row_version": current})
    assert response.status_code == 302
    with tenant_context(clinic_a):
        assert Patient.objects.get(pk=patient.pk).notes == "mine"
