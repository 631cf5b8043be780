"""Clinics: codes, plans, and the clinic table's own row-level security."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection

from accounts.testing import add_member, create_clinic
from tenants import plans
from tenants.context import tenant_context, user_context
from tenants.models import Tenant
from tenants.platform import platform_access
from tenants.services import tenant_code_base, tenant_create


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Asha Dental Care", "asha-dental-care"),
        ("  Dr. Rao's Clinic & Hospital!! ", "dr-rao-s-clinic-hospital"),
        ("Clínica Niño Saúde", "clinica-nino-saude"),
        ("डॉ. शर्मा क्लिनिक", "clinic"),
        ("", "clinic"),
        ("x" * 80, "x" * 40),
    ],
)
def test_code_is_a_readable_slug_of_any_name(name, code):
    assert tenant_code_base(name) == code


def test_same_name_gets_distinct_codes_that_do_not_tell_the_name_was_taken(db):
    """Issue 12, item 7: the first clinic with a name gets a suffix too, so a new clinic's
    code does not reveal whether another clinic already has that name."""
    first = tenant_create(name="Smile Dental")
    second = tenant_create(name="Smile Dental")
    alone = tenant_create(name="Unique Smiles Of Hubli")
    for tenant, base in ((first, "smile-dental"), (second, "smile-dental")):
        assert re.fullmatch(rf"{base}-[0-9a-f]{{6}}", tenant.code), tenant.code
    assert re.fullmatch(r"unique-smiles-of-hubli-[0-9a-f]{6}", alone.code), alone.code
    assert first.code != second.code


def test_names_without_latin_letters_get_unique_codes(db):
    codes = {tenant_create(name="डॉ. शर्मा क्लिनिक").code for _ in range(3)}
    assert len(codes) == 3 and all(c.startswith("clinic-") for c in codes)


def test_concurrent_signups_with_one_name_get_distinct_codes(live_db):
    codes, errors = [], []
    barrier = threading.Barrier(6)

    def signup():
        try:
            barrier.wait()
            codes.append(tenant_create(name="Rush Hour Clinic").code)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=signup) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(codes)) == 6
    assert all(code.startswith("rush-hour-clinic-") for code in codes)


def test_trial_clinic_gets_trial_limits_and_end(db):
    tenant = tenant_create(name="New Clinic")
    assert tenant.plan == plans.TRIAL
    assert (tenant.max_doctors, tenant.max_patients) == (5, 1000)
    assert 29 <= (tenant.trial_ends_at - tenant.created_at).days <= 30


def test_enterprise_overrides_plan_limits(db):
    tenant = create_clinic(plan=plans.ENTERPRISE, max_doctors_override=250)
    assert (tenant.max_doctors, tenant.max_patients) == (250, None)


def test_plans_table_matches_the_design():
    rows = {p.code: (p.max_doctors, p.max_patients, p.price_display) for p in plans.PLANS.values()}
    assert rows == {
        "trial": (5, 1000, "Free"),
        "basic": (20, 10000, "₹2,999/month"),
        "premium": (100, None, "₹9,999/month"),
        "enterprise": (None, None, "Custom"),
    }


def test_clinic_sees_only_itself(clinic_a, clinic_b):
    with tenant_context(clinic_a):
        assert list(Tenant.objects.values_list("pk", flat=True)) == [clinic_a.pk]
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM tenants_tenant")
            assert [r[0] for r in cursor.fetchall()] == [clinic_a.pk]
            cursor.execute(
                "UPDATE tenants_tenant SET name = 'hijacked' WHERE id = %s", [clinic_b.pk]
            )
            assert cursor.rowcount == 0


def test_a_person_alone_sees_no_clinic_row(clinic_a, clinic_b, bob):
    # The clinics table shows a clinic's row only in that clinic's context (issue 17, part 3):
    # acting as a person with no clinic, not even their own clinics' rows are readable; the
    # list of their clinics reads each in its own context (accounts.selectors.memberships_of).
    third = create_clinic("Third Clinic")
    add_member(third, user=bob, role="doctor")
    with user_context(bob):
        visible = set(Tenant.visible.values_list("pk", flat=True))
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM tenants_tenant")
            raw = {row[0] for row in cursor.fetchall()}
    assert visible == raw == set()
    with tenant_context(clinic_a, user=bob):
        assert set(Tenant.visible.values_list("pk", flat=True)) == {clinic_a.pk}


def test_platform_sees_every_clinic(live_db):
    a, b = create_clinic(), create_clinic()
    with platform_access(reason="list clinics"):
        assert {a.pk, b.pk} <= set(Tenant.objects.values_list("pk", flat=True))
