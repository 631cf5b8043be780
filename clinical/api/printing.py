"""Print templates: the clinic's letterheads. Everyone in the clinic reads them (they hold
no patient data); owners and admins write them. `…/preview/` shows a template with sample
data, as HTML or (`?format=pdf`) as the PDF; `…/logo/` and `…/signature/` serve the images
to members of the clinic only."""

from __future__ import annotations

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from clinical.api.base import ClinicalViewSet, IgnoreAcceptNegotiation
from clinical.models import PrintTemplate
from clinical.printing import document_response, render_preview
from clinical.serializers.printing import PrintTemplateInputSerializer, PrintTemplateSerializer
from clinical.services.printing import (
    print_template_create,
    print_template_delete,
    print_template_update,
)
from core.errors import ApplicationError

BINARY = OpenApiResponse(OpenApiTypes.BINARY, description="The image (JPEG or PNG).")


@extend_schema(tags=["printing"])
class PrintTemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClinicalViewSet):
    model = PrintTemplate
    resource = "print_templates"
    serializer_class = PrintTemplateSerializer
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def narrow_queryset(self, queryset):
        return queryset.order_by("name", "id")

    @extend_schema(
        request={
            "multipart/form-data": PrintTemplateInputSerializer,
            "application/json": PrintTemplateInputSerializer,
        },
        responses={201: PrintTemplateSerializer},
    )
    def create(self, request, *args, **kwargs):
        """A template for the clinic, or (`office_id` / `doctor_id`) for one office or one
        doctor; 409 `print_template_exists` when that scope has one already."""
        data = PrintTemplateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields.pop("remove_logo", None)
        fields.pop("remove_signature", None)
        template = print_template_create(tenant=request.tenant, actor=request.user, **fields)
        return Response(self.get_serializer(template).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={
            "multipart/form-data": PrintTemplateInputSerializer,
            "application/json": PrintTemplateInputSerializer,
        },
        responses=PrintTemplateSerializer,
    )
    def partial_update(self, request, *args, **kwargs):
        """Change fields; send `logo` / `signature` to replace an image, `remove_logo` /
        `remove_signature` to drop one. The scope (clinic, office, doctor) does not change."""
        template = self.get_object()
        data = PrintTemplateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if "office_id" in changes or "doctor_id" in changes:
            raise ApplicationError(
                "A template's scope cannot change; create one for the other scope.",
                code="invalid_scope",
            )
        template = print_template_update(
            tenant=request.tenant, actor=request.user, template=template, **changes
        )
        return Response(self.get_serializer(template).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Delete; prints fall back to the next template (office, clinic, built-in)."""
        print_template_delete(tenant=request.tenant, actor=request.user, template=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=["html", "pdf"], description="Default html.")
        ],
        responses={
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR),
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
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
    def preview(self, request, pk=None):
        """The template applied to a sample prescription (no patient record is read)."""
        template = self.get_object()
        fmt = request.query_params.get("format", "html")
        if fmt not in ("html", "pdf"):
            raise ApplicationError("format is html or pdf.", code="invalid", field_errors={
                "format": ["Choose html or pdf."]})  # fmt: skip
        content = render_preview(template, tenant=request.tenant, fmt=fmt)
        return document_response(content, fmt=fmt, filename=f"preview-{template.pk}.pdf")

    def _image(self, field: str):
        template = self.get_object()
        image = getattr(template, field)
        if not image.name:
            raise Http404(f"This template has no {field}.")
        try:
            handle = image.storage.open(image.name, "rb")
        except (FileNotFoundError, OSError) as exc:
            raise Http404("The file is missing from storage.") from exc
        response = FileResponse(handle, content_type=getattr(template, f"{field}_content_type"))
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(responses={(200, "image/png"): BINARY}, filters=False)
    @action(
        detail=True,
        methods=["get"],
        matrix_action="read",
        content_negotiation_class=IgnoreAcceptNegotiation,
        filter_backends=[],
        url_name="logo",
    )
    def logo(self, request, pk=None):
        """The logo (members of the template's clinic only; another clinic's id is a 404)."""
        return self._image("logo")

    @extend_schema(responses={(200, "image/png"): BINARY}, filters=False)
    @action(
        detail=True,
        methods=["get"],
        matrix_action="read",
        content_negotiation_class=IgnoreAcceptNegotiation,
        filter_backends=[],
        url_name="signature",
    )
    def signature(self, request, pk=None):
        """The signature image (members of the template's clinic only)."""
        return self._image("signature")
