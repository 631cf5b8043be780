"""The patients API: registration, search, families sharing a mobile number, and one
patient's dental chart and case summary (clinical.documents, shared with the pages)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from clinical.api.base import ClinicalViewSet, IgnoreAcceptNegotiation, audit_read
from clinical.documents import case_summary_document, dental_chart_document, dental_chart_read
from clinical.filters import PatientFilter
from clinical.models import Patient
from clinical.models.patients import MAX_FAMILY_SIZE
from clinical.selectors import family_members
from clinical.serializers.dental import DentalChartSerializer
from clinical.serializers.patients import (
    FamilyMemberInputSerializer,
    FamilySerializer,
    PatientInputSerializer,
    PatientSerializer,
)
from clinical.services import patient_create, patient_delete, patient_update
from clinical.services.patients import normalize_mobile

DATE_RANGE = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (default: all)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (default: today)."),
]
HTML_PAGE = {(200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="A printable page.")}
PRINT_VIEW = {
    "detail": True,
    "methods": ["get"],
    "content_negotiation_class": IgnoreAcceptNegotiation,
    "filter_backends": [],
}
MOBILE_PARAMETER = OpenApiParameter(
    "mobile", OpenApiTypes.STR, OpenApiParameter.PATH, description="The family's mobile number."
)


@extend_schema(tags=["patients"])
class PatientViewSet(mixins.ListModelMixin, ClinicalViewSet):
    """Patients, families sharing a mobile number, search by name or mobile prefix. Every
    read is recorded in the audit log."""

    model = Patient
    versioned = True
    resource = "patients"
    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    ordering_fields = ["first_name", "last_name", "created_at", "date_of_birth"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def narrow_queryset(self, queryset):
        # Soft-deleted patients leave every list and lookup (their history stays).
        return queryset.active()

    @extend_schema(responses=PatientSerializer(many=True))
    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        audit_read(
            request,
            "patient.listed",
            details={
                "patient_ids": [row["id"] for row in response.data["results"]],
                "search": request.query_params.get("search", "")[:100],
            },
        )
        return response

    @extend_schema(responses=PatientSerializer)
    def retrieve(self, request, *args, **kwargs):
        patient = self.get_object()
        audit_read(request, "patient.viewed", obj=patient, patient_id=patient.pk)
        return Response(PatientSerializer(patient).data)

    @extend_schema(request=PatientInputSerializer, responses={201: PatientSerializer})
    def create(self, request, *args, **kwargs):
        """Register a patient (within the plan's patient limit). The first patient of a
        mobile number is its family's primary member (`self`); later ones need their
        `relationship_to_primary`."""
        data = PatientInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = patient_create(tenant=request.tenant, actor=request.user, **data.validated_data)
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PatientInputSerializer, responses=PatientSerializer)
    def partial_update(self, request, *args, **kwargs):
        data = PatientInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        patient = patient_update(
            tenant=request.tenant,
            actor=request.user,
            patient=self.get_object(),
            expected_version=self.expected_version(request),
            **data.validated_data,
        )
        return Response(PatientSerializer(patient).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Soft delete (owner, admin): the record leaves lists, its history stays, its
        upcoming appointments are cancelled."""
        patient_delete(tenant=request.tenant, actor=request.user, patient=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _family(self, request, mobile):
        members = list(family_members(mobile))
        audit_read(
            request,
            "patient.family_viewed",
            details={"mobile": mobile, "patient_ids": [str(p.pk) for p in members]},
        )
        body = {
            "mobile_number": mobile,
            "count": len(members),
            "limit": MAX_FAMILY_SIZE,
            "members": members,
        }
        return FamilySerializer(body).data

    @extend_schema(
        methods=["GET"],
        parameters=[MOBILE_PARAMETER],
        responses=FamilySerializer,
        summary="A family: the patients sharing this mobile number, the primary first.",
    )
    @extend_schema(
        methods=["POST"],
        parameters=[MOBILE_PARAMETER],
        request=FamilyMemberInputSerializer,
        responses={201: FamilySerializer},
        summary="Add a member to the family of this mobile number.",
    )
    @action(
        detail=False,
        methods=["get", "post"],
        url_path=r"families/(?P<mobile>[^/]+)",
        matrix_action={"GET": "read", "POST": "create"},
    )
    def family(self, request, mobile=None):
        mobile = normalize_mobile(mobile, field="mobile")
        if request.method == "POST":
            data = FamilyMemberInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            patient_create(
                tenant=request.tenant, actor=request.user, mobile=mobile, **data.validated_data
            )
            return Response(self._family(request, mobile), status=status.HTTP_201_CREATED)
        return Response(self._family(request, mobile))

    # --- dental records of one patient ---------------------------------------------------

    @extend_schema(responses=DentalChartSerializer, filters=False)
    @action(
        detail=True,
        methods=["get"],
        url_path="dental-chart",
        matrix_action="dental_chart",
        filter_backends=[],
    )
    def dental_chart(self, request, pk=None):
        """Every tooth (FDI, permanent and primary) with its latest finding and its open and
        completed procedures, in one response (a constant number of queries)."""
        chart = dental_chart_read(request=request, patient_id=pk)
        return Response(DentalChartSerializer(chart).data)

    @extend_schema(responses=HTML_PAGE, filters=False)
    @action(url_path="dental-chart/print", matrix_action="dental_chart", **PRINT_VIEW)
    def dental_chart_print(self, request, pk=None):
        """The chart as a printable page: a tooth grid coloured by condition, the findings
        and the treatment plan."""
        return dental_chart_document(request=request, patient_id=pk)

    def _summary(self, request, pk, fmt: str):
        return case_summary_document(
            request=request,
            patient_id=pk,
            date_from=request.query_params.get("from"),
            date_to=request.query_params.get("to"),
            fmt=fmt,
            # The API's schema says a date: an empty one is a 400 (leave it out instead).
            blank_dates=False,
        )

    @extend_schema(parameters=DATE_RANGE, responses=HTML_PAGE, filters=False)
    @action(url_path="case-summary", matrix_action="case_summary", **PRINT_VIEW)
    def case_summary(self, request, pk=None):
        """A printable treatment summary over `?from=&to=` (YYYY-MM-DD): findings,
        procedures, prescriptions and attachments, for referrals and insurance."""
        return self._summary(request, pk, "html")

    @extend_schema(
        parameters=DATE_RANGE,
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The case summary as an A4 PDF file."
            )
        },
        filters=False,
    )
    @action(url_path="case-summary/pdf", matrix_action="case_summary", **PRINT_VIEW)
    def case_summary_pdf(self, request, pk=None):
        """The same summary as a PDF file."""
        return self._summary(request, pk, "pdf")
