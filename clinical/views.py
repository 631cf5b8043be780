"""The clinical records' own pages: printable prescriptions, the dental chart and the case
summary, for a browser session of the record's clinic (`accounts.pages.clinic_page`). The
documents themselves, with their permission check and audit record, are the API's too
(clinical.printing, clinical.documents)."""

from __future__ import annotations

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404

from accounts.pages import clinic_page
from clinical import documents, printing
from clinical.models import Prescription, PrescriptionPrint
from clinical.permissions import role_may
from core.errors import ApplicationError


def _printable(request, pk) -> Prescription:
    # The clinical permission matrix decides (receptionists see no prescriptions).
    if not role_may("prescriptions", "print", request.membership.role):
        raise PermissionDenied("Your role in this clinic does not allow this.")
    try:
        return printing.prescription_for_print(tenant=request.tenant, pk=pk)
    except Prescription.DoesNotExist as exc:
        # Missing, or another clinic's: the same answer.
        raise Http404("No such prescription.") from exc


@clinic_page()
def prescription_print(request, pk):
    """The clinical API's print page, for a browser session of the prescription's clinic."""
    return printing.prescription_document(
        request=request, prescription=_printable(request, pk), fmt=PrescriptionPrint.Format.HTML
    )


@clinic_page()
def prescription_pdf(request, pk):
    return printing.prescription_document(
        request=request, prescription=_printable(request, pk), fmt=PrescriptionPrint.Format.PDF
    )


@clinic_page()
def dental_chart_print(request, pk):
    """The API's printable dental chart, for a browser session of the patient's clinic."""
    return documents.dental_chart_document(request=request, patient_id=pk)


def _case_summary(request, pk, fmt: str):
    try:
        return documents.case_summary_document(
            request=request,
            patient_id=pk,
            date_from=request.GET.get("from"),
            date_to=request.GET.get("to"),
            fmt=fmt,
        )
    except ApplicationError as exc:
        # A bad date range: the page's answer is a 400 page, not the API's JSON.
        raise BadRequest(exc.detail) from exc


@clinic_page()
def case_summary_print(request, pk):
    return _case_summary(request, pk, "html")


@clinic_page()
def case_summary_pdf(request, pk):
    return _case_summary(request, pk, "pdf")
