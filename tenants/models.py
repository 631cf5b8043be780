"""Clinics (tenants) and the append-only audit log."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants import plans
from tenants.billing import gst as billing_gst
from tenants.context import DbContext
from tenants.scoping import ScopedManager, TenantForeignKey, TenantOwnedModel


class TenantRowManager(ScopedManager):
    """Clinics visible to the current code: the clinic in context; every clinic inside
    platform_access."""

    def scope_filter(self, ctx: DbContext) -> Q | None:
        if ctx.tenant_id is None:
            return None
        return Q(pk=ctx.tenant_id)


class VisibleTenantManager(models.Manager):
    """No ORM filter: row-level security alone decides (the clinic in context, and nothing
    without one; a person's clinics are listed by accounts.selectors.memberships_of)."""


class Tenant(models.Model):
    rls_kind = "tenant_root"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Trial expired"
        SUSPENDED = "suspended", "Suspended"
        CANCELLED = "cancelled", "Cancelled"
        # A renewal invoice unpaid past its due date and the grace period (tenants.billing):
        # read-only until it is paid, which reopens the clinic at once.
        PAST_DUE = "past_due", "Payment overdue"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    code = models.SlugField(max_length=60, unique=True, allow_unicode=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    plan = models.CharField(max_length=20, choices=plans.PLAN_CHOICES, default=plans.TRIAL)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    # Per-clinic limits (enterprise contracts); NULL means "the plan's limit".
    max_doctors_override = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    max_patients_override = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    # Enterprise agreements: the monthly price before GST, set by operators (None: the plan's).
    custom_monthly_price_inr = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("1"))],
    )
    # The end of the period the clinic has paid for (None: nothing paid through the platform).
    paid_until = models.DateField(null=True, blank=True)
    # A downgrade the owner asked for; it takes effect when the paid period ends.
    pending_plan = models.CharField(
        max_length=20, choices=plans.PLAN_CHOICES, blank=True, default=""
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    address = models.TextField(blank=True)
    # Billing details printed on invoices: the GST state decides CGST+SGST or IGST.
    gstin = models.CharField(
        "GSTIN", max_length=15, blank=True, validators=[billing_gst.validate_gstin]
    )
    billing_state = models.CharField(
        "state (GST)",
        max_length=2,
        blank=True,
        choices=billing_gst.STATE_CHOICES,
        validators=[billing_gst.validate_state],
    )
    settings = models.JSONField(default=dict, blank=True)
    # Set by an owner: every member must sign in with a second factor (accounts.two_factor).
    require_two_factor = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantRowManager()
    visible = VisibleTenantManager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["status", "trial_ends_at"], name="tenant_status_trial")]

    def __str__(self) -> str:
        return self.name

    @property
    def plan_info(self) -> plans.Plan:
        return plans.get_plan(self.plan)

    @property
    def max_doctors(self) -> int | None:
        if self.max_doctors_override is not None:
            return self.max_doctors_override
        return self.plan_info.max_doctors

    @property
    def max_patients(self) -> int | None:
        if self.max_patients_override is not None:
            return self.max_patients_override
        return self.plan_info.max_patients

    @property
    def is_trial(self) -> bool:
        return self.plan == plans.TRIAL

    @property
    def trial_expired(self) -> bool:
        return bool(self.is_trial and self.trial_ends_at and self.trial_ends_at <= timezone.now())

    @property
    def monthly_price_inr(self) -> Decimal | None:
        """What a month of the current plan costs this clinic before GST (None: not billable)."""
        if self.custom_monthly_price_inr is not None:
            return self.custom_monthly_price_inr
        return self.plan_info.monthly_price_inr or None

    def clean(self):
        super().clean()
        if self.gstin and self.billing_state and self.gstin[:2] != self.billing_state:
            raise ValidationError(
                {"gstin": "The GSTIN's first two digits must be the clinic's GST state code."}
            )

    @property
    def is_writable(self) -> bool:
        """Expired trials and suspended clinics keep their data readable, not writable."""
        return self.status == self.Status.ACTIVE and not self.trial_expired


class AuditEventManager(ScopedManager):
    """The audit events of the clinic in context (the base's scope: its `tenant_id`)."""


class AuditEventBase(models.Model):
    """What every audit event records: who (person id and e-mail), what (the action, the
    object, the patient), why (the reason) and from where (IP address, user agent).

    Append-only: the runtime and platform roles may insert, never change or delete. The actor
    is kept as a plain id (no database constraint), so deleting a person never has to rewrite
    history.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed per table: after the clinic in the clinics' table, alone in the platform's.
    created_at = models.DateTimeField(default=timezone.now)
    actor_id = models.UUIDField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.UUIDField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"


class AuditEvent(AuditEventBase):
    """A clinic's audit event: the runtime role may insert and read its clinic's rows.

    Every row belongs to a clinic (`tenant_id` NOT NULL), so the table can be distributed by
    clinic; the platform's own events (no clinic) live in `PlatformAuditEvent`. The clinic is
    kept as a plain id (no database constraint), so purging a clinic never has to rewrite
    history.
    """

    rls_kind = "audit"

    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    objects = AuditEventManager()

    class Meta(AuditEventBase.Meta):
        # No index on the time alone: a clinic's log reads its own range of the first one
        # (an index on the time would let the planner walk every clinic's recent events).
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created"),
            models.Index(fields=["tenant", "patient_id"], name="audit_tenant_patient"),
        ]


class PlatformAuditEventManager(ScopedManager):
    """The platform's own events are read only inside platform_access (operators, commands):
    with any other context the queryset refuses to run, and row-level security returns no
    row to the runtime role anyway."""

    def scope_filter(self, ctx: DbContext) -> Q | None:
        return None


class PlatformAuditEvent(AuditEventBase):
    """An audit event of no clinic: failed logins of unknown people, sign-ups, operators'
    actions and platform access across clinics, catalogue loads, daily jobs.

    A platform table (row-level security kind "platform_audit"), kept on the coordinator of
    a distributed cluster: any code may append an event, no clinic reads one, and only the
    platform role (inside platform_access) reads them.
    """

    rls_kind = "platform_audit"

    objects = PlatformAuditEventManager()

    class Meta(AuditEventBase.Meta):
        verbose_name = "platform audit event"
        indexes = [models.Index(fields=["-created_at"], name="platformaudit_created")]

    @property
    def tenant_id(self) -> None:
        # No clinic, by definition; code that reads any event's clinic (clinic_of) gets None.
        return None


class OutboxEmail(models.Model):
    """An e-mail waiting to be sent (tenants.outbox), written in the same transaction as the
    change that causes it, so a committed change never loses its e-mail and a rolled-back one
    never sends it.

    A platform table (row-level security kind "outbox"): the runtime role may insert rows for
    its clinic or for none, and read only the progress columns (status, created_at,
    next_attempt_at) to measure the backlog; recipients and contents are read and updated by
    the worker alone, through platform_access(). The grants are in tenants.dbroles.
    """

    rls_kind = "outbox"
    # The only columns the runtime role may read (tenants.dbroles.RUNTIME_LIMITED_TABLES).
    progress_fields = ("status", "created_at", "next_attempt_at")

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed (gave up)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The clinic whose change caused the e-mail; empty for a person's own events (password
    # reset, e-mail verification outside a clinic).
    # Indexed by outbox_tenant_status, which leads with it.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, null=True, blank=True, db_index=False, related_name="+"
    )
    template = models.CharField(max_length=64)
    recipient = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The worker's and the backlog's query: pending rows by due time.
            models.Index(fields=["status", "next_attempt_at"], name="outbox_status_due"),
            models.Index(fields=["tenant", "status"], name="outbox_tenant_status"),
        ]

    def __str__(self) -> str:
        return f"{self.template} ({self.status})"


class PlanChange(TenantOwnedModel):
    """Every change of a clinic's plan: who, when, from, to."""

    from_plan = models.CharField(max_length=20, choices=plans.PLAN_CHOICES)
    to_plan = models.CharField(max_length=20, choices=plans.PLAN_CHOICES)
    changed_by_id = models.UUIDField(null=True, blank=True)
    changed_by_email = models.CharField(max_length=254, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    # Why: the paid invoice that bought the plan, an operator's decision, a scheduled downgrade.
    reason = models.CharField(max_length=300, blank=True)
    invoice = TenantForeignKey(
        "tenants.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.from_plan} → {self.to_plan}"


class IdempotencyKey(TenantOwnedModel):
    """A client's `Idempotency-Key` for a POST, and the answer it got.

    Mobile clients on flaky networks retry; the same key within a day gets the stored answer
    instead of a second record. The unique index makes concurrent retries wait for the first
    and then replay it.
    """

    user_id = models.UUIDField()
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user_id", "key"], name="idempotencykey_tenant_user_key_uniq"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "created_at"], name="idempotency_tenant_created")]

    def __str__(self) -> str:
        return self.key


# Billing models live in their own module next to the plan code; importing them here
# registers them with the tenants app.
from tenants.billing.models import (  # noqa: E402,F401
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Payment,
    PaymentEvent,
)
