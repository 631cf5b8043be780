"""The clinic's offices with their doctors (served at /api/v1/tenants/offices)."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins

from accounts.models import ADMIN_ROLES, Invitation
from accounts.viewsets import ClinicScopedViewSet
from clinical.models import DoctorOffice, Office
from clinical.serializers.offices import OfficeSerializer
from clinical.services import office_create, office_update


@extend_schema(tags=["tenants"])
class OfficeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ClinicScopedViewSet,
):
    """The clinic's offices with their doctors; owners and admins create and edit them."""

    model = Office
    serializer_class = OfficeSerializer
    write_roles = ADMIN_ROLES
    http_method_names = ["get", "post", "patch", "head", "options"]
    filterset_fields = ["is_active", "is_primary"]
    search_fields = ["name", "address"]
    ordering_fields = ["name", "created_at"]

    def narrow_queryset(self, queryset):
        return queryset.prefetch_related(
            Prefetch(
                "doctor_links",
                queryset=DoctorOffice.objects.select_related("doctor__user").prefetch_related(
                    Prefetch("doctor__invitation", queryset=Invitation.objects.all())
                ),
            )
        )

    def perform_create(self, serializer):
        serializer.instance = office_create(tenant=self.request.tenant, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = office_update(
            tenant=self.request.tenant, office=serializer.instance, **serializer.validated_data
        )
