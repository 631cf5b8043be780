"""An owner's plan request, and the checks and records every plan change shares.

The rule: a clinic gets a paid plan's limits only through a paid invoice, an operator's
decision (`plan_set`, `enterprise_terms_set`) or an Enterprise agreement. An owner's request
(`plan_request`) therefore never changes the plan upwards: it opens an invoice, and paying
that invoice (`payment_record` for the manual provider, a verified webhook for Razorpay) is
what moves the clinic.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction

from clinics.billing.services.invoices import (
    invoice_issue,
    invoice_mark_void,
    open_upgrade_invoices,
)
from clinics.billing.services.terms import RANK, today
from clinics.selectors import clinic_counts
from core.errors import ApplicationError
from tenants import plans
from tenants.audit import audit_record
from tenants.billing.models import Invoice
from tenants.context import tenant_context
from tenants.models import PlanChange, Tenant
from tenants.services import tenant_lock

# --- checks and records shared by every plan change ----------------------------------------


def requested_plan(code: str) -> plans.Plan:
    """The plan with this code, or a field error naming it."""
    try:
        return plans.get_plan(code)
    except ValueError as exc:
        raise ApplicationError(str(exc), field_errors={"plan": [str(exc)]}) from exc


def below_usage(tenant: Tenant, plan: plans.Plan) -> list[str]:
    """What the clinic has above the plan's limits, one sentence each (none: it fits)."""
    counts = clinic_counts(tenant)
    problems = []
    for resource, limit in (("doctors", plan.max_doctors), ("patients", plan.max_patients)):
        if limit is not None and counts[resource] > limit:
            problems.append(
                f"the {plan.name} plan allows {limit:,} {resource}; this clinic has "
                f"{counts[resource]:,}"
            )
    return problems


def below_usage_error(tenant: Tenant, plan: plans.Plan) -> ApplicationError | None:
    """The refusal of a change to a plan the clinic has outgrown, or None when it fits."""
    problems = below_usage(tenant, plan)
    if not problems:
        return None
    return ApplicationError(
        "Cannot change plan: " + "; ".join(problems) + ".",
        code="plan_below_usage",
        extra={
            "usage": clinic_counts(tenant),
            "limits": {"doctors": plan.max_doctors, "patients": plan.max_patients},
        },
    )


def plan_change_record(*, tenant, actor, old: str, new: str, reason: str, invoice=None) -> None:
    """Record a plan change in the clinic's history and the audit log."""
    PlanChange.objects.create(
        from_plan=old,
        to_plan=new,
        changed_by_id=getattr(actor, "pk", None),
        changed_by_email=getattr(actor, "email", "") or "",
        reason=reason[:300],
        invoice=invoice,
    )
    audit_record(
        action="tenant.plan_changed",
        actor=actor,
        object=tenant,
        reason=reason,
        details={"from": old, "to": new, "invoice": invoice.number if invoice else None},
    )


# --- the owner's request --------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRequest:
    """What an owner's plan request did: an invoice to pay, a scheduled or an applied change."""

    tenant: Tenant
    outcome: str  # "invoice", "scheduled", "applied", "cancelled_downgrade"
    invoice: Invoice | None = None
    effective_on: datetime.date | None = None

    @property
    def message(self) -> str:
        plan_name = self.tenant.plan_info.name
        if self.outcome == "invoice":
            return (
                f"Invoice {self.invoice.number} is open: the clinic moves to the "
                f"{self.invoice.plan_name} plan as soon as it is paid."
            )
        if self.outcome == "scheduled":
            return (
                f"The clinic moves to the {plans.get_plan(self.tenant.pending_plan).name} plan "
                f"when the paid period ends on {self.effective_on:%d %b %Y}."
            )
        if self.outcome == "cancelled_downgrade":
            return f"The scheduled change was cancelled; the clinic stays on {plan_name}."
        return f"The clinic is now on the {plan_name} plan."


@transaction.atomic
def plan_request(*, tenant: Tenant, actor, plan: str) -> PlanRequest:
    """An owner asks for another plan (the API, the plan page).

    * Basic or Premium above the current plan: an invoice opens; the plan changes when it is
      paid. Until then the current limits stay, and an expired trial stays read-only.
    * A lower paid plan: it takes effect when the paid period ends (refused below usage).
    * Enterprise, or leaving it, and the trial: only by agreement with the platform.
    """
    new = requested_plan(plan)
    with tenant_context(tenant):
        tenant = Tenant.objects.get(pk=tenant.pk)
        if new.code == plans.ENTERPRISE or tenant.plan == plans.ENTERPRISE:
            raise ApplicationError(
                "Enterprise agreements are set up and changed by our team; write to us.",
                code="enterprise_by_agreement",
                status_code=403,
            )
        if new.code == plans.TRIAL:
            raise ApplicationError(
                "The free trial is only for new clinics; choose a paid plan.",
                code="trial_unavailable",
            )
        if tenant.plan == new.code:
            if tenant.pending_plan:
                tenant = _pending_cancel(tenant=tenant, actor=actor)
                return PlanRequest(tenant, "cancelled_downgrade")
            if not (tenant.status == Tenant.Status.PAST_DUE):
                raise ApplicationError(
                    f"The clinic is already on the {new.name} plan.", code="same_plan"
                )
        if RANK[new.code] > RANK[tenant.plan] or tenant.plan == plans.TRIAL:
            return _upgrade(tenant=tenant, actor=actor, new=new)
        if tenant.plan == new.code:
            # A past-due clinic asking for its own plan: the renewal to pay is the answer.
            invoice = (
                Invoice.objects.filter(kind=Invoice.Kind.RENEWAL, status__in=Invoice.PAYABLE)
                .order_by("due_date")
                .first()
            )
            if invoice is None:
                raise ApplicationError(
                    f"The clinic is already on the {new.name} plan.", code="same_plan"
                )
            return PlanRequest(tenant, "invoice", invoice)
        return _downgrade(tenant=tenant, actor=actor, new=new)


def _upgrade(*, tenant: Tenant, actor, new: plans.Plan) -> PlanRequest:
    existing = list(open_upgrade_invoices(tenant.pk).order_by("-created_at"))
    for invoice in existing:
        if invoice.plan == new.code:
            return PlanRequest(tenant, "invoice", invoice)
    # A request for another plan replaces the earlier, unpaid one: only one upgrade invoice
    # is ever payable, so paying an old one cannot surprise the owner.
    for invoice in existing:
        invoice_mark_void(
            invoice=invoice, actor=actor, reason=f"replaced by a request for {new.name}"
        )
    invoice = invoice_issue(
        tenant=tenant, kind=Invoice.Kind.UPGRADE, plan=new.code, period_start=today(), actor=actor
    )
    audit_record(
        action="tenant.plan_requested",
        actor=actor,
        object=tenant,
        details={"from": tenant.plan, "to": new.code, "invoice": invoice.number},
    )
    return PlanRequest(tenant, "invoice", invoice)


def _downgrade(*, tenant: Tenant, actor, new: plans.Plan) -> PlanRequest:
    tenant = tenant_lock(tenant)
    refusal = below_usage_error(tenant, new)
    if refusal:
        raise refusal
    for invoice in open_upgrade_invoices(tenant.pk):
        invoice_mark_void(
            invoice=invoice, actor=actor, reason=f"the owner chose {new.name} instead"
        )
    if tenant.paid_until and tenant.paid_until > today():
        tenant.pending_plan = new.code
        tenant.save(update_fields=["pending_plan", "updated_at"])
        audit_record(
            action="tenant.downgrade_scheduled",
            actor=actor,
            object=tenant,
            details={"from": tenant.plan, "to": new.code, "on": tenant.paid_until.isoformat()},
        )
        return PlanRequest(tenant, "scheduled", effective_on=tenant.paid_until)
    old = tenant.plan
    tenant.plan = new.code
    tenant.pending_plan = ""
    tenant.save(update_fields=["plan", "pending_plan", "updated_at"])
    plan_change_record(tenant=tenant, actor=actor, old=old, new=new.code, reason="downgrade")
    return PlanRequest(tenant, "applied")


def _pending_cancel(*, tenant: Tenant, actor) -> Tenant:
    tenant = tenant_lock(tenant)
    pending, tenant.pending_plan = tenant.pending_plan, ""
    tenant.save(update_fields=["pending_plan", "updated_at"])
    audit_record(
        action="tenant.downgrade_cancelled",
        actor=actor,
        object=tenant,
        details={"plan": tenant.plan, "was": pending},
    )
    return tenant
