"""Reads about clinics: usage against the plan's limits, trial status."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from accounts.models import Membership
from clinical.models import Doctor, Patient, Prescription
from tenants.context import tenant_context
from tenants.models import Tenant


def clinic_counts(tenant: Tenant) -> dict[str, int]:
    with tenant_context(tenant):
        return {
            "doctors": Doctor.objects.filter(is_active=True).count(),
            "patients": Patient.objects.active().count(),
            "users": Membership.objects.filter(is_active=True).count(),
        }


def _usage(current: int, maximum: int | None, writable: bool) -> dict:
    return {
        "current": current,
        "max": maximum,
        "can_add": writable and (maximum is None or current < maximum),
    }


def trial_status(tenant: Tenant) -> dict:
    days_left = None
    if tenant.is_trial and tenant.trial_ends_at:
        days_left = max(0, (tenant.trial_ends_at - timezone.now()).days)
    return {
        "is_trial": tenant.is_trial,
        "trial_ends_at": tenant.trial_ends_at,
        "days_left": days_left,
        "is_expired": tenant.trial_expired or tenant.status == Tenant.Status.EXPIRED,
    }


def clinic_limits(tenant: Tenant) -> dict:
    counts = clinic_counts(tenant)
    writable = tenant.is_writable
    return {
        "plan": tenant.plan,
        "plan_name": tenant.plan_info.name,
        "status": tenant.status,
        "is_writable": writable,
        "doctors": _usage(counts["doctors"], tenant.max_doctors, writable),
        "patients": _usage(counts["patients"], tenant.max_patients, writable),
        "users": _usage(counts["users"], None, writable),
        **trial_status(tenant),
    }


def _weekly_counts(queryset, field: str, since: datetime) -> dict:
    rows = (
        queryset.filter(**{f"{field}__gte": since})
        .annotate(week=TruncWeek(field))
        .values("week")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("week", "n")
    )
    return {timezone.localtime(week).date(): n for week, n in rows}


def clinic_weekly_activity(tenant: Tenant, *, weeks: int = 12, now=None) -> list[dict]:
    """New patients and prescriptions per week for the last `weeks` weeks, oldest first.

    Weeks start on Monday in the site's time zone; the current week counts so far. One
    grouped query per series, so the cost does not grow with the clinic's history.
    """

    today = timezone.localtime(now or timezone.now()).date()
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    since = timezone.make_aware(datetime.combine(first, time.min))
    with tenant_context(tenant):
        patients = _weekly_counts(Patient.objects.all(), "created_at", since)
        prescriptions = _weekly_counts(Prescription.objects.all(), "created_at", since)
    starts = [first + timedelta(weeks=n) for n in range(weeks)]
    return [
        {
            "week_start": start,
            "patients": patients.get(start, 0),
            "prescriptions": prescriptions.get(start, 0),
        }
        for start in starts
    ]


def _count_per_clinic(model, **filters):
    """A correlated COUNT of the model's rows of each clinic (one index scan per clinic row)."""
    rows = (
        model.objects.filter(tenant_id=OuterRef("pk"), **filters)
        .order_by()
        .values("tenant_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def clinics_with_usage(queryset=None):
    """Clinics annotated with `doctor_count`, `patient_count` and `user_count`, counted the
    same way as `clinic_counts()`. Meant for platform_access (the clinics list of the admin
    and `manage.py tenants`): one query whatever the number of clinics."""

    queryset = Tenant.objects.all() if queryset is None else queryset
    return queryset.annotate(
        doctor_count=_count_per_clinic(Doctor, is_active=True),
        patient_count=_count_per_clinic(Patient, deleted_at__isnull=True),
        user_count=_count_per_clinic(Membership, is_active=True),
    )
