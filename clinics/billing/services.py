"""Billing writes: issuing invoices, recording payments, voiding, and every plan change.

The rule the issue asks for: a clinic gets a paid plan's limits only through a paid invoice,
an operator's decision (`plan_set`, `enterprise_terms_set`) or an Enterprise agreement. An
owner's request (`plan_request`) therefore never changes the plan upwards: it opens an
invoice, and paying that invoice (`payment_record` for the manual provider, a verified
webhook for Razorpay) is what moves the clinic.

Two database roles take part, on purpose:

* Issuing an invoice is the platform's act: its number comes from a per-financial-year
  counter that only the platform role can touch. The counter row is locked
  (SELECT … FOR UPDATE) and the invoice and its lines are inserted in the same platform
  transaction, so a number is taken exactly when its invoice exists: no gaps, no doubles.
* Everything that happens to an invoice afterwards (paid, void, overdue) and to the clinic
  runs as the runtime role inside that clinic's context, under row-level security.

A caller must not hold the clinic row's FOR UPDATE lock while issuing: the platform
connection's insert checks its foreign key to the clinic (FOR KEY SHARE), which FOR UPDATE
on another connection of the same thread would block for ever. `plan_request` issues before
it locks anything, and `billing_run` issues outside any clinic transaction.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinics.billing.providers import get_provider
from clinics.selectors import tenant_counts
from core.errors import ApplicationError
from tenants import plans
from tenants.audit import audit_record
from tenants.billing import gst
from tenants.billing.models import Invoice, InvoiceCounter, InvoiceLine, Payment
from tenants.context import tenant_context
from tenants.models import PlanChange, Tenant
from tenants.platform import platform_access
from tenants.services import tenant_lock, trials_expire

RANK = {plans.TRIAL: 0, plans.BASIC: 1, plans.PREMIUM: 2, plans.ENTERPRISE: 3}
SELF_SERVICE_PLANS = (plans.BASIC, plans.PREMIUM)


# --- settings -------------------------------------------------------------------------------


def due_days() -> int:
    return int(getattr(settings, "BILLING_DUE_DAYS", 7))


def grace_days() -> int:
    return int(getattr(settings, "BILLING_GRACE_DAYS", 7))


def renewal_days() -> int:
    return int(getattr(settings, "BILLING_RENEWAL_DAYS", 7))


def seller() -> dict[str, str]:
    """The platform as the supplier printed on every invoice (settings PLATFORM_*)."""
    return {
        "seller_name": getattr(settings, "PLATFORM_LEGAL_NAME", "") or "Clinic SaaS",
        "seller_address": getattr(settings, "PLATFORM_ADDRESS", ""),
        "seller_gstin": getattr(settings, "PLATFORM_GSTIN", ""),
        "seller_state": getattr(settings, "PLATFORM_GST_STATE", "29"),
    }


# --- dates ----------------------------------------------------------------------------------


def add_month(day: datetime.date) -> datetime.date:
    """The same day next month, or that month's last day (31 Jan → 28/29 Feb)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def today() -> datetime.date:
    return timezone.localdate()


# --- issuing --------------------------------------------------------------------------------


def _invalid(exc: ValidationError) -> ApplicationError:
    return ApplicationError(
        "Some billing details are invalid.",
        code="invalid",
        field_errors=getattr(exc, "message_dict", {"__all__": exc.messages}),
    )


def monthly_price(tenant: Tenant, plan_code: str) -> Decimal:
    """The price before GST of one month of `plan_code` for this clinic."""
    if plan_code == plans.ENTERPRISE or (
        plan_code == tenant.plan and tenant.custom_monthly_price_inr is not None
    ):
        price = tenant.custom_monthly_price_inr
    else:
        price = plans.get_plan(plan_code).monthly_price_inr
    if not price:
        raise ApplicationError(
            f"The {plans.get_plan(plan_code).name} plan has no price for this clinic; an "
            "operator sets Enterprise prices.",
            code="no_price",
        )
    return gst.money(price)


@transaction.atomic
def invoice_issue(
    *,
    tenant: Tenant,
    kind: str,
    plan: str,
    period_start: datetime.date,
    actor=None,
    issued_on: datetime.date | None = None,
    due_date: datetime.date | None = None,
) -> Invoice:
    """Number and open an invoice for one month of `plan`, as the platform.

    The clinic's billing details and the platform's are copied onto the invoice (the
    document must not change when a clinic edits its address later); GST is CGST + SGST when
    the clinic's state is the platform's, IGST otherwise.
    """

    issued_on = issued_on or today()
    price = monthly_price(tenant, plan)
    supplier = seller()
    split = gst.tax_split(
        price, supplier_state=supplier["seller_state"], place_of_supply=tenant.billing_state
    )
    period_end = add_month(period_start)
    plan_name = plans.get_plan(plan).name
    description = (
        f"{plan_name} plan subscription, {period_start:%d %b %Y} to "
        f"{period_end - datetime.timedelta(days=1):%d %b %Y}"
    )
    year = gst.financial_year(issued_on)
    with platform_access(
        reason=f"issue a {kind} invoice for clinic {tenant.code}",
        actor=actor,
        tenant=tenant.pk,
        action="platform.billing",
    ):
        # The counter row of a new year is created once; ON CONFLICT lets two first
        # invoices of a year race without an error, and the lock below orders them.
        InvoiceCounter.objects.bulk_create(
            [InvoiceCounter(financial_year=year)], ignore_conflicts=True
        )
        counter = InvoiceCounter.objects.select_for_update().get(financial_year=year)
        counter.last_number += 1
        counter.save(update_fields=["last_number"])
        invoice = Invoice(
            tenant_id=tenant.pk,
            number=f"INV/{year}/{counter.last_number:06d}",
            financial_year=year,
            sequence=counter.last_number,
            status=Invoice.Status.OPEN,
            kind=kind,
            plan=plan,
            period_start=period_start,
            period_end=period_end,
            issued_at=timezone.now(),
            due_date=due_date or issued_on + datetime.timedelta(days=due_days()),
            bill_to_name=tenant.name,
            bill_to_address=tenant.address,
            bill_to_gstin=tenant.gstin,
            bill_to_state=tenant.billing_state,
            subtotal=split.taxable,
            cgst=split.cgst,
            sgst=split.sgst,
            igst=split.igst,
            total=split.total,
            created_by_id=getattr(actor, "pk", None),
            created_by_email=getattr(actor, "email", "") or "",
            **supplier,
        )
        try:
            invoice.full_clean(validate_unique=False)
        except ValidationError as exc:
            raise _invalid(exc) from exc
        invoice.save(force_insert=True)
        InvoiceLine.objects.create(
            tenant_id=tenant.pk,
            invoice=invoice,
            position=1,
            description=description,
            quantity=1,
            unit_price=split.taxable,
            amount=split.taxable,
        )
        audit_record(
            action="invoice.issued",
            actor=actor,
            tenant=tenant.pk,
            object=invoice,
            details={
                "number": invoice.number,
                "kind": kind,
                "plan": plan,
                "total": str(split.total),
            },
        )
    # Read back as the runtime role in the clinic's context: the object above belongs to the
    # platform connection, which refuses every query once the block has ended.
    with tenant_context(tenant.pk):
        return Invoice.objects.prefetch_related("lines").get(pk=invoice.pk)


# --- plan changes ---------------------------------------------------------------------------


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


def _get_plan(code: str) -> plans.Plan:
    try:
        return plans.get_plan(code)
    except ValueError as exc:
        raise ApplicationError(str(exc), field_errors={"plan": [str(exc)]}) from exc


def _below_usage_error(tenant: Tenant, plan: plans.Plan) -> ApplicationError | None:

    problems = _below_usage(tenant, plan)
    if not problems:
        return None
    return ApplicationError(
        "Cannot change plan: " + "; ".join(problems) + ".",
        code="plan_below_usage",
        extra={
            "usage": tenant_counts(tenant),
            "limits": {"doctors": plan.max_doctors, "patients": plan.max_patients},
        },
    )


def _record_change(*, tenant, actor, old: str, new: str, reason: str, invoice=None) -> None:
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


def _open_upgrade_invoices(tenant_id):
    return Invoice.objects.filter(
        tenant_id=tenant_id, kind=Invoice.Kind.UPGRADE, status__in=Invoice.PAYABLE
    )


@transaction.atomic
def plan_request(*, tenant: Tenant, actor, plan: str) -> PlanRequest:
    """An owner asks for another plan (the API, the plan page).

    * Basic or Premium above the current plan: an invoice opens; the plan changes when it is
      paid. Until then the current limits stay, and an expired trial stays read-only.
    * A lower paid plan: it takes effect when the paid period ends (refused below usage).
    * Enterprise, or leaving it, and the trial: only by agreement with the platform.
    """
    new = _get_plan(plan)
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
    existing = list(_open_upgrade_invoices(tenant.pk).order_by("-created_at"))
    for invoice in existing:
        if invoice.plan == new.code:
            return PlanRequest(tenant, "invoice", invoice)
    # A request for another plan replaces the earlier, unpaid one: only one upgrade invoice
    # is ever payable, so paying an old one cannot surprise the owner.
    for invoice in existing:
        _void(invoice=invoice, actor=actor, reason=f"replaced by a request for {new.name}")
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
    refusal = _below_usage_error(tenant, new)
    if refusal:
        raise refusal
    for invoice in _open_upgrade_invoices(tenant.pk):
        _void(invoice=invoice, actor=actor, reason=f"the owner chose {new.name} instead")
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
    _record_change(tenant=tenant, actor=actor, old=old, new=new.code, reason="downgrade")
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


@transaction.atomic
def plan_set(*, tenant: Tenant, actor, plan: str, reason: str = "") -> Tenant:
    """An operator's decision (admin action, `manage.py set_plan`): the plan changes now.

    Refused below usage, like any change. A clinic moved to a priced plan with nothing paid
    through the platform starts its billing today: the next `billing_run` opens its first
    invoice, with the usual due date and grace period.
    """

    new = _get_plan(plan)
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
        refusal = _below_usage_error(tenant, new)
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
        for invoice in _open_upgrade_invoices(tenant.pk):
            _void(invoice=invoice, actor=actor, reason=f"an operator set the {new.name} plan")
        _record_change(
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
            raise _invalid(exc) from exc

        problems = _below_usage(
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
        for invoice in _open_upgrade_invoices(tenant.pk):
            _void(invoice=invoice, actor=actor, reason="Enterprise agreement")
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
            _record_change(
                tenant=tenant,
                actor=actor,
                old=old,
                new=plans.ENTERPRISE,
                reason=(reason or "").strip() or "Enterprise agreement",
            )
    return tenant


# --- paying and voiding ---------------------------------------------------------------------


def _lock_invoice(invoice_id) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice_id)


def _has_unpaid_past_grace(tenant: Tenant, *, on: datetime.date) -> bool:
    return Invoice.objects.filter(
        tenant_id=tenant.pk,
        kind=Invoice.Kind.RENEWAL,
        status__in=Invoice.PAYABLE,
        due_date__lt=on - datetime.timedelta(days=grace_days()),
    ).exists()


def _settle(*, tenant: Tenant, invoice: Invoice, actor, paid_at) -> Tenant:
    """The invoice is paid: give the clinic what it paid for, at once. `tenant` is locked."""
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = paid_at
    invoice.save(update_fields=["status", "paid_at"])
    old = tenant.plan
    if invoice.kind == Invoice.Kind.UPGRADE or invoice.plan != tenant.plan:
        tenant.plan = invoice.plan
        tenant.pending_plan = ""
        if invoice.plan != plans.ENTERPRISE:
            tenant.max_doctors_override = tenant.max_patients_override = None
            tenant.custom_monthly_price_inr = None
    if tenant.paid_until is None or invoice.period_end > tenant.paid_until:
        tenant.paid_until = invoice.period_end
    reopened = False
    if tenant.status in (Tenant.Status.EXPIRED, Tenant.Status.PAST_DUE) and not (
        _has_unpaid_past_grace(tenant, on=today())
    ):
        tenant.status = Tenant.Status.ACTIVE
        reopened = True
    tenant.save()
    audit_record(
        action="invoice.paid",
        actor=actor,
        object=invoice,
        details={"number": invoice.number, "total": str(invoice.total)},
    )
    if old != tenant.plan:
        _record_change(
            tenant=tenant,
            actor=actor,
            old=old,
            new=tenant.plan,
            reason=f"paid invoice {invoice.number}",
            invoice=invoice,
        )
    if reopened:
        audit_record(action="tenant.reopened", actor=actor, object=tenant)
    return tenant


@transaction.atomic
def payment_record(
    *,
    invoice: Invoice,
    actor,
    provider: str,
    method: str,
    reference: str,
    amount: Decimal,
    currency: str = "INR",
    received_at=None,
    note: str = "",
) -> Payment:
    """Money received for an invoice: record it and, if it pays the invoice in full, settle.

    Called by the manual provider (an operator recording a transfer, cheque or UPI payment)
    and by verified provider webhooks; nothing else marks an invoice paid. A payment for an
    invoice that is no longer payable, or of another amount, is refused: the operator
    refunds or asks for the difference.
    """
    reference = (reference or "").strip()
    if not reference:
        raise ApplicationError(
            "Give the payment's reference (UTR, cheque number, UPI reference).",
            code="reference_required",
            field_errors={"reference": ["Required."]},
        )
    try:
        amount = gst.money(amount)
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise ApplicationError("The amount is not a number of rupees.", code="invalid") from exc
    with tenant_context(invoice.tenant_id):
        tenant = tenant_lock(Tenant(pk=invoice.tenant_id))
        invoice = _lock_invoice(invoice.pk)
        if not invoice.is_payable:
            raise ApplicationError(
                f"Invoice {invoice.number or invoice.pk} is {invoice.get_status_display().lower()}"
                "; it cannot be paid.",
                code="invoice_not_payable",
                status_code=409,
            )
        if currency != invoice.currency or amount != invoice.total:
            raise ApplicationError(
                f"Invoice {invoice.number} is for ₹{invoice.total}; ₹{amount} {currency} does "
                "not pay it.",
                code="amount_mismatch",
                extra={"expected": str(invoice.total), "received": str(amount)},
            )
        payment = Payment(
            invoice=invoice,
            kind=Payment.Kind.PAYMENT,
            provider=provider,
            method=method,
            reference=reference,
            amount=amount,
            currency=currency,
            received_at=received_at or timezone.now(),
            note=(note or "").strip(),
            recorded_by_id=getattr(actor, "pk", None),
            recorded_by_email=getattr(actor, "email", "") or "",
        )
        try:
            payment.full_clean(validate_unique=False)
        except ValidationError as exc:
            raise _invalid(exc) from exc
        try:
            with transaction.atomic():
                payment.save(force_insert=True)
        except IntegrityError as exc:
            raise ApplicationError(
                f"Payment {reference} is already recorded.", code="duplicate_payment"
            ) from exc
        _settle(tenant=tenant, invoice=invoice, actor=actor, paid_at=payment.received_at)
    return payment


@transaction.atomic
def refund_record(
    *, invoice: Invoice, actor, provider: str, reference: str, payment_reference: str, amount
) -> Payment:
    """Money returned by a provider. The paid invoice stays as it is (a tax document); the
    refund is recorded and audited so an operator can decide (credit note, suspension)."""
    with tenant_context(invoice.tenant_id):
        invoice = Invoice.objects.get(pk=invoice.pk)
        refund = Payment(
            invoice=invoice,
            kind=Payment.Kind.REFUND,
            provider=provider,
            method=Payment.Method.ONLINE,
            reference=reference,
            payment_reference=payment_reference,
            amount=gst.money(amount),
            recorded_by_id=getattr(actor, "pk", None),
        )
        refund.full_clean(validate_unique=False)
        refund.save(force_insert=True)
        audit_record(
            action="invoice.refunded",
            actor=actor,
            object=invoice,
            details={"refund": reference, "payment": payment_reference, "amount": str(amount)},
        )
    return refund


def _void(*, invoice: Invoice, actor, reason: str) -> Invoice:
    invoice = _lock_invoice(invoice.pk)
    if invoice.status in Invoice.FROZEN:
        raise ApplicationError(
            f"Invoice {invoice.number} is {invoice.get_status_display().lower()} and never "
            "changes.",
            code="invoice_frozen",
            status_code=409,
        )
    invoice.status = Invoice.Status.VOID
    invoice.voided_at = timezone.now()
    invoice.void_reason = reason[:500]
    invoice.save(update_fields=["status", "voided_at", "void_reason"])
    audit_record(
        action="invoice.voided",
        actor=actor,
        object=invoice,
        reason=reason,
        details={"number": invoice.number},
    )
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor, reason: str) -> Invoice:
    """An operator cancels an unpaid invoice (issued in error, agreed otherwise). The number
    stays used: a void invoice keeps it, so the sequence has no gap."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "Say why the invoice is void.",
            code="reason_required",
            field_errors={"reason": ["Required."]},
        )
    with tenant_context(invoice.tenant_id):
        tenant = tenant_lock(Tenant(pk=invoice.tenant_id))
        invoice = _void(invoice=invoice, actor=actor, reason=reason)
        if tenant.status == Tenant.Status.PAST_DUE and not _has_unpaid_past_grace(
            tenant, on=today()
        ):
            tenant.status = Tenant.Status.ACTIVE
            tenant.save(update_fields=["status", "updated_at"])
            audit_record(action="tenant.reopened", actor=actor, object=tenant)
    return invoice


@transaction.atomic
def invoice_checkout(*, invoice: Invoice, actor, provider_name: str | None = None) -> dict:
    """Start paying an invoice with a provider: what the clinic is shown (a link, or the
    provider's checkout options). Creating the provider's order is idempotent per invoice."""

    provider = get_provider(provider_name)
    with tenant_context(invoice.tenant_id):
        invoice = _lock_invoice(invoice.pk)
        if not invoice.is_payable:
            raise ApplicationError(
                f"Invoice {invoice.number} is {invoice.get_status_display().lower()}.",
                code="invoice_not_payable",
                status_code=409,
            )
        if invoice.provider != provider.name or not invoice.provider_reference:
            reference = provider.create_checkout(invoice)
            if reference:
                invoice.provider = provider.name
                invoice.provider_reference = reference
                invoice.save(update_fields=["provider", "provider_reference"])
                audit_record(
                    action="invoice.checkout_started",
                    actor=actor,
                    object=invoice,
                    details={"provider": provider.name, "reference": reference},
                )
        return provider.checkout_details(invoice)


# --- the daily run ----------------------------------------------------------------------------


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
        if _below_usage_error(tenant, new):
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
        _record_change(
            tenant=tenant, actor=None, old=old, new=new.code, reason="scheduled downgrade"
        )
        return True


def _renewal_open(*, tenant: Tenant, on: datetime.date) -> Invoice | None:
    # No transaction or lock here: invoice_issue runs as the platform (see module docstring).
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
        invoice = _lock_invoice(invoice_id)
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
        if tenant.status != Tenant.Status.ACTIVE or not _has_unpaid_past_grace(tenant, on=on):
            return None
        tenant.status = Tenant.Status.PAST_DUE
        tenant.save(update_fields=["status", "updated_at"])
        audit_record(
            action="tenant.past_due",
            object=tenant,
            reason=f"renewal unpaid {grace_days()} days after its due date",
        )
        return tenant.code


def _below_usage(tenant: Tenant, plan: plans.Plan) -> list[str]:
    counts = tenant_counts(tenant)
    problems = []
    for resource, limit in (("doctors", plan.max_doctors), ("patients", plan.max_patients)):
        if limit is not None and counts[resource] > limit:
            problems.append(
                f"the {plan.name} plan allows {limit:,} {resource}; this clinic has "
                f"{counts[resource]:,}"
            )
    return problems
