"""Rows that reference the medicine catalogue are protected by row-level security itself.

The generated isolation suite copies a clinic's row and inserts it for another clinic. For
rows pointing at a clinic's own medicine, the catalogue trigger refuses them before RLS is
even consulted (see tenants/tests/isolation.py). Here the rows point at a *shared* medicine,
which the trigger accepts, so only RLS stands between the clinics, and it must refuse.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.testing import create_clinic
from clinical.models import Medicine, PrescriptionItem, ShortKeyItem
from clinical.services import medicine_catalogue_load
from tenants.context import tenant_context
from tenants.platform import platform_access
from tenants.testing import build


@pytest.fixture
def shared_medicine(live_db):
    rows = [(2, {"name": "Paracetamol", "dosage_form": "tablet", "strength": "500 mg"})]
    medicine_catalogue_load(rows=rows, reason="test: one shared medicine")
    with platform_access(reason="test: fetch it"):
        return Medicine.objects.get(tenant__isnull=True)


@pytest.mark.parametrize("model", [PrescriptionItem, ShortKeyItem], ids=lambda m: m.__name__)
def test_rls_refuses_another_clinics_row_that_points_at_a_shared_medicine(shared_medicine, model):
    a, b = create_clinic(), create_clinic()
    with tenant_context(a):
        row_a = build(model, medicine=shared_medicine)
    with tenant_context(b):
        row_b = build(model, medicine=shared_medicine)
        copy = model._base_manager.get(pk=row_b.pk)
    copy.pk = uuid.uuid4()
    table = connection.ops.quote_name(model._meta.db_table)
    with tenant_context(a), pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic():
            copy.save_base(force_insert=True)
    with tenant_context(a), pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET tenant_id = %s WHERE id = %s", [b.pk, row_a.pk])


def test_a_clinic_cannot_point_at_another_clinics_own_medicine(live_db):
    a, b = create_clinic(), create_clinic()
    with tenant_context(b):
        theirs = build(Medicine)
    with tenant_context(a), pytest.raises(DatabaseError, match="shared entry or one of the same"):
        with transaction.atomic():
            build(PrescriptionItem, medicine=theirs)
