"""The base of the clinical viewsets: one permission (the matrix), filters, audit of reads."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework.negotiation import BaseContentNegotiation

from clinic_saas.api import FilterBackend, OrderingFilter
from clinic_saas.schema import ErrorSerializer
from clinical.permissions import ClinicalPermission
from tenants.audit import audit_record
from tenants.viewsets import IsClinicMember, TenantScopedViewSet


class ClinicalViewSet(TenantScopedViewSet):
    """Every clinical viewset: tenant scoping from TenantScopedViewSet, and exactly one
    permission check, the matrix in clinical/permissions.py (`resource` × action × role)."""

    permission_classes = [IsClinicMember, ClinicalPermission]
    filter_backends = [FilterBackend, OrderingFilter]
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


class IgnoreAcceptNegotiation(BaseContentNegotiation):
    """For the print views: they answer HTML or PDF themselves whatever the client accepts
    (a browser, a PDF viewer), and their errors are the API's JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
