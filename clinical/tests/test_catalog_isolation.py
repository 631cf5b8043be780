"""Lines that name a medicine (prescription and short-key items) and the clinic boundary.

A line names either a shared medicine (the reference table `clinical_sharedmedicine`, which
every clinic reads) or one of its clinic's own (`clinical_medicine`, through the composite
foreign key (tenant_id, medicine_id) → clinical_medicine(tenant_id, id)), exactly one of the
two. The generated isolation suite (tenants/tests/isolation.py) covers lines that name a
clinic's own medicine; here the lines name a shared one, which every clinic may name, so row
level security alone stands between the clinics, and the constraints are proven directly.
"""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from accounts.testing import add_member, create_clinic
from clinical.models import Medicine, PrescriptionItem, SharedMedicine, ShortKeyItem
from clinical.services import medicine_catalogue_load, patient_create
from clinical.services.medicines import STARTER_CATALOGUE
from clinical.tests.conftest import h, item, make_doctor
from tenants.context import tenant_context
from tenants.platform import platform_access
from tenants.testing import build

LINE_MODELS = [PrescriptionItem, ShortKeyItem]


@pytest.fixture
def shared_medicine(live_db):
    rows = [(2, {"name": "Paracetamol", "dosage_form": "tablet", "strength": "500 mg"})]
    medicine_catalogue_load(rows=rows, reason="test: one shared medicine")
    with platform_access(reason="test: fetch it"):
        return SharedMedicine.objects.get()


@pytest.mark.parametrize("model", LINE_MODELS, ids=lambda m: m.__name__)
def test_rls_refuses_another_clinics_row_that_points_at_a_shared_medicine(shared_medicine, model):
    a, b = create_clinic(), create_clinic()
    with tenant_context(a):
        row_a = build(model, shared_medicine=shared_medicine)
    with tenant_context(b):
        row_b = build(model, shared_medicine=shared_medicine)
        copy = model._base_manager.get(pk=row_b.pk)
    copy.pk = uuid.uuid4()
    table = connection.ops.quote_name(model._meta.db_table)
    with tenant_context(a), pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic():
            copy.save_base(force_insert=True)
    with tenant_context(a), pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET tenant_id = %s WHERE id = %s", [b.pk, row_a.pk])


@pytest.mark.parametrize("model", LINE_MODELS, ids=lambda m: m.__name__)
def test_the_composite_key_refuses_another_clinics_own_medicine(live_db, model):
    a, b = create_clinic(), create_clinic()
    with tenant_context(b):
        theirs = build(Medicine)
    with tenant_context(a):
        line = build(model)
    # Through the ORM, in clinic A's context: the row is A's, the medicine B's.
    with tenant_context(a), pytest.raises(IntegrityError, match="_medicine_id_tenant_fk"):
        with transaction.atomic():
            build(model, medicine_id=theirs.pk)
    # Repointing an existing line, bypassing the ORM.
    table = connection.ops.quote_name(model._meta.db_table)
    with tenant_context(a), pytest.raises(IntegrityError, match="_medicine_id_tenant_fk"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET medicine_id = %s WHERE id = %s", [theirs.pk, line.pk]
            )


@pytest.mark.parametrize("model", LINE_MODELS, ids=lambda m: m.__name__)
def test_a_line_names_exactly_one_medicine(shared_medicine, model):
    clinic = create_clinic()
    with tenant_context(clinic):
        own = build(Medicine)
        with pytest.raises(IntegrityError, match="_one_medicine"):
            with transaction.atomic():
                build(model, medicine=own, shared_medicine=shared_medicine)
        line = build(model, shared_medicine=shared_medicine)
        with pytest.raises(IntegrityError, match="_one_medicine"):
            with transaction.atomic():
                model.objects.filter(pk=line.pk).update(shared_medicine=None)
        assert model.objects.get(pk=line.pk).catalogue_medicine_id == shared_medicine.pk


def test_a_shared_medicine_is_listed_once_per_prescription(shared_medicine):
    clinic = create_clinic()
    with tenant_context(clinic):
        line = build(PrescriptionItem, shared_medicine=shared_medicine)
        with pytest.raises(IntegrityError, match="prescriptionitem_tenant_shared_medicine_uniq"):
            with transaction.atomic():
                build(
                    PrescriptionItem,
                    prescription_id=line.prescription_id,
                    shared_medicine=shared_medicine,
                )


def _prescription_body(patient, medicines):
    return {
        "patient_id": str(patient.pk),
        "diagnosis": "Fever",
        "items": [item(m) for m in medicines],
    }


def _doctor_and_patient(clinic):
    doctor_user = add_member(clinic, email=f"dr-{clinic.pk.hex[:8]}@x.example", role="doctor").user
    make_doctor(clinic, doctor_user)
    patient = patient_create(
        tenant=clinic,
        actor=clinic.owner,
        first_name="Arjun",
        last_name="Menon",
        mobile="9845012345",
        gender="male",
    )
    return doctor_user, patient


def test_two_clinics_prescribe_a_shared_medicine_and_not_each_others(live_db, api):
    call_command("load_medicines", str(STARTER_CATALOGUE), stdout=io.StringIO())
    a, b = create_clinic(), create_clinic()
    with platform_access(reason="test: pick a shared medicine"):
        shared = SharedMedicine.objects.get(name="Paracetamol", strength="500 mg")
    with tenant_context(b):
        theirs = build(Medicine, name="B Private Syrup", dosage_form="syrup")
    people = {}
    for clinic in (a, b):
        doctor_user, patient = people[clinic.pk] = _doctor_and_patient(clinic)
        with tenant_context(clinic):
            own = build(Medicine, name="Own tonic", dosage_form="syrup")
        body = _prescription_body(patient, [shared, own])
        response = api.post("/api/v1/prescriptions", body, format="json", **h(doctor_user, clinic))
        assert response.status_code == 201, response.json()
        items = response.json()["items"]
        # One `medicine` id either way, shared or the clinic's own.
        assert [i["medicine_id"] for i in items] == [str(shared.pk), str(own.pk)]
        assert items[0]["medicine"]["name"] == "Paracetamol"
        with tenant_context(clinic):
            stored = PrescriptionItem.objects.filter(prescription_id=response.json()["id"])
            assert {(i.medicine_id, i.shared_medicine_id) for i in stored} == {
                (None, shared.pk),
                (own.pk, None),
            }
        short_key = api.post(
            "/api/v1/short-keys",
            {"code": "FEVER", "name": "Fever", "items": [item(shared), item(own)]},
            format="json",
            **h(doctor_user, clinic),
        )
        assert short_key.status_code == 201, short_key.json()
        assert [i["medicine_id"] for i in short_key.json()["items"]] == [
            str(shared.pk),
            str(own.pk),
        ]
        # A prescription pre-filled from that key names the same two medicines.
        from_key = api.post(
            "/api/v1/prescriptions",
            {"patient_id": str(patient.pk), "diagnosis": "Fever", "short_key_code": "fever"},
            format="json",
            **h(doctor_user, clinic),
        )
        assert from_key.status_code == 201, from_key.json()
        assert [i["medicine_id"] for i in from_key.json()["items"]] == [
            str(shared.pk),
            str(own.pk),
        ]
    # Clinic A naming clinic B's own medicine: refused like an unknown one, nothing written.
    doctor_user, patient = people[a.pk]
    refused = api.post(
        "/api/v1/prescriptions",
        _prescription_body(patient, [theirs]),
        format="json",
        **h(doctor_user, a),
    )
    assert refused.status_code == 400 and "items[0].medicine_id" in refused.json()["errors"]
    refused_key = api.post(
        "/api/v1/short-keys",
        {"code": "OTHER", "name": "Other", "items": [item(theirs)]},
        format="json",
        **h(doctor_user, a),
    )
    assert refused_key.status_code == 400
    assert "items[0].medicine_id" in refused_key.json()["errors"]
