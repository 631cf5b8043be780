"""Printable prescriptions: one template, rendered as HTML (with print CSS) or as a PDF.

Plain functions, so the API (`prescriptions/{id}/print/`, `/pdf/`) and the browser pages
(a session-authenticated print page) share them:

    prescription = printing.prescription_for_print(tenant=tenant, pk=pk)
    html = printing.render_prescription_html(prescription, tenant=tenant)
    pdf = printing.render_prescription_pdf(prescription, tenant=tenant)
    printing.record_print(tenant=tenant, actor=user, prescription=prescription, fmt="pdf",
                          request=request)

The HTML page and the PDF read the same context (the letterhead resolved from the clinic's
print template, the labels in the print's language). The PDF is laid out by
clinical/pdf_documents.py with fpdf2 and HarfBuzz, so every Indian script is shaped (see
docs/printing.md). Every value is escaped by the template engine in the HTML, and the PDF
draws text only, so text typed into a record can never become markup in either.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation

from clinical.models import (
    DentalObservation,
    DentalProcedure,
    DoctorOffice,
    Office,
    Prescription,
    PrescriptionItem,
    PrescriptionPrint,
)
from clinical.print_templates import letterhead, preview_context, template_for, template_language
from clinical.selectors import medicine_lines
from clinical.services.prescriptions import prescription_print_record
from tenants.context import tenant_context
from tenants.models import Tenant

TEMPLATE = "clinical/prescription_print.html"


def prescription_for_print(*, tenant, pk) -> Prescription:
    """The prescription with everything the page shows, in three queries. Raises
    Prescription.DoesNotExist for a missing id or another clinic's."""
    with tenant_context(tenant):
        return (
            Prescription.objects.select_related("patient", "doctor__user", "appointment__office")
            .prefetch_related(
                Prefetch("items", queryset=medicine_lines(PrescriptionItem)),
                Prefetch(
                    "doctor__office_links",
                    queryset=DoctorOffice.objects.select_related("office").filter(
                        office__is_active=True
                    ),
                ),
            )
            .get(pk=pk)
        )


def _letterhead(prescription: Prescription, tenant) -> dict:
    """The letterhead of the print template that applies (the doctor's, else the office's,
    else the clinic's, else the built-in one), for the office where the patient was seen:
    the appointment's office, else the doctor's first office, else the clinic's primary
    office, else the clinic's own details."""
    office = prescription.appointment.office if prescription.appointment else None
    if office is None:
        links = list(prescription.doctor.office_links.all())
        office = links[0].office if links else None
    if office is None:
        office = Office.objects.filter(is_active=True).order_by("-is_primary", "name").first()
    clinic = Tenant.objects.get(pk=getattr(tenant, "pk", tenant))
    template = template_for(doctor=prescription.doctor, office=office)
    return letterhead(template=template, clinic=clinic, office=office, doctor=prescription.doctor)


def print_language(*, patient=None, default: str = "") -> str:
    """The language a print is in: the patient's choice, else the template's (the clinic's
    default), else English."""
    return getattr(patient, "print_language", "") or default or "en"


# A specialization containing one of these is dental: dentistry, dental surgery and the
# "-odontics" (orthodontics, endodontics, periodontics, prosthodontics, pedodontics), oral
# and maxillofacial surgery.
DENTAL_SPECIALIZATION_WORDS = ("dent", "odont", "oral", "maxillofacial")


def is_dental(doctor) -> bool:
    specialization = (doctor.specialization or "").lower()
    return any(word in specialization for word in DENTAL_SPECIALIZATION_WORDS)


def dental_records(prescription: Prescription) -> dict | None:
    """The dental findings and procedures of a dentist's prescription (two queries), or None
    when the prescribing doctor is not dental."""
    if not is_dental(prescription.doctor):
        return None
    return {
        "observations": list(
            DentalObservation.objects.filter(prescription=prescription).order_by(
                "tooth_number", "created_at"
            )
        ),
        "procedures": list(
            DentalProcedure.objects.filter(prescription=prescription)
            .exclude(status=DentalProcedure.Status.CANCELLED)
            .order_by("created_at", "id")
        ),
    }


def print_context(prescription: Prescription, *, tenant, for_pdf: bool = False) -> dict:
    with tenant_context(tenant):
        letterhead = _letterhead(prescription, tenant)
        items = list(prescription.items.all())
        dental = dental_records(prescription)
    patient, doctor = prescription.patient, prescription.doctor
    return {
        "rx": prescription,
        "letterhead": letterhead,
        "show": letterhead["show"],
        "language": print_language(patient=patient, default=letterhead["language"]),
        "patient": patient,
        "patient_age": patient.age_on(prescription.visit_date),
        "doctor": doctor,
        "doctor_name": doctor.user.get_full_name(),
        "items": items,
        "dental": dental,
        "for_pdf": for_pdf,
        "printed_at": timezone.localtime(),
    }


def render_html(template: str, context: dict) -> str:
    """A print page in the print's language."""
    with translation.override(context.get("language") or "en"):
        return render_to_string(template, context)


def render_prescription_html(prescription: Prescription, *, tenant, for_pdf=False) -> str:
    return render_html(TEMPLATE, print_context(prescription, tenant=tenant, for_pdf=for_pdf))


def render_prescription_pdf(prescription: Prescription, *, tenant) -> bytes:
    # Imported here, not at the top: the PDF renderer loads fpdf2 and HarfBuzz, which only a
    # PDF needs (every page, API call and command imports this module).
    from clinical.pdf_documents import prescription_pdf

    context = print_context(prescription, tenant=tenant, for_pdf=True)
    return prescription_pdf(context, language=context["language"])


def render_preview(template, *, tenant, fmt: str) -> bytes | str:
    """A print template applied to sample data, as the HTML page or the PDF."""
    with tenant_context(tenant):
        clinic = Tenant.objects.get(pk=getattr(tenant, "pk", tenant))
        context = preview_context(
            template=template, clinic=clinic, language=template_language(template) or "en"
        )
    if fmt == "pdf":
        # Imported here for the same reason as in render_prescription_pdf: only a PDF needs
        # the renderer.
        from clinical.pdf_documents import prescription_pdf

        return prescription_pdf({**context, "for_pdf": True}, language=context["language"])
    return render_html(TEMPLATE, context)


def pdf_filename(prescription: Prescription) -> str:
    return f"{prescription.prescription_number}.pdf"


def record_print(*, tenant, actor, prescription: Prescription, fmt: str, request=None):
    """Printing is recorded: who, when, which format (print history and audit log)."""
    return prescription_print_record(
        tenant=tenant, actor=actor, prescription=prescription, fmt=fmt, request=request
    )


def document_response(content, *, fmt: str, filename: str = "") -> HttpResponse:
    """A printable document as the answer: an HTML page, or a PDF shown inline."""
    if fmt == "pdf":
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        return response
    return HttpResponse(content, content_type="text/html; charset=utf-8")


def prescription_document(*, request, prescription: Prescription, fmt: str) -> HttpResponse:
    """The prescription printed as HTML or PDF, and the print recorded: the same for the API
    and the browser pages."""
    if fmt == PrescriptionPrint.Format.PDF:
        content = render_prescription_pdf(prescription, tenant=request.tenant)
    else:
        content = render_prescription_html(prescription, tenant=request.tenant)
    record_print(
        tenant=request.tenant,
        actor=request.user,
        prescription=prescription,
        fmt=fmt,
        request=request,
    )
    return document_response(content, fmt=fmt, filename=pdf_filename(prescription))
