"""URLs of the HTTP benchmark: the bare comparison view, then every URL of the project.

The bare view comes first so that resolving it costs one pattern; the API's own URL then
tries that one pattern more than in production, which can only make the API look slower.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET

from clinic_saas.urls import handler400, handler403, handler404, handler500  # noqa: F401
from clinic_saas.urls import urlpatterns as project_urlpatterns

API_PATH = "/api/v1/patients/"
PAGE_SIZE = 20


def _patient_rows(page) -> list[dict]:
    # The rows as the API's serializer renders them (PatientSerializer builds them directly,
    # without DRF's field machinery), so the bare view answers the same bytes.
    from clinical.serializers.patients import PatientSerializer

    render = PatientSerializer().to_representation
    return [render(patient) for patient in page]


def _json(data: dict) -> HttpResponse:
    # The bytes DRF's JSONRenderer writes (compact, UTF-8): rendering is not what the
    # comparison measures, so both sides share it.
    from rest_framework.renderers import JSONRenderer

    return HttpResponse(JSONRenderer().render(data), content_type="application/json")


@require_GET
@transaction.non_atomic_requests
def bare_patient_list(request, tenant_id, user_id, email):
    """The first page of a clinic's patients with no DRF and no JWT: the clinic and the person
    come from the URL. The transaction is the API's: tenant_context() opens it (hence
    non_atomic_requests, or it would be a savepoint inside ATOMIC_REQUESTS' transaction), the
    backend sends the context with its first query, and the same count, page query and audit
    insert run inside it as the runtime role under row-level security."""
    from accounts.models import User
    from clinical.models import Patient
    from tenants.audit import audit_record
    from tenants.context import tenant_context

    # Not saved, never read: it only names the actor of the audit entry, as request.user
    # does in the API.
    actor = User(id=user_id, email=email)
    with tenant_context(tenant_id, user=user_id):
        queryset = Patient.objects.active()
        count = queryset.count()
        # Django's paginator slices to the rows that exist and skips the query when none do.
        page = list(queryset[: min(PAGE_SIZE, count)]) if count else []
        results = _patient_rows(page)
        # The API's audit_read() with the same arguments: the same INSERT, the same row.
        audit_record(
            action="patient.listed",
            actor=actor,
            request=request,
            details={"patient_ids": [row["id"] for row in results], "search": ""},
        )
    next_link = request.build_absolute_uri(API_PATH) + "?page=2" if count > PAGE_SIZE else None
    return _json({"count": count, "next": next_link, "previous": None, "results": results})


urlpatterns = [
    path(
        "bench/bare/<uuid:tenant_id>/<uuid:user_id>/<str:email>/",
        bare_patient_list,
        name="bench-bare-patients",
    ),
    *project_urlpatterns,
]
