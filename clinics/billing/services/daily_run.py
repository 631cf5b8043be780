"""The daily billing run (`manage.py billing_run`, also run by `expire_trials`): expired
trials, scheduled downgrades, renewal invoices, overdue invoices and unpaid clinics."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction

from clinics.billing.services.invoices import (
    invoice_issue,
    invoice_lock,
    renewal_unpaid_past_grace,
)
from clinics.billing.services.plan_changes import below_usage_error, plan_change_record
from clinics.billing.services.terms import RANK, grace_days, renewal_days, today
from tenants import plans
from tenants.audit import audit_record
from tenants.billing.models import Invoice
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.platform import platform_access
from tenants.services import tenant_lock, trials_expire


@dataclass
class BillingRunReport:
    trials_expired: list[str]
    downgrades: list[str]
    renewals: list[str]
    overdue: list[str]
    read_only: list[str]

    def lines(self) -> list[str]:
        return [
            f"{len(self.trials_expired)} trial(s) expired.",
            f"{len(self.downgrades)} scheduled downgrade(s) applied.",
            f"{len(self.renewals)} renewal invoice(s) opened.",
            f"{len(self.overdue)} invoice(s) marked overdue.",
            f"{len(self.read_only)} clinic(s) made read-only for non-payment.",
        ]


def _platform_rows(reason: str, queryset_fn) -> list:
    with platform_access(reason=reason, action="platform.job"):
        return list(queryset_fn())


def billing_run(*, on: datetime.date | None = None, progress=None) -> BillingRunReport:
    """The daily job (`manage.py billing_run`, also run by `expire_trials`).

    Each step finds its clinics through the platform role and then acts in each clinic's own
    context, one transaction per clinic, so one clinic's failure does not undo the others:
    expire ended trials; apply downgrades whose paid period has ended; open renewal
    invoices `BILLING_RENEWAL_DAYS` before a paid period ends; mark unpaid invoices past
    their due date overdue; make clinics whose renewal is still unpaid
    `BILLING_GRACE_DAYS` after its due date read-only (`past_due`) until it is paid.
    """

    on = on or today()
    say = progress or (lambda message: None)
    report = BillingRunReport([], [], [], [], [])
    report.trials_expired = [t.code for t in trials_expire()]

    for tenant in _platform_rows(
        "billing run: scheduled downgrades",
        lambda: Tenant.objects.exclude(pending_plan="").filter(paid_until__lte=on),
    ):
        if _downgrade_apply(tenant=tenant, on=on):
            report.downgrades.append(tenant.code)
            say(f"downgraded: {tenant.code}")

    billable = [p for p in RANK if p != plans.TRIAL]
    for tenant in _platform_rows(
        "billing run: renewals",
        lambda: Tenant.objects.filter(
            plan__in=billable,
            status__in=[Tenant.Status.ACTIVE, Tenant.Status.PAST_DUE],
            paid_until__isnull=False,
            paid_until__lte=on + datetime.timedelta(days=renewal_days()),
        ),
    ):
        invoice = _renewal_open(tenant=tenant, on=on)
        if invoice is not None:
            report.renewals.append(invoice.number)
            say(f"renewal: {tenant.code} {invoice.number}")

    for row in _platform_rows(
        "billing run: overdue invoices",
        lambda: Invoice.objects.filter(status=Invoice.Status.OPEN, due_date__lt=on).values(
            "pk", "tenant_id", "number"
        ),
    ):
        if _overdue_mark(invoice_id=row["pk"], tenant_id=row["tenant_id"], on=on):
            report.overdue.append(row["number"])
            say(f"overdue: {row['number']}")

    limit = on - datetime.timedelta(days=grace_days())
    for tenant_id in {
        row["tenant_id"]
        for row in _platform_rows(
            "billing run: unpaid renewals past the grace period",
            lambda: Invoice.objects.filter(
                kind=Invoice.Kind.RENEWAL, status__in=Invoice.PAYABLE, due_date__lt=limit
            ).values("tenant_id"),
        )
    }:
        code = _past_due_mark(tenant_id=tenant_id, on=on)
        if code:
            report.read_only.append(code)
            say(f"read-only (unpaid): {code}")
    return report


@transaction.atomic
def _downgrade_apply(*, tenant: Tenant, on: datetime.date) -> bool:
    with tenant_context(tenant):
        tenant = tenant_lock(tenant)
        if not tenant.pending_plan or not tenant.paid_until or tenant.paid_until > on:
            return False
        new = plans.get_plan(tenant.pending_plan)
        old = tenant.plan
        tenant.pending_plan = ""
        if below_usage_error(tenant, new):
            # The clinic grew since it asked: it keeps its plan (and pays for it).
            tenant.save(update_fields=["pending_plan", "updated_at"])
            audit_record(
                action="tenant.downgrade_cancelled",
                object=tenant,
                reason="usage above the smaller plan's limits",
                details={"plan": old, "was": new.code},
            )
            return False
        tenant.plan = new.code
        tenant.save(update_fields=["plan", "pending_plan", "updated_at"])
        plan_change_record(
            tenant=tenant, actor=None, old=old, new=new.code, reason="scheduled downgrade"
        )
        return True


def _renewal_open(*, tenant: Tenant, on: datetime.date) -> Invoice | None:
    # No transaction or lock here: invoice_issue runs as the platform (see the docstring of
    # clinics.billing.services.invoices).
    with tenant_context(tenant):
        tenant = Tenant.objects.get(pk=tenant.pk)
        start = tenant.paid_until
        if start is None or start > on + datetime.timedelta(days=renewal_days()):
            return None
        if Invoice.objects.filter(
            kind=Invoice.Kind.RENEWAL, period_start=start, status__in=(*Invoice.PAYABLE, "paid")
        ).exists():
            return None
        plan = tenant.pending_plan or tenant.plan
        if plan == plans.ENTERPRISE and tenant.custom_monthly_price_inr is None:
            return None  # billed outside the platform under its agreement
    return invoice_issue(
        tenant=tenant,
        kind=Invoice.Kind.RENEWAL,
        plan=plan,
        period_start=start,
        issued_on=on,
        due_date=max(start, on),
    )


@transaction.atomic
def _overdue_mark(*, invoice_id, tenant_id, on: datetime.date) -> bool:
    with tenant_context(tenant_id):
        invoice = invoice_lock(invoice_id)
        if invoice.status != Invoice.Status.OPEN or not invoice.due_date or invoice.due_date >= on:
            return False
        invoice.status = Invoice.Status.OVERDUE
        invoice.save(update_fields=["status"])
        audit_record(action="invoice.overdue", object=invoice, details={"number": invoice.number})
        return True


@transaction.atomic
def _past_due_mark(*, tenant_id, on: datetime.date) -> str | None:
    with tenant_context(tenant_id):
        tenant = tenant_lock(Tenant(pk=tenant_id))
        if tenant.status != Tenant.Status.ACTIVE or not renewal_unpaid_past_grace(tenant, on=on):
            return None
        tenant.status = Tenant.Status.PAST_DUE
        tenant.save(update_fields=["status", "updated_at"])
        audit_record(
            action="tenant.past_due",
            object=tenant,
            reason=f"renewal unpaid {grace_days()} days after its due date",
        )
        return tenant.code
