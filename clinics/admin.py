"""Admin for clinics (platform operators), plan changes and the audit log.

The site is clinics.admin_site, the modes (platform, clinic, support) accounts.admin_mode,
the mixins accounts.admin_mixins.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from accounts.admin_mixins import (
    ClinicOwnedAdmin,
    ReadOnlyFieldsMixin,
    ScopedAdminMixin,
    form_action,
)
from accounts.models import ADMIN_ROLES
from clinics.billing.services import enterprise_terms_set, plan_set
from clinics.selectors import clinics_with_usage
from tenants import outbox_admin, plans  # noqa: F401 (outbox_admin registers the e-mail outbox)
from tenants.admin_mixins import ViewOnlyMixin
from tenants.models import AuditEvent, PlanChange, PlatformAuditEvent, Tenant
from tenants.services import (
    MAX_TRIAL_EXTENSION_DAYS,
    tenant_reactivate,
    tenant_suspend,
    tenant_update,
    trial_extend,
)

# --- action forms -----------------------------------------------------------------------------


class SuspendForm(forms.Form):
    reason = forms.CharField(
        max_length=500, help_text="Kept in the audit log (e.g. “invoice 2026-114 unpaid”)."
    )


class ReactivateForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


class ExtendTrialForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=MAX_TRIAL_EXTENSION_DAYS, initial=14)
    reason = forms.CharField(max_length=500, required=False)


class ChangePlanForm(forms.Form):
    plan = forms.ChoiceField(choices=plans.PLAN_CHOICES)
    reason = forms.CharField(
        max_length=300, help_text="The operator's decision, kept in the plan history."
    )


class EnterpriseTermsForm(forms.Form):
    max_doctors = forms.IntegerField(min_value=1, required=False, help_text="Empty: unlimited.")
    max_patients = forms.IntegerField(min_value=1, required=False, help_text="Empty: unlimited.")
    monthly_price_inr = forms.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=1,
        required=False,
        help_text="Before GST. Empty: not billed through the platform.",
    )
    reason = forms.CharField(max_length=300, help_text="The agreement (reference, date).")


# --- clinics ----------------------------------------------------------------------------------


class TrialFilter(admin.SimpleListFilter):
    title = "trial"
    parameter_name = "trial"

    def lookups(self, request, model_admin):
        return [
            ("ending", "Ends within 7 days"),
            ("ended", "Ended"),
            ("paid", "Paid plan"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "ending":
            return queryset.filter(
                plan=plans.TRIAL, trial_ends_at__gt=now, trial_ends_at__lte=now + timedelta(days=7)
            )
        if self.value() == "ended":
            return queryset.filter(plan=plans.TRIAL, trial_ends_at__lte=now)
        if self.value() == "paid":
            return queryset.exclude(plan=plans.TRIAL)
        return queryset


def _usage(current: int, maximum: int | None) -> str:
    return f"{current:,} / {'∞' if maximum is None else f'{maximum:,}'}"


@admin.register(Tenant)
class TenantAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """The clinics list: platform operators only. A clinic's own admins never see it."""

    platform_permissions = frozenset({"view", "change", "operate"})
    clinic_permissions = frozenset()

    list_display = (
        "name",
        "code",
        "plan",
        "status",
        "trial_ends_at",
        "doctors",
        "patients",
        "users",
        "created_at",
    )
    list_filter = ("plan", "status", TrialFilter, "created_at")
    search_fields = ("name", "=code", "email", "phone")
    ordering = ("name",)
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("name", "code", "email", "phone", "address")}),
        (
            "Subscription",
            {
                "fields": (
                    "plan",
                    "status",
                    "trial_ends_at",
                    "doctors",
                    "patients",
                    "users",
                    "max_doctors_override",
                    "max_patients_override",
                    "custom_monthly_price_inr",
                    "paid_until",
                    "pending_plan",
                )
            },
        ),
        ("Billing details", {"fields": ("gstin", "billing_state")}),
        ("History", {"fields": ("plan_history", "created_at", "updated_at")}),
    )
    readonly_fields = (
        "code",
        "plan",
        "status",
        "trial_ends_at",
        "doctors",
        "patients",
        "users",
        "max_doctors_override",
        "max_patients_override",
        "custom_monthly_price_inr",
        "paid_until",
        "pending_plan",
        "plan_history",
        "created_at",
        "updated_at",
    )
    actions = (
        "suspend",
        "reactivate",
        "extend_trial",
        "change_plan",
        "set_enterprise_terms",
    )

    def get_queryset(self, request):
        return clinics_with_usage(super().get_queryset(request))

    @admin.display(description="doctors")
    def doctors(self, obj):
        return _usage(obj.doctor_count, obj.max_doctors)

    @admin.display(description="patients")
    def patients(self, obj):
        return _usage(obj.patient_count, obj.max_patients)

    @admin.display(description="active members")
    def users(self, obj):
        return f"{obj.user_count:,}"

    @admin.display(description="plan changes")
    def plan_history(self, obj):
        changes = PlanChange.objects.filter(tenant_id=obj.pk).order_by("-changed_at")[:20]
        return (
            format_html_join(
                mark_safe("<br>"),
                "{}: {} → {} ({}; {})",
                (
                    (
                        f"{c.changed_at:%Y-%m-%d}",
                        c.from_plan,
                        c.to_plan,
                        c.changed_by_email or "—",
                        c.reason or "—",
                    )
                    for c in changes
                ),
            )
            or "—"
        )

    def has_delete_permission(self, request, obj=None):
        return False  # `manage.py purge_tenant`, after typing the clinic's code

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        if changes:
            tenant_update(tenant=obj, actor=request.user, **changes)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    suspend = form_action(
        name="suspend",
        form_class=SuspendForm,
        description="Suspend (read-only until reactivated)",
        apply=lambda ma, request, obj, data: tenant_suspend(
            tenant=obj, actor=request.user, reason=data["reason"]
        ),
    )
    reactivate = form_action(
        name="reactivate",
        form_class=ReactivateForm,
        description="Reactivate",
        apply=lambda ma, request, obj, data: tenant_reactivate(
            tenant=obj, actor=request.user, reason=data["reason"]
        ),
    )
    extend_trial = form_action(
        name="extend_trial",
        form_class=ExtendTrialForm,
        description="Extend the trial",
        apply=lambda ma, request, obj, data: trial_extend(
            tenant=obj, actor=request.user, days=data["days"], reason=data["reason"]
        ),
    )
    change_plan = form_action(
        name="change_plan",
        form_class=ChangePlanForm,
        description="Change plan (operator's decision, without an invoice)",
        apply=lambda ma, request, obj, data: plan_set(
            tenant=obj, actor=request.user, plan=data["plan"], reason=data["reason"]
        ),
    )
    set_enterprise_terms = form_action(
        name="set_enterprise_terms",
        form_class=EnterpriseTermsForm,
        description="Set Enterprise terms (limits and price)",
        apply=lambda ma, request, obj, data: enterprise_terms_set(
            tenant=obj,
            actor=request.user,
            max_doctors=data["max_doctors"],
            max_patients=data["max_patients"],
            monthly_price_inr=data["monthly_price_inr"],
            reason=data["reason"],
        ),
    )


@admin.register(PlanChange)
class PlanChangeAdmin(ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    platform_permissions = frozenset({"view"})
    list_display = ("changed_at", "from_plan", "to_plan", "changed_by_email", "reason")
    list_filter = ("to_plan",)
    ordering = ("-changed_at",)


# --- the audit log ----------------------------------------------------------------------------


class _AuditLogAdmin(ViewOnlyMixin, ReadOnlyFieldsMixin):
    """What the two audit logs' admins share: newest first, searched and filtered alike,
    linked to by an object's history through FILTERABLE, and never changed (both tables are
    append-only in the database too)."""

    list_filter = ("action", "created_at")
    search_fields = ("action", "actor_email", "=object_id", "reason")
    ordering = ("-created_at",)
    show_full_result_count = False
    FILTERABLE: tuple[str, ...] = ()

    def lookup_allowed(self, lookup, value, request=None):
        if lookup in self.FILTERABLE:
            return True
        return super().lookup_allowed(lookup, value, request)


@admin.register(AuditEvent)
class AuditEventAdmin(_AuditLogAdmin, ClinicOwnedAdmin):
    """Read-only for everybody. Operators see every clinic's events; a clinic's owners and
    admins see that clinic's. The platform's own events (no clinic) are in
    PlatformAuditEventAdmin."""

    platform_permissions = frozenset({"view"})
    # Owners and admins, as the audit API (clinics.audit_api).
    clinic_roles = ADMIN_ROLES
    platform_tenant_filter = False  # a DISTINCT over the whole log; link from the clinic
    list_display = (
        "created_at",
        "action",
        "actor_email",
        "object_type",
        "object_id",
        "patient_id",
        "reason",
        "ip_address",
    )
    # Links from an object's history, a clinic's page and a patient's record filter by these.
    FILTERABLE = ("object_id", "patient_id", "actor_id", "tenant__id__exact", "tenant")


@admin.register(PlatformAuditEvent)
class PlatformAuditEventAdmin(_AuditLogAdmin, admin.ModelAdmin):
    """The platform's own audit events (failed logins of unknown people, sign-ups, operators'
    actions across clinics, catalogue loads): for platform operators only (the clinic-aware
    site makes a plain ModelAdmin platform-only), read-only."""

    list_display = (
        "created_at",
        "action",
        "actor_email",
        "object_type",
        "object_id",
        "reason",
        "ip_address",
    )
    FILTERABLE = ("object_id", "actor_id")


# People, memberships and invitations, and invoices, payments and provider events (each
# registered by importing its module).
from clinics import people_admin as _people_admin  # noqa: E402,F401
from clinics.billing import admin as _billing_admin  # noqa: E402,F401
