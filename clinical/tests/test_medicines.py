"""Medicines: the shared catalogue (read-only for clinics), each clinic's own, and the
load_medicines command with the shipped starter catalogue."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from accounts.testing import create_clinic
from clinical.models import Medicine, SharedMedicine
from clinical.services.medicines import STARTER_CATALOGUE, medicine_catalogue_load
from clinical.tests.conftest import h
from tenants.context import tenant_context
from tenants.models import PlatformAuditEvent
from tenants.platform import platform_access
from tenants.testing import build

URL = "/api/v1/medicines"


def _global_count() -> int:
    with platform_access(reason="test: count the shared catalogue"):
        return SharedMedicine.objects.count()


def _write_csv(tmp_path, rows, name="catalogue.csv"):
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_starter_catalogue_loads_idempotently_with_progress(live_db):
    out = io.StringIO()
    call_command("load_medicines", str(STARTER_CATALOGUE), stdout=out)
    text = out.getvalue()
    total = _global_count()
    assert total >= 100
    assert f"{total}/{total} rows (100%)" in text
    assert f"{total} created, 0 updated, 0 unchanged" in text
    again = io.StringIO()
    call_command("load_medicines", str(STARTER_CATALOGUE), stdout=again)
    assert f"0 created, 0 updated, {total} unchanged" in again.getvalue()
    assert _global_count() == total
    with platform_access(reason="test: inspect"):
        paracetamol = SharedMedicine.objects.get(
            name="Paracetamol", dosage_form="tablet", strength="500 mg"
        )
        forms = set(SharedMedicine.objects.values_list("dosage_form", flat=True))
        # The shared catalogue lives in its reference table only.
        assert not Medicine.objects.exists()
        assert PlatformAuditEvent.objects.filter(action="medicine.catalogue_loaded").count() == 2
    assert paracetamol.atc_code == "N02BE01" and paracetamol.prescription_only is False
    assert {"tablet", "capsule", "syrup", "suspension", "cream", "drops", "inhaler"} <= forms


def test_a_changed_row_is_updated_in_place(live_db, tmp_path):
    row = {"name": "Zincovit", "dosage_form": "tablet", "strength": "1", "category": "Old"}
    call_command("load_medicines", str(_write_csv(tmp_path, [row])), stdout=io.StringIO())
    row["category"] = "Multivitamin"
    out = io.StringIO()
    call_command("load_medicines", str(_write_csv(tmp_path, [row], "b.csv")), stdout=out)
    assert "0 created, 1 updated, 0 unchanged" in out.getvalue()
    with platform_access(reason="test"):
        assert SharedMedicine.objects.get(name="Zincovit").category == "Multivitamin"


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ({"name": "", "dosage_form": "tablet"}, "name"),
        ({"name": "X", "dosage_form": "potion"}, "dosage_form"),
        ({"name": "X", "dosage_form": "tablet", "price": "-5"}, "price"),
        ({"name": "X", "dosage_form": "tablet", "price": "abc"}, "price"),
        ({"name": "X", "dosage_form": "tablet", "atc_code": "12345"}, "atc_code"),
        ({"name": "X", "dosage_form": "tablet", "prescription_only": "maybe"}, "prescription_only"),
    ],
)
def test_an_invalid_file_is_refused_whole_with_line_numbers(live_db, tmp_path, row, problem):
    good = {
        "name": "Good",
        "dosage_form": "tablet",
        "price": "",
        "atc_code": "",
        "prescription_only": "",
    }
    rows = [good, {**good, **row}]
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 invalid row"):
        call_command("load_medicines", str(_write_csv(tmp_path, rows)), stderr=err)
    assert f"line 3: {problem}" in err.getvalue()
    assert _global_count() == 0


def test_missing_file_or_columns_is_a_readable_error(live_db, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("load_medicines", str(tmp_path / "nope.csv"))
    path = tmp_path / "bad.csv"
    path.write_text("title,form\nX,tablet\n")
    with pytest.raises(CommandError, match="invalid row"):
        call_command("load_medicines", str(path), stderr=io.StringIO())


def test_clinics_read_the_shared_catalogue_and_only_their_own(live_db, api):
    call_command("load_medicines", str(STARTER_CATALOGUE), stdout=io.StringIO())
    a, b = create_clinic(), create_clinic()
    with tenant_context(a):
        own = build(Medicine, name="Asha Special Mouthwash", dosage_form="mouthwash")
    with tenant_context(b):
        build(Medicine, name="B Private Syrup", dosage_form="syrup")
    headers = h(a.owner, a)
    listed = api.get(URL, {"search": "special", "page_size": 100}, **headers).json()
    assert [m["id"] for m in listed["results"]] == [str(own.pk)]
    assert listed["results"][0]["scope"] == "clinic"
    assert api.get(URL, {"search": "private"}, **headers).json()["count"] == 0
    shared = api.get(URL, {"scope": "global", "search": "paracetamol"}, **headers).json()
    assert shared["count"] >= 3 and {m["scope"] for m in shared["results"]} == {"global"}
    global_id = shared["results"][0]["id"]
    refused = api.patch(f"{URL}/{global_id}", {"price": "1.00"}, format="json", **headers)
    assert refused.status_code == 403 and refused.json()["code"] == "catalogue_read_only"


def test_a_clinic_adds_its_own_medicine_with_a_decimal_price(api, clinic_a, alice):
    response = api.post(
        URL,
        {
            "name": "Amoxicillin",
            "generic_name": "Amoxicillin",
            "manufacturer": "Cipla",
            "dosage_form": "capsule",
            "strength": "500 mg",
            "category": "Antibiotic",
            "price": "84.50",
            "prescription_only": True,
            "atc_code": "j01ca04",
        },
        format="json",
        **h(alice, clinic_a),
    )
    assert response.status_code == 201, response.json()
    assert response.json()["price"] == "84.50" and response.json()["atc_code"] == "J01CA04"
    with tenant_context(clinic_a):
        assert str(Medicine.objects.get().price) == "84.50"
    duplicate = api.post(
        URL,
        {"name": "Amoxicillin", "dosage_form": "capsule", "strength": "500 mg"},
        format="json",
        **h(alice, clinic_a),
    )
    assert duplicate.status_code == 400 and duplicate.json()["code"] == "duplicate_medicine"


@pytest.mark.parametrize("price", ["-1", "NaN", "Infinity", "1.234", "abc", "99999999999"])
def test_bad_prices_are_refused(api, clinic_a, alice, price):
    response = api.post(
        URL,
        {"name": "X", "dosage_form": "tablet", "price": price},
        format="json",
        **h(alice, clinic_a),
    )
    assert response.status_code == 400 and "price" in response.json()["errors"]


def test_clinic_cannot_write_the_shared_catalogue_even_through_the_orm(live_db):
    from django.db import DatabaseError, connection, transaction

    call_command("load_medicines", str(STARTER_CATALOGUE), stdout=io.StringIO())
    clinic = create_clinic()
    with tenant_context(clinic):
        shared = SharedMedicine.objects.get(name="Paracetamol", strength="500 mg")
        # The runtime role adds nothing to the reference table (no policy lets it)...
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic():
                SharedMedicine(name="Sneaky", dosage_form="tablet").save(force_insert=True)
        # ... and changes or deletes none of its rows: they are not there for it to write.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE clinical_sharedmedicine SET name = 'Changed' WHERE id = %s", [shared.pk]
            )
            assert cursor.rowcount == 0
            cursor.execute("DELETE FROM clinical_sharedmedicine WHERE id = %s", [shared.pk])
            assert cursor.rowcount == 0
        # A clinic's table holds no shared rows any more: a row needs its clinic.
        with pytest.raises(DatabaseError):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO clinical_medicine (id, tenant_id, name, generic_name, "
                    "composition, manufacturer, dosage_form, strength, category, "
                    "prescription_only, atc_code, notes, is_active, created_at, updated_at) "
                    "VALUES (gen_random_uuid(), NULL, 'Sneaky', '', '', '', 'tablet', '', '', "
                    "true, '', '', true, now(), now())"
                )
    with platform_access(reason="test: the row is unchanged"):
        assert SharedMedicine.objects.get(pk=shared.pk).name == "Paracetamol"


def test_a_shared_medicine_is_visible_to_every_clinic_by_id(live_db, api):
    call_command("load_medicines", str(STARTER_CATALOGUE), stdout=io.StringIO())
    a, b = create_clinic(), create_clinic()
    with platform_access(reason="test: pick a shared medicine"):
        shared = SharedMedicine.objects.get(name="Paracetamol", strength="500 mg")
    with tenant_context(a):
        own = build(Medicine, name="Asha Special Mouthwash", dosage_form="mouthwash")
    for clinic in (a, b):
        answer = api.get(f"{URL}/{shared.pk}", **h(clinic.owner, clinic))
        assert answer.status_code == 200 and answer.json()["scope"] == "global"
    assert api.get(f"{URL}/{own.pk}", **h(a.owner, a)).json()["scope"] == "clinic"
    # Another clinic's own medicine is not found, like a missing one.
    assert api.get(f"{URL}/{own.pk}", **h(b.owner, b)).status_code == 404
    assert (
        api.patch(f"{URL}/{own.pk}", {"price": "1.00"}, format="json", **h(b.owner, b)).status_code
        == 404
    )
    changed = api.patch(f"{URL}/{own.pk}", {"price": "1.00"}, format="json", **h(a.owner, a))
    assert changed.status_code == 200 and changed.json()["price"] == "1.00"


@pytest.mark.parametrize("count", [1, 15])
def test_medicine_list_uses_constant_queries(live_db, api, count, django_assert_max_num_queries):
    clinic = create_clinic()
    with tenant_context(clinic):
        for _ in range(count):
            build(Medicine)
    medicine_catalogue_load(
        rows=[
            (n, {"name": f"Shared {n}", "dosage_form": "tablet", "strength": ""})
            for n in range(count)
        ],
        reason="test: shared medicines",
    )
    headers = h(clinic.owner, clinic)
    with django_assert_max_num_queries(6):
        response = api.get(URL, {"page_size": 100}, **headers)
    # The shared catalogue and the clinic's own, in one list.
    assert response.json()["count"] == 2 * count
    assert {m["scope"] for m in response.json()["results"]} == {"global", "clinic"}
