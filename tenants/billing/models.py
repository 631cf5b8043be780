"""Invoices, their lines, payments and provider events (clinic-owned), and the platform's
invoice counter.

Invoices, lines, payments and events are clinic rows like any other: `tenant_id`, row-level
security, composite same-clinic foreign keys, uniques that include the clinic. The database
also keeps a paid or void invoice as it is, without triggers (Citus refuses them): lines are
insert-only, the runtime role may change only an invoice's life-cycle columns, and two
restrictive policies hide a paid or void invoice from every UPDATE and DELETE; only the
platform's purge of a whole clinic deletes one (tenants.billing.operations, migration 0009).

The counter is the platform's: only the platform role may read or change it (the migration
revokes every privilege of the runtime role), so a clinic can neither see how many invoices
others received nor take a number.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants import plans
from tenants.billing import gst
from tenants.billing.operations import FROZEN_POLICIES
from tenants.scoping import TenantForeignKey, TenantOwnedModel

ZERO = Decimal("0.00")


def _money_field(**kwargs):
    return models.DecimalField(max_digits=12, decimal_places=2, default=ZERO, **kwargs)


class InvoiceCounter(models.Model):
    """The last number given in one financial year. Locked (SELECT … FOR UPDATE) by the
    transaction that issues an invoice and commits with it, so numbers have no gaps."""

    financial_year = models.CharField(max_length=7, primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.financial_year}: {self.last_number}"


class Invoice(TenantOwnedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        OVERDUE = "overdue", "Overdue"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    class Kind(models.TextChoices):
        UPGRADE = "upgrade", "Plan upgrade"
        RENEWAL = "renewal", "Renewal"

    FROZEN = (Status.PAID, Status.VOID)
    PAYABLE = (Status.OPEN, Status.OVERDUE)
    # Policies beside those of the "tenant" kind, which check_rls expects on this table.
    rls_extra_policies = FROZEN_POLICIES

    number = models.CharField(max_length=32, blank=True, default="")
    financial_year = models.CharField(max_length=7, blank=True, default="")
    sequence = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.UPGRADE)
    plan = models.CharField(max_length=20, choices=plans.PLAN_CHOICES, default=plans.BASIC)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=500, blank=True)
    # The parties as they were on the day of issue: the document never changes afterwards.
    seller_name = models.CharField(max_length=200, blank=True)
    seller_address = models.TextField(blank=True)
    seller_gstin = models.CharField(max_length=15, blank=True, validators=[gst.validate_gstin])
    seller_state = models.CharField(max_length=2, blank=True, validators=[gst.validate_state])
    bill_to_name = models.CharField(max_length=200, blank=True)
    bill_to_address = models.TextField(blank=True)
    bill_to_gstin = models.CharField(max_length=15, blank=True, validators=[gst.validate_gstin])
    bill_to_state = models.CharField(max_length=2, blank=True, validators=[gst.validate_state])
    currency = models.CharField(max_length=3, default="INR")
    subtotal = _money_field()
    cgst = _money_field()
    sgst = _money_field()
    igst = _money_field()
    total = _money_field()
    # The provider's handle for the checkout (a Razorpay order id), found again by webhooks.
    provider = models.CharField(max_length=20, blank=True)
    provider_reference = models.CharField(max_length=100, blank=True)
    created_by_id = models.UUIDField(null=True, blank=True)
    created_by_email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "number"],
                condition=~Q(number=""),
                name="invoice_tenant_number_uniq",
            ),
            models.UniqueConstraint(
                fields=["tenant", "financial_year", "sequence"],
                condition=Q(sequence__isnull=False),
                name="invoice_tenant_year_seq_uniq",
            ),
            # A number exactly when the invoice has left the draft state.
            models.CheckConstraint(
                condition=(Q(status="draft", number="", sequence__isnull=True))
                | (~Q(status="draft") & ~Q(number="") & Q(sequence__isnull=False)),
                name="invoice_number_iff_issued",
            ),
            models.CheckConstraint(
                condition=Q(
                    total=models.F("subtotal")
                    + models.F("cgst")
                    + models.F("sgst")
                    + models.F("igst")
                ),
                name="invoice_total_is_sum",
            ),
            # Either CGST + SGST (intra-state) or IGST (inter-state), never both.
            models.CheckConstraint(
                condition=Q(igst=0) | (Q(cgst=0) & Q(sgst=0)),
                name="invoice_one_kind_of_gst",
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0, cgst__gte=0, sgst__gte=0, igst__gte=0),
                name="invoice_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False),
                name="invoice_paid_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="invoice_tenant_created"),
            models.Index(fields=["tenant", "status", "due_date"], name="invoice_tenant_status"),
            # Webhooks look an invoice up by the provider's order id (platform role).
            models.Index(fields=["provider", "provider_reference"], name="invoice_provider_ref"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.pk}"

    @property
    def is_payable(self) -> bool:
        return self.status in self.PAYABLE

    @property
    def intra_state(self) -> bool:
        return self.igst == 0 and (self.cgst + self.sgst) > 0

    @property
    def amount_paise(self) -> int:
        return int(self.total * 100)

    @property
    def plan_name(self) -> str:
        return plans.get_plan(self.plan).name


class InvoiceLine(TenantOwnedModel):
    invoice = TenantForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    description = models.CharField(max_length=300)
    sac_code = models.CharField(max_length=10, default=gst.SAC_CODE)
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    unit_price = _money_field(validators=[MinValueValidator(ZERO)])
    amount = _money_field(validators=[MinValueValidator(ZERO)])

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "invoice", "position"], name="invoiceline_tenant_position_uniq"
            ),
            models.CheckConstraint(
                condition=Q(amount=models.F("unit_price") * models.F("quantity")),
                name="invoiceline_amount_is_product",
            ),
        ]

    def __str__(self) -> str:
        return self.description


class Payment(TenantOwnedModel):
    """Money received for an invoice (or returned: a refund), by any provider."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Bank transfer (NEFT/RTGS/IMPS)"
        UPI = "upi", "UPI"
        CHEQUE = "cheque", "Cheque"
        CASH = "cash", "Cash"
        ONLINE = "online", "Online (payment provider)"

    invoice = TenantForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PAYMENT)
    provider = models.CharField(max_length=20)
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.ONLINE)
    # The provider's id (Razorpay pay_… or rfnd_…), or the UTR / cheque number / UPI reference.
    reference = models.CharField(max_length=100)
    # For a refund: the payment it returns.
    payment_reference = models.CharField(max_length=100, blank=True)
    amount = _money_field(validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, default="INR")
    received_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=500, blank=True)
    recorded_by_id = models.UUIDField(null=True, blank=True)
    recorded_by_email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # The same provider payment (payment.captured and order.paid both carry it) is
            # recorded once.
            models.UniqueConstraint(
                fields=["tenant", "provider", "kind", "reference"],
                name="payment_tenant_provider_ref_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference} ₹{self.amount}"


class PaymentEvent(TenantOwnedModel):
    """A provider's webhook event, once: its id makes a replay a no-op."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=64)
    invoice = TenantForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    outcome = models.CharField(max_length=40)
    payload = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "provider", "event_id"], name="paymentevent_tenant_event_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"


@register(Tags.compatibility, deploy=False)
def check_billing_settings(app_configs=None, **kwargs):
    """The platform's own GST details are printed on every invoice: a wrong one would make
    every invoice fail to issue, so it is caught at start-up instead."""
    errors = []
    for name, validate in (
        ("PLATFORM_GSTIN", gst.validate_gstin),
        ("PLATFORM_GST_STATE", gst.validate_state),
    ):
        try:
            validate(getattr(settings, name, ""))
        except ValidationError as exc:
            errors.append(Error(f"{name}: {' '.join(exc.messages)}", id="billing.E001"))
    state, gstin = (
        getattr(settings, "PLATFORM_GST_STATE", ""),
        getattr(settings, "PLATFORM_GSTIN", ""),
    )
    if gstin and state and gstin[:2] != state:
        errors.append(
            Error("PLATFORM_GSTIN does not start with PLATFORM_GST_STATE.", id="billing.E002")
        )
    return errors
