"""Suspend, reactivate and extend a trial: the services behind the admin actions and commands."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.testing import create_clinic, create_user
from core.errors import ApplicationError
from tenants import plans
from tenants.context import tenant_context
from tenants.models import AuditEvent, Tenant
from tenants.services import tenant_reactivate, tenant_suspend, trial_extend


@pytest.fixture
def operator(db):
    return create_user("ops@platform.example", is_staff=True, is_superuser=True)


def events(tenant, action):
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(action=action))


def reload(tenant):
    with tenant_context(tenant):
        return Tenant.objects.get(pk=tenant.pk)


# --- tenant_suspend -------------------------------------------------------------------------


def test_suspending_makes_the_clinic_read_only_and_is_audited_with_the_reason(clinic_a, operator):
    tenant_suspend(tenant=clinic_a, actor=operator, reason="Invoice 2026-114 unpaid")
    tenant = reload(clinic_a)
    assert tenant.status == Tenant.Status.SUSPENDED and not tenant.is_writable
    [event] = events(clinic_a, "tenant.suspended")
    assert (event.actor_id, event.reason, event.details) == (
        operator.pk,
        "Invoice 2026-114 unpaid",
        {"from": "active"},
    )


def test_suspending_needs_a_reason(clinic_a, operator):
    with pytest.raises(ApplicationError) as excinfo:
        tenant_suspend(tenant=clinic_a, actor=operator, reason="   ")
    assert excinfo.value.code == "reason_required"
    assert reload(clinic_a).status == Tenant.Status.ACTIVE


def test_suspending_twice_is_refused(clinic_a, operator):
    tenant_suspend(tenant=clinic_a, actor=operator, reason="abuse report")
    with pytest.raises(ApplicationError) as excinfo:
        tenant_suspend(tenant=clinic_a, actor=operator, reason="again")
    assert excinfo.value.code == "already_suspended"
    assert len(events(clinic_a, "tenant.suspended")) == 1


def test_a_cancelled_clinic_cannot_be_suspended(db, operator):
    tenant = create_clinic(status=Tenant.Status.CANCELLED)
    with pytest.raises(ApplicationError) as excinfo:
        tenant_suspend(tenant=tenant, actor=operator, reason="x")
    assert excinfo.value.code == "tenant_cancelled"


def test_suspending_one_clinic_leaves_the_other_alone(clinic_a, clinic_b, operator):
    tenant_suspend(tenant=clinic_a, actor=operator, reason="abuse report")
    assert reload(clinic_b).status == Tenant.Status.ACTIVE
    assert events(clinic_b, "tenant.suspended") == []


# --- tenant_reactivate ----------------------------------------------------------------------


def test_reactivating_a_suspended_clinic_makes_it_writable_again(clinic_a, operator):
    tenant_suspend(tenant=clinic_a, actor=operator, reason="unpaid")
    tenant_reactivate(tenant=clinic_a, actor=operator, reason="paid")
    assert reload(clinic_a).is_writable
    [event] = events(clinic_a, "tenant.reactivated")
    assert (event.reason, event.details) == ("paid", {"to": "active"})


def test_reactivating_a_trial_that_ended_meanwhile_leaves_it_expired(db, operator):
    tenant = create_clinic(trial_ends_at=timezone.now() + timedelta(days=3))
    tenant_suspend(tenant=tenant, actor=operator, reason="unpaid")
    with tenant_context(tenant):
        Tenant.objects.filter(pk=tenant.pk).update(trial_ends_at=timezone.now())
    tenant_reactivate(tenant=tenant, actor=operator)
    assert reload(tenant).status == Tenant.Status.EXPIRED


def test_reactivating_a_clinic_that_is_not_suspended_is_refused(clinic_a, operator):
    with pytest.raises(ApplicationError) as excinfo:
        tenant_reactivate(tenant=clinic_a, actor=operator)
    assert excinfo.value.code == "not_suspended"
    assert events(clinic_a, "tenant.reactivated") == []


# --- trial_extend ---------------------------------------------------------------------------


def test_extending_a_running_trial_adds_days_to_its_end(clinic_a, operator):
    end = reload(clinic_a).trial_ends_at
    trial_extend(tenant=clinic_a, actor=operator, days=14, reason="onboarding call")
    assert reload(clinic_a).trial_ends_at == end + timedelta(days=14)
    [event] = events(clinic_a, "tenant.trial_extended")
    assert event.details["days"] == 14 and event.reason == "onboarding call"


def test_extending_an_expired_trial_counts_from_today_and_reopens_it(db, operator):
    tenant = create_clinic(
        trial_ends_at=timezone.now() - timedelta(days=40), status=Tenant.Status.EXPIRED
    )
    before = timezone.now()
    trial_extend(tenant=tenant, actor=operator, days=7)
    tenant = reload(tenant)
    assert tenant.status == Tenant.Status.ACTIVE and tenant.is_writable
    assert before + timedelta(days=7) <= tenant.trial_ends_at <= timezone.now() + timedelta(days=7)


def test_extending_keeps_a_suspended_trial_suspended(clinic_a, operator):
    tenant_suspend(tenant=clinic_a, actor=operator, reason="abuse report")
    trial_extend(tenant=clinic_a, actor=operator, days=7)
    assert reload(clinic_a).status == Tenant.Status.SUSPENDED


@pytest.mark.parametrize("days", [0, -3, 366, "7", 2.5, True, None])
def test_extending_by_an_invalid_number_of_days_is_refused(clinic_a, operator, days):
    end = reload(clinic_a).trial_ends_at
    with pytest.raises(ApplicationError) as excinfo:
        trial_extend(tenant=clinic_a, actor=operator, days=days)
    assert "days" in excinfo.value.field_errors
    assert reload(clinic_a).trial_ends_at == end


def test_extending_a_paid_plan_is_refused(db, operator):
    tenant = create_clinic(plan=plans.BASIC)
    with pytest.raises(ApplicationError) as excinfo:
        trial_extend(tenant=tenant, actor=operator, days=7)
    assert excinfo.value.code == "not_trial"
