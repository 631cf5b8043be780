"""The base of the clinical viewsets: one permission (the matrix), filters, audit of reads."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework.negotiation import BaseContentNegotiation

from accounts.viewsets import ClinicScopedViewSet
from clinical.permissions import ClinicalPermission
from clinical.versions import etag, row_version, versions_from_if_match
from core.api import FilterBackend, OrderingFilter
from core.schema import ErrorSerializer
from tenants.audit import audit_record


class ClinicalViewSet(ClinicScopedViewSet):
    """Every clinical viewset: tenant scoping from ClinicScopedViewSet, and exactly one
    permission check, the matrix in clinical/permissions.py (`resource` × action × role)."""

    permission_classes = [ClinicalPermission]
    filter_backends = [FilterBackend, OrderingFilter]
    resource: str = ""
    # Set on custom @action()s: the matrix action they are (a name or {METHOD: name}).
    matrix_action = None
    # Clinical records edited by several people (clinical.versions): every answer about one
    # record carries its version as a strong ETag, and PATCH honours If-Match.
    versioned = False

    def expected_version(self, request):
        """The versions If-Match accepts (None: the client sent no precondition)."""
        return versions_from_if_match(request.headers.get("If-Match"))

    def finalize_response(self, request, response, *args, **kwargs):
        data = getattr(response, "data", None)
        if (
            self.versioned
            and response.status_code in (200, 201)
            and isinstance(data, dict)
            and "id" in data
        ):
            version = row_version(self.model, data["id"])
            if version is not None:
                response["ETag"] = etag(version)
        return super().finalize_response(request, response, *args, **kwargs)


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
