"""The clinical records' own pages: printable prescriptions, the dental chart and the case
summary, for a browser session of the record's clinic (`accounts.pages.clinic_page`)."""

from __future__ import annotations

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404

from accounts.pages import clinic_page
from clinical import dental_chart as dental_charts
from clinical import printing
from clinical.models import Patient, Prescription, PrescriptionPrint
from clinical.permissions import role_may
from core.errors import ApplicationError
from tenants.audit import audit_record


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


def _dental_patient(request, pk, action: str) -> Patient:
    # The clinical permission matrix decides (receptionists see no clinical records).
    if not role_may("patients", action, request.membership.role):
        raise PermissionDenied("Your role in this clinic does not allow this.")
    patient = Patient.objects.active().filter(pk=pk).first()
    if patient is None:
        # Missing, deleted, or another clinic's: the same answer.
        raise Http404("No such patient.")
    return patient


@clinic_page()
def dental_chart_print(request, pk):
    """The API's printable dental chart, for a browser session of the patient's clinic."""
    patient = _dental_patient(request, pk, "dental_chart")
    chart = dental_charts.dental_chart(tenant=request.tenant, patient=patient)
    audit_record(
        action="patient.dental_chart_viewed", request=request, object=patient, patient_id=pk
    )
    return dental_charts.chart_document(chart, tenant=request.tenant)


def _case_summary(request, pk, fmt: str) -> dict:
    patient = _dental_patient(request, pk, "case_summary")
    try:
        start, end = dental_charts.parse_date_range(request.GET.get("from"), request.GET.get("to"))
    except ApplicationError as exc:
        raise BadRequest(exc.detail) from exc
    audit_record(
        action="patient.case_summary_printed",
        request=request,
        object=patient,
        patient_id=pk,
        details={"format": fmt, "from": str(start or ""), "to": str(end)},
    )
    return dental_charts.case_summary(
        tenant=request.tenant, patient=patient, date_from=start, date_to=end
    )


@clinic_page()
def case_summary_print(request, pk):
    return dental_charts.case_summary_document(_case_summary(request, pk, "html"), fmt="html")


@clinic_page()
def case_summary_pdf(request, pk):
    return dental_charts.case_summary_document(_case_summary(request, pk, "pdf"), fmt="pdf")
