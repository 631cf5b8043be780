"""Query plans of the clinical lists under row-level security (design: "What is measured").

Each list and lookup, run as the runtime role inside a clinic, must read through an index
condition on the clinic column, never a sequential scan of a clinic table, and a paginated
list must not sort the whole clinic. `enable_seqscan = off` makes PostgreSQL show the best
plan it has without a sequential scan: if one still appears, no index can serve the query.
"""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from accounts.testing import create_clinic
from clinical.models import Appointment, Patient, Prescription
from clinical.selectors import (
    appointments_with_details,
    patient_search,
    prescriptions_with_details,
)
from clinical.services.appointments import _overlapping
from clinical.testing import bulk_clinical_records
from tenants.checks import protected_models
from tenants.context import tenant_context
from tenants.testing import build

CLINIC_TABLES = {m._meta.db_table for m in protected_models()}


def _nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def plan_of(queryset) -> list[dict]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        [root] = json.loads(queryset.explain(format="json"))
    return list(_nodes(root["Plan"]))


def assert_good_plan(nodes, *, table: str, paginated: bool):
    seq = [n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"]
    assert not set(seq) & CLINIC_TABLES, f"sequential scan of {seq}"
    conditions = [
        n.get("Index Cond", "") + n.get("Recheck Cond", "")
        for n in nodes
        if n.get("Relation Name") == table
        or n.get("Index Name", "").startswith(table.split("_", 1)[1])
    ]
    assert any("tenant_id" in c for c in conditions), f"no index condition on tenant_id: {nodes}"
    if paginated:
        sorts = [n for n in nodes if n["Node Type"] in ("Sort", "Incremental Sort")]
        assert not sorts, f"a page sorts the whole clinic: {sorts}"


ROWS_PER_CLINIC = 1500


def _fill(clinic):
    """Realistic volume for one clinic, written in bulk."""
    from clinical.models import Doctor, Medicine

    with tenant_context(clinic):
        doctor = build(Doctor)
        build(Medicine)
        bulk_clinical_records(doctor=doctor, patients=ROWS_PER_CLINIC)
    return doctor


@pytest.fixture
def data(live_db):
    clinic, other = create_clinic(), create_clinic()
    doctor = _fill(clinic)
    _fill(other)
    # Statistics as production would have them (the owner may ANALYZE; RLS does not apply).
    with connections["owner"].cursor() as cursor:
        for table in ("clinical_patient", "clinical_appointment", "clinical_prescription"):
            cursor.execute(f'ANALYZE "{table}"')
    connections["owner"].close()
    return clinic, doctor


def test_patient_page(data):
    clinic, _doctor = data
    with tenant_context(clinic):
        nodes = plan_of(Patient.objects.active()[:20])
    assert_good_plan(nodes, table="clinical_patient", paginated=True)


def _index_conditions(nodes) -> str:
    return " ".join(n.get("Index Cond", "") + n.get("Recheck Cond", "") for n in nodes)


def test_patient_mobile_search_keeps_the_index(data):
    clinic, _doctor = data
    with tenant_context(clinic):
        # "98000001…": 100 of the clinic's 1,500 patients.
        matches = plan_of(patient_search(Patient.objects.active(), "98000001").order_by())
        like = plan_of(Patient.objects.active().filter(mobile__startswith="98000001").order_by())
    assert_good_plan(matches, table="clinical_patient", paginated=False)
    # The range is an index condition; LIKE 'prefix%' (not leakproof) could only filter.
    assert "mobile" in _index_conditions(matches)
    assert "mobile" not in _index_conditions(like)


def test_appointment_page(data):
    clinic, _doctor = data
    with tenant_context(clinic):
        nodes = plan_of(appointments_with_details(Appointment.objects.all())[:20])
    assert_good_plan(nodes, table="clinical_appointment", paginated=True)


def test_booking_overlap_check(data):
    clinic, doctor = data
    day = timezone.localdate() + datetime.timedelta(days=3)
    with tenant_context(clinic):
        nodes = plan_of(_overlapping(doctor, day, datetime.time(9), datetime.time(9, 15)))
    assert_good_plan(nodes, table="clinical_appointment", paginated=False)


def test_prescription_page(data):
    clinic, _doctor = data
    with tenant_context(clinic):
        nodes = plan_of(prescriptions_with_details(Prescription.objects.all())[:20])
    assert_good_plan(nodes, table="clinical_prescription", paginated=True)
