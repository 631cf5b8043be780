"""Medicines: the shared catalogue (read-only for clinics), each clinic's own, and the
load_medicines command with the shipped starter catalogue."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from accounts.testing import create_clinic
from clinical.models import Medicine
from clinical.services.medicines import STARTER_CATALOGUE
from clinical.tests.conftest import h
from tenants.context import tenant_context
from tenants.models import PlatformAuditEvent
from tenants.platform import platform_access
from tenants.testing import build

URL = "/api/v1/medicines"


def _global_count() -> int:
    with platform_access(reason="test: count the shared catalogue"):
        return Medicine.objects.filter(tenant__isnull=True).count()


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
        paracetamol = Medicine.objects.get(
            tenant__isnull=True, name="Paracetamol", dosage_form="tablet", strength="500 mg"
        )
        forms = set(Medicine.objects.values_list("dosage_form", flat=True))
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
        assert Medicine.objects.get(name="Zincovit").category == "Multivitamin"


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


def test_clinic_cannot_write_a_shared_row_even_through_the_orm(clinic_a):
    from django.db import DatabaseError, transaction

    with tenant_context(clinic_a), pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic():
            Medicine(tenant=None, name="Sneaky", dosage_form="tablet").save_base(force_insert=True)


@pytest.mark.parametrize("count", [1, 15])
def test_medicine_list_uses_constant_queries(
    api, clinic_a, alice, count, django_assert_max_num_queries
):
    with tenant_context(clinic_a):
        for _ in range(count):
            build(Medicine)
    headers = h(alice, clinic_a)
    with django_assert_max_num_queries(6):
        response = api.get(URL, {"page_size": 100}, **headers)
    assert response.json()["count"] == count
