"""The audited patient documents, one function each: the dental chart and the case summary.

The API (`patients/{id}/dental-chart/`, `…/case-summary/`) and the browser pages
(clinical.views) both call these, the way `clinical.printing.prescription_document` serves
both for prescriptions. Each function checks the role against the clinical permission matrix,
looks the patient up in the clinic in context, builds the document, records the read in the
audit log and answers the document.

They raise what both surfaces already understand: Django's `PermissionDenied` (403) and
`Http404` (404) for the role and the patient, and an `ApplicationError` (400) for a bad date
range, which the API answers as JSON and the pages turn into a 400 page.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse

from clinical import dental_chart as charts
from clinical.models import Patient
from clinical.permissions import role_may
from core.errors import ApplicationError
from tenants.audit import audit_record

DATE_MESSAGE = "Enter a date as YYYY-MM-DD."


def _patient(*, request, patient_id, action: str) -> Patient:
    """The active patient of this id in the request's clinic, for a role the matrix allows."""
    if not role_may("patients", action, request.membership.role):
        raise PermissionDenied("Your role in this clinic does not allow this.")
    try:
        pk = patient_id if isinstance(patient_id, uuid.UUID) else uuid.UUID(str(patient_id))
    except (TypeError, ValueError, AttributeError):
        raise Http404("No such patient.") from None
    patient = Patient.objects.active().filter(pk=pk).first()
    if patient is None:
        # Missing, deleted, or another clinic's: the same answer.
        raise Http404("No such patient.")
    return patient


def dental_chart_read(*, request, patient_id) -> dict:
    """The patient's dental chart as data (clinical.dental_chart.dental_chart), the read
    recorded as `patient.dental_chart_viewed`."""
    patient = _patient(request=request, patient_id=patient_id, action="dental_chart")
    chart = charts.dental_chart(tenant=request.tenant, patient=patient)
    audit_record(
        action="patient.dental_chart_viewed",
        request=request,
        object=patient,
        patient_id=patient.pk,
    )
    return chart


def dental_chart_document(*, request, patient_id) -> HttpResponse:
    """The patient's dental chart as a printable page, the read audited."""
    chart = dental_chart_read(request=request, patient_id=patient_id)
    return charts.chart_response(chart, tenant=request.tenant)


def case_summary_document(
    *, request, patient_id, date_from, date_to, fmt: str, blank_dates: bool = True
) -> HttpResponse:
    """The patient's case summary over `date_from`..`date_to` (YYYY-MM-DD strings, as the
    query string has them) as an HTML page or a PDF, the print recorded as
    `patient.case_summary_printed` with its format and range.

    The page's form sends an empty date for "no bound" (`blank_dates`); the API's schema
    says a date, so it passes `blank_dates=False` and an empty one is a 400 there.
    """
    patient = _patient(request=request, patient_id=patient_id, action="case_summary")
    if not blank_dates:
        empty = [name for name, value in (("from", date_from), ("to", date_to)) if value == ""]
        if empty:
            raise ApplicationError(
                "Some fields are invalid.", field_errors={name: [DATE_MESSAGE] for name in empty}
            )
    start, end = charts.parse_date_range(date_from, date_to)
    summary = charts.case_summary(
        tenant=request.tenant, patient=patient, date_from=start, date_to=end
    )
    audit_record(
        action="patient.case_summary_printed",
        request=request,
        object=patient,
        patient_id=patient.pk,
        details={"format": fmt, "from": str(start or ""), "to": str(end)},
    )
    return charts.case_summary_response(summary, fmt=fmt)
