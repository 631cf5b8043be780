from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from clinical import printing
from clinical.api.base import (
    CONFLICT_STATE,
    ClinicalViewSet,
    IgnoreAcceptNegotiation,
    audit_read,
    error,
)
from clinical.filters import PrescriptionFilter
from clinical.models import Prescription, PrescriptionPrint
from clinical.selectors import prescriptions_with_details
from clinical.serializers.prescriptions import (
    PrescriptionInputSerializer,
    PrescriptionSerializer,
    PrescriptionStatusSerializer,
    PrescriptionUpdateSerializer,
)
from clinical.services import prescription_create, prescription_transition, prescription_update

APPOINTMENT_TAKEN = error("The appointment already has a prescription.")


@extend_schema(tags=["prescriptions"])
class PrescriptionViewSet(mixins.ListModelMixin, ClinicalViewSet):
    """Prescriptions (RX-YYYYMMDD-NNNN): written by doctors as themselves, read by the
    clinical staff, printable as HTML or PDF. Reads and prints are audited."""

    model = Prescription
    versioned = True
    resource = "prescriptions"
    serializer_class = PrescriptionSerializer
    filterset_class = PrescriptionFilter
    ordering_fields = ["created_at", "visit_date", "status"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def narrow_queryset(self, queryset):
        return prescriptions_with_details(queryset)

    def _answer(self, prescription, status_code=status.HTTP_200_OK):
        prescription = self.get_queryset().get(pk=prescription.pk)
        return Response(PrescriptionSerializer(prescription).data, status=status_code)

    @extend_schema(responses=PrescriptionSerializer(many=True))
    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        audit_read(
            request,
            "prescription.listed",
            details={
                "prescription_ids": [row["id"] for row in response.data["results"]],
                "patient_ids": sorted({row["patient_id"] for row in response.data["results"]}),
            },
        )
        return response

    @extend_schema(responses=PrescriptionSerializer)
    def retrieve(self, request, *args, **kwargs):
        prescription = self.get_object()
        audit_read(
            request, "prescription.viewed", obj=prescription, patient_id=prescription.patient_id
        )
        return Response(PrescriptionSerializer(prescription).data)

    @extend_schema(
        request=PrescriptionInputSerializer,
        responses={201: PrescriptionSerializer, 409: APPOINTMENT_TAKEN},
    )
    def create(self, request, *args, **kwargs):
        """Write a prescription as yourself (a doctor of this clinic): 1-20 items, or the
        items of a short key."""
        data = PrescriptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        prescription = prescription_create(
            tenant=request.tenant, actor=request.user, **data.validated_data
        )
        return self._answer(prescription, status.HTTP_201_CREATED)

    @extend_schema(
        request=PrescriptionUpdateSerializer,
        responses={200: PrescriptionSerializer, 409: CONFLICT_STATE},
    )
    def partial_update(self, request, *args, **kwargs):
        """Edit your own draft or active prescription (`items` replaces the items)."""
        data = PrescriptionUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        prescription = prescription_update(
            tenant=request.tenant,
            actor=request.user,
            prescription=self.get_object(),
            expected_version=self.expected_version(request),
            **data.validated_data,
        )
        return self._answer(prescription)

    @extend_schema(
        request=PrescriptionStatusSerializer,
        responses={200: PrescriptionSerializer, 409: CONFLICT_STATE},
    )
    @action(detail=True, methods=["post"], matrix_action="status", url_path="status")
    def change_status(self, request, pk=None):
        """draft → active → dispensed → completed, cancelled or expired; anything else is
        409 `invalid_transition`."""
        data = PrescriptionStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        prescription = prescription_transition(
            tenant=request.tenant,
            actor=request.user,
            prescription=self.get_object(),
            **data.validated_data,
        )
        return self._answer(prescription)

    def _printable(self, pk):
        # Same 404 as every other lookup: the scoped queryset decides what exists.
        self.get_object()
        return printing.prescription_for_print(tenant=self.request.tenant, pk=pk)

    @extend_schema(
        responses={
            (200, "text/html"): OpenApiResponse(
                OpenApiTypes.STR, description="A printable A4 page (print CSS)."
            )
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="print",
        matrix_action="print",
        content_negotiation_class=IgnoreAcceptNegotiation,
        filter_backends=[],
    )
    def print_html(self, request, pk=None):
        """The prescription as a printable page (letterhead, patient, items, signature);
        the print is recorded."""
        return printing.prescription_document(
            request=request, prescription=self._printable(pk), fmt=PrescriptionPrint.Format.HTML
        )

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The same page as an A4 PDF file."
            )
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        matrix_action="print",
        content_negotiation_class=IgnoreAcceptNegotiation,
        filter_backends=[],
    )
    def pdf(self, request, pk=None):
        """The same page as a PDF file; the print is recorded."""
        return printing.prescription_document(
            request=request, prescription=self._printable(pk), fmt=PrescriptionPrint.Format.PDF
        )
