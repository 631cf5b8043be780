"""GET /api/v1/audit/: the clinic's audit log, for its owner.

Logins and failed logins, membership and role changes, plan changes, platform access to the
clinic (with the operator's stated reason), reads, prints and exports of patient records.
Filterable by patient, actor, action and date; newest first; paginated.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from accounts.models import ADMIN_ROLES
from accounts.viewsets import ClinicScopedViewSet
from clinics.serializers import AuditEventSerializer
from core import fields
from tenants.models import AuditEvent


def _start_of(day) -> datetime:
    # A date means a day in the clinic's time zone, not in UTC.
    return timezone.make_aware(datetime.combine(day, time.min))


class AuditFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "Must not be before date_from.")
        return data


class AuditEventFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(
        field_name="patient_id", help_text="Events about this patient."
    )
    actor = django_filters.UUIDFilter(field_name="actor_id", help_text="Events by this person.")
    actor_email = django_filters.CharFilter(
        field_name="actor_email", lookup_expr="iexact", help_text="Events by this e-mail."
    )
    action = django_filters.CharFilter(
        method="filter_action",
        help_text="An action (`auth.login`), or a family of them ending with a dot (`patient.`).",
    )
    object_type = django_filters.CharFilter(help_text="e.g. `clinical.Patient`.")
    object_id = django_filters.CharFilter()
    date_from = fields.DateFilter(
        method="filter_date_from", help_text="From this day (inclusive, clinic time)."
    )
    date_to = fields.DateFilter(
        method="filter_date_to", help_text="Up to this day (inclusive, clinic time)."
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []
        form = AuditFilterForm

    def filter_action(self, queryset, name, value):
        if value.endswith("."):
            return queryset.filter(action__startswith=value)
        return queryset.filter(action=value)

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=_start_of(value))

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(created_at__lt=_start_of(value + timedelta(days=1)))


@extend_schema_view(
    list=extend_schema(summary="The clinic's audit log (owner only)", tags=["audit"]),
    retrieve=extend_schema(summary="One audit event", tags=["audit"]),
)
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClinicScopedViewSet):
    """Who did what in this clinic, and when: append-only, newest first. Only the owner
    reads it; events of other clinics and of the platform itself are never visible."""

    model = AuditEvent
    serializer_class = AuditEventSerializer
    # Owners and admins, in the API and the admin alike (issue 15: the audit log is theirs).
    read_roles = ADMIN_ROLES
    # A read-only log of what happened: reading it must work when the clinic is read-only.
    allow_when_inactive = True
    filterset_class = AuditEventFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]
    http_method_names = ["get", "head", "options"]
