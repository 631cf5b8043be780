"""The base of the clinical viewsets: one permission (the matrix), filters, audit of reads."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse
from rest_framework import renderers
from rest_framework.filters import OrderingFilter

from clinic_saas.schema import ErrorSerializer
from clinical.permissions import ClinicalPermission
from tenants.audit import audit_record
from tenants.viewsets import IsClinicMember, TenantScopedViewSet


class ClinicalViewSet(TenantScopedViewSet):
    """Every clinical viewset: tenant scoping from TenantScopedViewSet, and exactly one
    permission check, the matrix in clinical/permissions.py (`resource` × action × role)."""

    permission_classes = [IsClinicMember, ClinicalPermission]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    resource: str = ""
    # Set on custom @action()s: the matrix action they are (a name or {METHOD: name}).
    matrix_action = None


def audit_read(request, action: str, *, obj=None, patient_id=None, details=None) -> None:
    """Reads of patient records are audited: who (from the request), which patient, what."""
    audit_record(action=action, request=request, object=obj, patient_id=patient_id, details=details)


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


CONFLICT_STATE = error(
    "The record's state does not allow this (`invalid_transition`, `not_editable`)."
)


class PassthroughRenderer(renderers.BaseRenderer):
    """Lets a print view answer its own bytes; an error body is still JSON."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | str):
            return data
        return renderers.JSONRenderer().render(data)


class PDFRenderer(PassthroughRenderer):
    media_type = "application/pdf"
    format = "pdf"


class HTMLRenderer(PassthroughRenderer):
    media_type = "text/html"
    format = "html"
