"""Operators' decisions: a plan set now (`plan_set`) and an Enterprise agreement's terms
(`enterprise_terms_set`). Admin actions and `manage.py set_plan` / `set_enterprise` call them."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinics.billing.services.invoices import (
    invalid_details_error,
    invoice_mark_void,
    open_upgrade_invoices,
)
from clinics.billing.services.plan_changes import (
    below_usage,
    below_usage_error,
    plan_change_record,
    requested_plan,
)
from clinics.billing.services.terms import SELF_SERVICE_PLANS, today
from core.errors import ApplicationError
from tenants import plans
from tenants.audit import audit_record
from tenants.billing import gst
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.services import tenant_lock


@transaction.atomic
def plan_set(*, tenant: Tenant, actor, plan: str, reason: str = "") -> Tenant:
    """An operator's decision (admin action, `manage.py set_plan`): the plan changes now.

    Refused below usage, like any change. A clinic moved to a priced plan with nothing paid
    through the platform starts its billing today: the next `billing_run` opens its first
    invoice, with the usual due date and grace period.
    """

    new = requested_plan(plan)
    with tenant_context(tenant):
        tenant = tenant_lock(tenant)
        if tenant.plan == new.code:
            raise ApplicationError(
                f"The clinic is already on the {new.name} plan.", code="same_plan"
            )
        if new.code == plans.TRIAL and not (
            tenant.trial_ends_at and tenant.trial_ends_at > timezone.now()
        ):
            raise ApplicationError(
                "The free trial has ended; choose a paid plan.", code="trial_unavailable"
            )
        # Enterprise has no limits of its own: its overrides are set with enterprise_terms_set.
        refusal = below_usage_error(tenant, new)
        if refusal:
            raise refusal
        old = tenant.plan
        tenant.plan = new.code
        tenant.pending_plan = ""
        if new.code != plans.ENTERPRISE:
            tenant.max_doctors_override = tenant.max_patients_override = None
            tenant.custom_monthly_price_inr = None
        if tenant.status in (Tenant.Status.EXPIRED, Tenant.Status.PAST_DUE) and (
            new.code != plans.TRIAL
        ):
            tenant.status = Tenant.Status.ACTIVE
        if new.code in SELF_SERVICE_PLANS and tenant.paid_until is None:
            tenant.paid_until = today()
        tenant.save()
        for invoice in open_upgrade_invoices(tenant.pk):
            invoice_mark_void(
                invoice=invoice, actor=actor, reason=f"an operator set the {new.name} plan"
            )
        plan_change_record(
            tenant=tenant,
            actor=actor,
            old=old,
            new=new.code,
            reason=(reason or "").strip() or "operator's decision",
        )
    return tenant


@transaction.atomic
def enterprise_terms_set(
    *,
    tenant: Tenant,
    actor,
    max_doctors: int | None,
    max_patients: int | None,
    monthly_price_inr: Decimal | None,
    reason: str = "",
) -> Tenant:
    """An Enterprise agreement: the clinic's own limits (None: unlimited) and monthly price
    before GST (None: not billed through the platform). Operators only; moves the clinic to
    Enterprise when it is not there yet."""

    for name, value in (("max_doctors", max_doctors), ("max_patients", max_patients)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ApplicationError("Limits are whole numbers.", field_errors={name: ["Invalid."]})
    with tenant_context(tenant):
        tenant = tenant_lock(tenant)
        old = tenant.plan
        before = {
            "max_doctors": tenant.max_doctors_override,
            "max_patients": tenant.max_patients_override,
            "monthly_price_inr": str(tenant.custom_monthly_price_inr)
            if tenant.custom_monthly_price_inr is not None
            else None,
        }
        tenant.plan = plans.ENTERPRISE
        tenant.pending_plan = ""
        tenant.max_doctors_override = max_doctors
        tenant.max_patients_override = max_patients
        tenant.custom_monthly_price_inr = (
            gst.money(monthly_price_inr) if monthly_price_inr is not None else None
        )
        try:
            tenant.full_clean(validate_unique=False)
        except ValidationError as exc:
            raise invalid_details_error(exc) from exc

        problems = below_usage(
            tenant,
            plans.Plan(plans.ENTERPRISE, "Enterprise", max_doctors, max_patients, None, ""),
        )
        if problems:
            raise ApplicationError(
                "Cannot set these limits: " + "; ".join(problems) + ".", code="plan_below_usage"
            )
        if tenant.status in (Tenant.Status.EXPIRED, Tenant.Status.PAST_DUE):
            tenant.status = Tenant.Status.ACTIVE
        if tenant.custom_monthly_price_inr is not None and tenant.paid_until is None:
            tenant.paid_until = today()
        tenant.save()
        for invoice in open_upgrade_invoices(tenant.pk):
            invoice_mark_void(invoice=invoice, actor=actor, reason="Enterprise agreement")
        after = {
            "max_doctors": max_doctors,
            "max_patients": max_patients,
            "monthly_price_inr": str(tenant.custom_monthly_price_inr)
            if tenant.custom_monthly_price_inr is not None
            else None,
        }
        audit_record(
            action="tenant.enterprise_terms_set",
            actor=actor,
            object=tenant,
            reason=(reason or "").strip(),
            details={"from": before, "to": after},
        )
        if old != plans.ENTERPRISE:
            plan_change_record(
                tenant=tenant,
                actor=actor,
                old=old,
                new=plans.ENTERPRISE,
                reason=(reason or "").strip() or "Enterprise agreement",
            )
    return tenant
