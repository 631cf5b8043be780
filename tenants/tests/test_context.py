"""The tenant context reaches PostgreSQL per transaction and never bleeds (invariant 6)."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.testing import create_clinic
from clinical.models import Patient
from tenants.context import (
    TenantContextMissing,
    TenantMismatch,
    activate,
    current_tenant_id,
    deactivate,
    tenant_context,
)
from tenants.testing import build


def visible_patient_ids() -> set:
    """What raw SQL sees, with no ORM filter: row-level security alone decides."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM clinical_patient")
        return {row[0] for row in cursor.fetchall()}


def session_setting() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.tenant_id', true)")
        return cursor.fetchone()[0]


@pytest.fixture
def two_clinics(live_db):
    a, b = create_clinic(), create_clinic()
    with tenant_context(a):
        pa = build(Patient)
    with tenant_context(b):
        pb = build(Patient)
    return a, b, pa, pb


def test_context_is_transaction_local_on_a_persistent_connection(two_clinics):
    a, b, pa, pb = two_clinics
    raw = connection.connection
    with tenant_context(a):
        assert visible_patient_ids() == {pa.pk}
    with tenant_context(b):
        assert visible_patient_ids() == {pb.pk}
    assert connection.connection is raw, "the test must reuse one database session"
    # After transactions that set it, the session reads '' (not NULL): still no rows.
    assert session_setting() in ("", None)
    assert visible_patient_ids() == set()


def test_no_bleed_after_an_exception(two_clinics):
    a, b, pa, pb = two_clinics
    with pytest.raises(DatabaseError), tenant_context(a), connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")
    assert visible_patient_ids() == set()
    with tenant_context(b):
        assert visible_patient_ids() == {pb.pk}


def test_no_bleed_after_a_rollback(two_clinics):
    a, b, pa, pb = two_clinics
    with tenant_context(a):
        build(Patient)
        transaction.set_rollback(True)
    assert visible_patient_ids() == set()
    with tenant_context(a):
        assert visible_patient_ids() == {pa.pk}


def test_context_is_resent_to_each_new_transaction(two_clinics):
    """A request-long context (middleware, DRF) spans several transactions; each gets it."""
    a, b, pa, pb = two_clinics
    token = activate(a)
    try:
        with transaction.atomic():
            created = build(Patient)  # committed here
        with transaction.atomic():
            assert visible_patient_ids() == {pa.pk, created.pk}
        # In autocommit each statement is its own transaction and still carries it.
        assert visible_patient_ids() == {pa.pk, created.pk}
    finally:
        deactivate(token)
    assert visible_patient_ids() == set()


def test_inner_context_does_not_outlive_its_block(two_clinics):
    a, b, pa, pb = two_clinics
    with tenant_context(a):
        with tenant_context(b):
            assert visible_patient_ids() == {pb.pk}
        assert visible_patient_ids() == {pa.pk}
        with pytest.raises(ZeroDivisionError), tenant_context(b):
            assert visible_patient_ids() == {pb.pk}
            1 / 0  # noqa: B018
        assert visible_patient_ids() == {pa.pk}
    assert visible_patient_ids() == set()


def test_context_does_not_cross_threads(two_clinics):
    a, b, pa, pb = two_clinics
    seen = {}

    def other_thread():
        try:
            seen["tenant"] = current_tenant_id()
            seen["raw"] = visible_patient_ids()
            try:
                list(Patient.objects.all())
            except TenantContextMissing:
                seen["manager"] = "raised"
        finally:
            connection.close()

    with tenant_context(a):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert visible_patient_ids() == {pa.pk}
    assert seen == {"tenant": None, "raw": set(), "manager": "raised"}


def test_context_travels_with_the_first_query_not_as_an_extra_round_trip(clinic_a):
    assert visible_patient_ids() == set()  # the transaction now holds no clinic
    with CaptureQueriesContext(connection) as queries, tenant_context(clinic_a):
        list(Patient.objects.all())
        list(Patient.objects.all())
    statements = [q["sql"] for q in queries]
    # Inside the test's transaction the block opens a savepoint: SAVEPOINT, two SELECTs,
    # RELEASE. The context rides on the first of them; no statement is only the SET LOCAL.
    assert len(statements) == 4, statements
    carrying = [s for s in statements if "SET LOCAL app.tenant_id" in s]
    assert carrying == statements[:1], "sent once, with the first statement"
    assert "SAVEPOINT" in statements[0]


def test_manager_without_context_raises_when_the_query_runs(clinic_a):
    with tenant_context(clinic_a):
        build(Patient)
    unscoped = Patient.objects.filter(first_name__startswith="A")  # building is harmless
    for run in (
        list,
        len,
        lambda qs: qs.count(),
        lambda qs: qs.exists(),
        lambda qs: qs.update(first_name="x"),
        lambda qs: qs.delete(),
        lambda qs: list(Patient.objects.filter(pk__in=qs.values("pk"))),
    ):
        with pytest.raises(TenantContextMissing):
            run(Patient.objects.all())
    # Built without a clinic, it stays refused even when run inside one.
    with tenant_context(clinic_a), pytest.raises(TenantContextMissing):
        list(unscoped)


def test_saving_a_row_of_another_clinic_is_refused(clinic_a, clinic_b):
    with tenant_context(clinic_b):
        foreign = build(Patient)
    with tenant_context(clinic_a), pytest.raises(TenantMismatch):
        foreign.save()


def test_new_rows_take_the_clinic_from_the_context(clinic_a):
    with tenant_context(clinic_a):
        patient = Patient.objects.create(first_name="Meera", mobile="9876543210")
    assert patient.tenant_id == clinic_a.pk


def test_tenant_context_rejects_garbage():
    with pytest.raises(ValueError):
        with tenant_context("1; DROP TABLE clinical_patient"):
            pass
