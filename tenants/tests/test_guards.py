"""Each guard matters: with one switched off, the isolation checks and check_rls notice.

These tests change the schema through the owner role and commit, so they use `live_db`
(committed data; no transaction of the runtime role holds a lock on the tables meanwhile),
and always put the guard back.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.db.models import Q

from accounts.testing import create_clinic
from clinical.models import DoctorOffice, Patient
from tenants import keys, rls
from tenants.checks import inspect_database
from tenants.scoping import TenantManager
from tenants.tests import isolation


@contextmanager
def owner_sql(*statements, restore=()):
    owner = connections["owner"]
    try:
        with owner.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        yield
    finally:
        with owner.cursor() as cursor:
            for statement in restore:
                cursor.execute(statement)
        owner.close()


def assert_drift_reported(statement: str, *, restore, expected: str) -> None:
    """With `statement` run as the owner (and `restore` run after), check_rls and the start-up
    check both report a problem containing `expected`; before and after, neither reports any."""
    from tenants.checks import runtime_role_problems

    assert inspect_database() == []
    with owner_sql(statement, restore=restore):
        problems = inspect_database()
        assert any(expected in problem for problem in problems), problems
        with pytest.raises(CommandError):
            call_command("check_rls")
        assert any(expected in problem for problem in runtime_role_problems()), expected
    assert inspect_database() == []


def rls_disabled(model):
    table = model._meta.db_table
    return owner_sql(
        f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
        restore=rls.enable_sql(table, model.rls_kind),
    )


@pytest.fixture
def patients(live_db):
    return isolation.make_pair(Patient, create_clinic(), create_clinic())


def test_isolation_checks_pass_with_every_guard_in_place(patients):
    for check in isolation.ISOLATION_CHECKS:
        check(patients)


# A check "fails" with an AssertionError, or with pytest's Failed when an expected database
# error does not happen.
CHECK_FAILED = (AssertionError, pytest.fail.Exception)


@pytest.mark.parametrize(
    "check",
    [
        isolation.check_raw_sql_reads_own_clinic_only,
        isolation.check_base_manager_is_backstopped,
        isolation.check_update_and_delete_of_other_clinic_affect_nothing,
        isolation.check_insert_for_other_clinic_is_rejected,
        isolation.check_moving_a_row_to_other_clinic_is_rejected,
        isolation.check_without_context_nothing_is_visible_or_writable,
    ],
    ids=lambda c: c.__name__[6:],
)
def test_disabling_rls_makes_the_database_checks_fail(patients, check):
    with rls_disabled(Patient), pytest.raises(CHECK_FAILED):
        check(patients)


def test_removing_the_manager_filter_makes_the_orm_checks_fail(patients, monkeypatch):
    monkeypatch.setattr(TenantManager, "scope_filter", lambda self, tenant_id: Q())
    with pytest.raises(AssertionError):
        isolation.check_manager_filters_by_clinic(patients)
    # With the filter gone, only row-level security keeps the ORM read correct...
    isolation.check_orm_reads_own_clinic_only(patients)
    # ...and with both gone the ORM read leaks.
    with rls_disabled(Patient), pytest.raises(AssertionError):
        isolation.check_orm_reads_own_clinic_only(patients)


def test_dropping_the_composite_foreign_key_lets_a_cross_clinic_reference_through(live_db):
    field = DoctorOffice._meta.get_field("office")
    table = DoctorOffice._meta.db_table
    fk_name, _index = keys.composite_fk_names(table, field.column)
    a, b = create_clinic(), create_clinic()
    isolation.check_cross_clinic_reference_is_rejected(DoctorOffice, field, a, b)
    with owner_sql(
        f'ALTER TABLE "{table}" DROP CONSTRAINT "{fk_name}"',
        restore=keys.add_composite_fk_sql(table, field.column, "clinical_office"),
    ):
        with pytest.raises(CHECK_FAILED):
            isolation.check_cross_clinic_reference_is_rejected(DoctorOffice, field, a, b)
        assert any("composite foreign key" in p for p in inspect_database())


@pytest.mark.parametrize(
    ("statement", "restore", "expected"),
    [
        (
            'ALTER TABLE "clinical_patient" DISABLE ROW LEVEL SECURITY',
            'ALTER TABLE "clinical_patient" ENABLE ROW LEVEL SECURITY',
            "clinical_patient: row-level security is not enabled",
        ),
        (
            'ALTER TABLE "clinical_patient" NO FORCE ROW LEVEL SECURITY',
            'ALTER TABLE "clinical_patient" FORCE ROW LEVEL SECURITY',
            "clinical_patient: row-level security is not forced",
        ),
        (
            'DROP POLICY "clinic_isolation" ON "clinical_patient"',
            rls.policies_for("tenant")[1].create_sql("clinical_patient"),
            "clinical_patient: policy clinic_isolation is missing",
        ),
        (
            'CREATE POLICY "support_bypass" ON "clinical_patient" FOR SELECT USING (true)',
            'DROP POLICY "support_bypass" ON "clinical_patient"',
            "clinical_patient: unexpected policy support_bypass",
        ),
        (
            'ALTER POLICY "clinic_access" ON "clinical_patient" USING '
            "(tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid) "
            "OR current_setting('app.tenant_id', true) IS NULL)",
            'DROP POLICY "clinic_access" ON "clinical_patient"; '
            + rls.policies_for("tenant")[0].create_sql("clinical_patient"),
            "clinical_patient: policy clinic_access has drifted",
        ),
        (
            'CREATE UNIQUE INDEX "patient_mobile_global" ON "clinical_patient" (mobile)',
            'DROP INDEX "patient_mobile_global"',
            "unique index patient_mobile_global does not include tenant_id",
        ),
        (
            "CREATE TABLE stray_notes (id uuid PRIMARY KEY, tenant_id uuid)",
            "DROP TABLE stray_notes",
            "stray_notes: has tenant_id but no model declares its row-level security",
        ),
        (
            "CREATE VIEW patient_names AS SELECT first_name FROM clinical_patient",
            "DROP VIEW patient_names",
            "patient_names: view without security_invoker=true",
        ),
    ],
    ids=[
        "disabled",
        "not-forced",
        "policy-dropped",
        "policy-widened",
        "policy-drifted",
        "global-unique",
        "unprotected-table",
        "definer-view",
    ],
)
def test_check_rls_reports_drift(live_db, statement, restore, expected):
    assert inspect_database() == []
    with owner_sql(statement, restore=[restore]):
        problems = inspect_database()
        assert any(expected in problem for problem in problems), problems
        with pytest.raises(CommandError):
            call_command("check_rls")
    assert inspect_database() == []
