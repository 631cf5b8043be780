"""Dental records: observations, procedures and attachments (the observation templates are
clinical.api.dental_templates).

The dental chart and the case summary of a patient are actions of the patients' viewset
(clinical.api.patients); they read through clinical.dental_chart.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from clinical.api.base import (
    CONFLICT_STATE,
    ClinicalViewSet,
    IgnoreAcceptNegotiation,
    audit_read,
    error,
)
from clinical.filters import (
    DentalAttachmentFilter,
    DentalObservationFilter,
    DentalProcedureFilter,
)
from clinical.models import (
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
)
from clinical.serializers.dental import (
    DentalAttachmentInputSerializer,
    DentalAttachmentSerializer,
    DentalObservationInputSerializer,
    DentalObservationSerializer,
    DentalObservationUpdateSerializer,
    DentalProcedureInputSerializer,
    DentalProcedureSerializer,
    DentalProcedureStatusSerializer,
    DentalProcedureUpdateSerializer,
)
from clinical.services import (
    dental_attachment_create,
    dental_attachment_delete,
    dental_observation_create,
    dental_observation_delete,
    dental_observation_update,
    dental_procedure_create,
    dental_procedure_delete,
    dental_procedure_transition,
    dental_procedure_update,
)
from clinical.services.dental import dental_attachment_record_download
from core.api import FormParser, JSONParser, MultiPartParser

FILE_TOO_LARGE = error("The file is over the size limit (`file_too_large`).")


def _attachments() -> Prefetch:
    return Prefetch("attachments", queryset=DentalAttachment.objects.order_by("created_at"))


class _RecordViewSet(mixins.ListModelMixin, ClinicalViewSet):
    """Shared by observations and procedures: reads audited with their patients."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    audit_name = ""

    def narrow_queryset(self, queryset):
        return queryset.prefetch_related(_attachments())

    def _answer(self, row, status_code=status.HTTP_200_OK):
        row = self.get_queryset().get(pk=row.pk)
        data = self.serializer_class(row, context=self.get_serializer_context()).data
        return Response(data, status=status_code)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        rows = response.data["results"]
        audit_read(
            request,
            f"{self.audit_name}.listed",
            details={
                "ids": [row["id"] for row in rows],
                "patient_ids": sorted({row["patient_id"] for row in rows}),
            },
        )
        return response

    def retrieve(self, request, *args, **kwargs):
        row = self.get_object()
        audit_read(request, f"{self.audit_name}.viewed", obj=row, patient_id=row.patient_id)
        return Response(self.serializer_class(row, context=self.get_serializer_context()).data)


@extend_schema(tags=["dental"])
class DentalObservationViewSet(_RecordViewSet):
    """Findings per tooth (FDI notation), written by the clinic's doctors. A prescription
    written for the observation's appointment links the open ones to it."""

    model = DentalObservation
    versioned = True
    resource = "dental_observations"
    audit_name = "dental_observation"
    serializer_class = DentalObservationSerializer
    filterset_class = DentalObservationFilter
    ordering_fields = ["observed_on", "created_at", "tooth_number"]

    @extend_schema(responses=DentalObservationSerializer(many=True))
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=DentalObservationSerializer)
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=DentalObservationInputSerializer, responses={201: DentalObservationSerializer}
    )
    def create(self, request, *args, **kwargs):
        """Record a finding as yourself (a doctor of this clinic)."""
        data = DentalObservationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        observation = dental_observation_create(
            tenant=request.tenant, actor=request.user, **data.validated_data
        )
        return self._answer(observation, status.HTTP_201_CREATED)

    @extend_schema(request=DentalObservationUpdateSerializer, responses=DentalObservationSerializer)
    def partial_update(self, request, *args, **kwargs):
        data = DentalObservationUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        observation = dental_observation_update(
            tenant=request.tenant,
            actor=request.user,
            observation=self.get_object(),
            expected_version=self.expected_version(request),
            **data.validated_data,
        )
        return self._answer(observation)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Delete a finding recorded by mistake, with its attachments and their files."""
        dental_observation_delete(
            tenant=request.tenant, actor=request.user, observation=self.get_object()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["dental"])
class DentalProcedureViewSet(_RecordViewSet):
    """Treatments with their CDT-style code, teeth, costs (₹) and status: planned →
    in_progress → completed, or cancelled."""

    model = DentalProcedure
    versioned = True
    resource = "dental_procedures"
    audit_name = "dental_procedure"
    serializer_class = DentalProcedureSerializer
    filterset_class = DentalProcedureFilter
    ordering_fields = ["created_at", "planned_date", "status"]

    @extend_schema(responses=DentalProcedureSerializer(many=True))
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=DentalProcedureSerializer)
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=DentalProcedureInputSerializer, responses={201: DentalProcedureSerializer}
    )
    def create(self, request, *args, **kwargs):
        """Plan a procedure as yourself (a doctor of this clinic)."""
        data = DentalProcedureInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        procedure = dental_procedure_create(
            tenant=request.tenant, actor=request.user, **data.validated_data
        )
        return self._answer(procedure, status.HTTP_201_CREATED)

    @extend_schema(
        request=DentalProcedureUpdateSerializer,
        responses={200: DentalProcedureSerializer, 409: CONFLICT_STATE},
    )
    def partial_update(self, request, *args, **kwargs):
        """Change a planned or running procedure (a closed one: notes and actual cost)."""
        data = DentalProcedureUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        procedure = dental_procedure_update(
            tenant=request.tenant,
            actor=request.user,
            procedure=self.get_object(),
            expected_version=self.expected_version(request),
            **data.validated_data,
        )
        return self._answer(procedure)

    @extend_schema(
        request=DentalProcedureStatusSerializer,
        responses={200: DentalProcedureSerializer, 409: CONFLICT_STATE},
    )
    @action(detail=True, methods=["post"], matrix_action="status", url_path="status")
    def change_status(self, request, pk=None):
        """planned → in_progress → completed, or cancelled; anything else is 409
        `invalid_transition`."""
        data = DentalProcedureStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        procedure = dental_procedure_transition(
            tenant=request.tenant,
            actor=request.user,
            procedure=self.get_object(),
            **data.validated_data,
        )
        return self._answer(procedure)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Delete a procedure recorded by mistake, with its attachments and their files."""
        dental_procedure_delete(
            tenant=request.tenant, actor=request.user, procedure=self.get_object()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["dental"])
class DentalAttachmentViewSet(mixins.ListModelMixin, ClinicalViewSet):
    """X-rays, photos and documents of an observation or a procedure. Uploaded as
    multipart; downloaded only through `…/download/` by members of the clinic."""

    model = DentalAttachment
    resource = "dental_attachments"
    serializer_class = DentalAttachmentSerializer
    filterset_class = DentalAttachmentFilter
    ordering_fields = ["created_at"]
    http_method_names = ["get", "post", "delete", "head", "options"]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=DentalAttachmentSerializer(many=True))
    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        rows = response.data["results"]
        audit_read(
            request,
            "dental_attachment.listed",
            details={
                "ids": [row["id"] for row in rows],
                "patient_ids": sorted({row["patient_id"] for row in rows}),
            },
        )
        return response

    @extend_schema(responses=DentalAttachmentSerializer)
    def retrieve(self, request, *args, **kwargs):
        attachment = self.get_object()
        audit_read(
            request, "dental_attachment.viewed", obj=attachment, patient_id=attachment.patient_id
        )
        return Response(self.get_serializer(attachment).data)

    @extend_schema(
        request={"multipart/form-data": DentalAttachmentInputSerializer},
        responses={201: DentalAttachmentSerializer, 413: FILE_TOO_LARGE},
    )
    def create(self, request, *args, **kwargs):
        """Upload a JPEG, PNG or PDF (checked from its content, not its name) for one
        observation (`observation_id`) or one procedure (`procedure_id`)."""
        data = DentalAttachmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = dental_attachment_create(
            tenant=request.tenant, actor=request.user, **data.validated_data
        )
        return Response(self.get_serializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Delete the attachment; its file goes once the deletion has committed."""
        dental_attachment_delete(
            tenant=request.tenant, actor=request.user, attachment=self.get_object()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, with its sniffed content type."
            )
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        matrix_action="read",
        content_negotiation_class=IgnoreAcceptNegotiation,
        filter_backends=[],
    )
    def download(self, request, pk=None):
        """The stored file (members of the attachment's clinic only; another clinic's id
        is a 404). Every download is recorded."""
        attachment = self.get_object()
        storage = attachment.file.storage
        try:
            handle = storage.open(attachment.file.name, "rb")
        except (FileNotFoundError, OSError) as exc:
            raise Http404("The file is missing from storage.") from exc
        dental_attachment_record_download(
            tenant=request.tenant, attachment=attachment, request=request
        )
        extension = DentalAttachment.EXTENSIONS.get(attachment.content_type, "")
        response = FileResponse(
            handle,
            content_type=attachment.content_type,
            as_attachment=attachment.content_type == "application/pdf",
            filename=f"{attachment.file_type}-{attachment.pk}{extension}",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response
