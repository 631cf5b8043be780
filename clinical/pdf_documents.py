"""The PDF layouts: the prescription and the dental case summary, drawn with `clinical.pdf`.

They read the same context as the HTML print pages (clinical/printing.py,
clinical/dental_chart.py), including the resolved print template (`letterhead`: paper,
margins, header, doctor block, footer, sections), and take their labels from Django's
translations in the print's language.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from clinical.formats import format_date, format_datetime, format_inr
from clinical.pdf import ACCENT, MUTED, Document


def _gender(patient) -> str:
    gender = patient.get_gender_display()
    return _(gender) if gender else "—"


def _document(letterhead: dict, *, title: str, language: str, footer: str) -> Document:
    return Document(
        paper=letterhead.get("paper", "a4"),
        orientation=letterhead.get("orientation", "portrait"),
        margins_mm=tuple(letterhead.get("margins_mm", (16, 14, 18, 14))),
        title=title,
        language=language,
        footer_text=footer,
    )


def _header(doc: Document, letterhead: dict, *, doctor_block: bool) -> None:
    """The clinic's letterhead: logo on the left, name, address and numbers beside it, and
    the doctor's block on the right when the template shows it."""
    top = doc.get_y()
    left = doc.l_margin
    text_x = left
    logo = letterhead.get("logo")
    if logo:
        doc.image_bytes(logo, x=left, y=top, width=20, height=18)
        text_x = left + 22
    width = doc.w - doc.r_margin - text_x
    if doctor_block and letterhead.get("doctor_name"):
        width = width * 0.58
    doc.set_xy(text_x, top)
    title = doc.prepare(letterhead.get("title", ""))
    doc.use(title, bold=True, size=16, colour=ACCENT)
    doc.multi_cell(width, 7, title, new_x="LEFT", new_y="NEXT")
    lines = [
        letterhead.get("subtitle", ""),
        letterhead.get("address", ""),
        " · ".join(
            part
            for part in (
                f"{_('Phone')}: {letterhead['phone']}" if letterhead.get("phone") else "",
                letterhead.get("email", ""),
            )
            if part
        ),
        f"{_('Reg./GST No.')}: {letterhead['registration_number']}"
        if letterhead.get("registration_number")
        else "",
    ]
    for line in lines:
        text = doc.prepare(line)
        if text:
            doc.set_x(text_x)
            doc.use(text, size=9, colour=MUTED)
            doc.multi_cell(width, 4.2, text, new_x="LEFT", new_y="NEXT")
    bottom = max(doc.get_y(), top + (19 if logo else 0))
    if doctor_block and letterhead.get("doctor_name"):
        block_x = text_x + width + 4
        doc.set_xy(block_x, top)
        block_w = doc.w - doc.r_margin - block_x
        name = doc.prepare(letterhead["doctor_name"])
        doc.use(name, bold=True, size=11)
        doc.multi_cell(block_w, 5.5, name, align="R", new_x="LEFT", new_y="NEXT")
        for line in (
            letterhead.get("doctor_qualification", ""),
            letterhead.get("doctor_specialization", ""),
            f"{_('Reg. No.')} {letterhead['doctor_registration']}"
            if letterhead.get("doctor_registration")
            else "",
        ):
            text = doc.prepare(line)
            if text:
                doc.set_x(block_x)
                doc.use(text, size=9, colour=MUTED)
                doc.multi_cell(block_w, 4.2, text, align="R", new_x="LEFT", new_y="NEXT")
        bottom = max(bottom, doc.get_y())
    doc.set_y(bottom + 2)
    doc.set_draw_color(*ACCENT)
    doc.set_line_width(0.6)
    doc.line(doc.l_margin, doc.get_y(), doc.w - doc.r_margin, doc.get_y())
    doc.set_line_width(0.2)
    doc.ln(3)


def _signature(doc: Document, letterhead: dict) -> None:
    if doc.get_y() > doc.h - doc.b_margin - 32:
        doc.add_page()
    doc.ln(8)
    width = 62
    x = doc.w - doc.r_margin - width
    signature = letterhead.get("signature")
    if signature:
        doc.image_bytes(signature, x=x, y=doc.get_y(), width=width, height=14)
        doc.ln(15)
    else:
        doc.ln(10)
    doc.set_draw_color(17, 17, 17)
    doc.line(x, doc.get_y(), x + width, doc.get_y())
    doc.ln(1)
    for text, size, bold in (
        (letterhead.get("doctor_name", ""), 10, True),
        (
            f"{_('Reg. No.')} {letterhead['doctor_registration']}"
            if letterhead.get("doctor_registration")
            else "",
            8.5,
            False,
        ),
    ):
        text = doc.prepare(text)
        if text:
            doc.set_x(x)
            doc.use(text, size=size, bold=bold)
            doc.multi_cell(width, size * 0.45, text, align="C", new_x="LEFT", new_y="NEXT")


def prescription_pdf(context: dict, *, language: str) -> bytes:
    with translation.override(language):
        return _prescription_pdf(context, language=language)


def _prescription_pdf(context: dict, *, language: str) -> bytes:
    rx, patient = context["rx"], context["patient"]
    letterhead = context["letterhead"]
    show = letterhead.get("show", {})
    footer = " · ".join(
        part
        for part in (
            letterhead.get("footer_text", ""),
            rx.prescription_number,
            f"{_('printed')} {format_datetime(context['printed_at'])}",
            rx.get_status_display() if rx.status != "active" else "",
        )
        if part
    )
    doc = _document(
        letterhead,
        title=f"{rx.prescription_number} · {patient.full_name}",
        language=language,
        footer=footer,
    )
    doc.add_page()
    if show.get("header", True):
        _header(doc, letterhead, doctor_block=show.get("doctor", True))
    doc.heading(_("Prescription"), level=1)
    age = context.get("patient_age")
    doc.labelled_values(
        [
            (_("Patient"), patient.full_name),
            (
                _("Age / Gender"),
                f"{age if age is not None else '—'} / {_gender(patient)}",
            ),
            (_("Date"), format_date(rx.visit_date)),
            (_("Prescription No."), rx.prescription_number),
        ]
    )
    if rx.chief_complaint and show.get("chief_complaint", True):
        doc.heading(_("Chief complaint"))
        doc.line_text(rx.chief_complaint)
    if show.get("diagnosis", True):
        doc.heading(_("Diagnosis"))
        doc.line_text(rx.diagnosis or "—")
    doc.heading(f"Rx · {_('Medicines')}")
    rows = []
    for n, item in enumerate(context["items"], start=1):
        medicine = item.catalogue_medicine
        name = f"{medicine.name} {medicine.strength}".strip()
        details = [f"({medicine.get_dosage_form_display()})"]
        if (
            show.get("generic_names", True)
            and medicine.generic_name
            and medicine.generic_name != medicine.name
        ):
            details.append(medicine.generic_name)
        if not item.generic_substitution_allowed:
            details.append(_("No generic substitution"))
        rows.append(
            [
                str(n),
                "\n".join([name, *details]),
                item.dosage,
                item.frequency,
                item.duration,
                "" if item.quantity is None else str(item.quantity),
                item.instructions,
            ]
        )
    doc.grid(
        ["#", _("Medicine"), _("Dosage"), _("Frequency"), _("Duration"), _("Qty"),
         _("Instructions")],
        rows,
        widths=(4, 30, 13, 13, 12, 6, 22),
    )  # fmt: skip
    dental = context.get("dental") or {}
    if dental.get("observations") and show.get("dental", True):
        doc.heading(_("Dental findings"))
        doc.grid(
            [_("Tooth"), _("Surface"), _("Condition"), _("Severity"), _("Notes")],
            [
                [
                    str(o.tooth_number),
                    o.get_tooth_surface_display() or "—",
                    o.get_condition_type_display(),
                    o.get_severity_display() or "—",
                    o.notes,
                ]
                for o in dental["observations"]
            ],
            widths=(8, 16, 20, 12, 44),
        )
    if dental.get("procedures") and show.get("dental", True):
        doc.heading(_("Dental treatment"))
        doc.grid(
            [_("Code"), _("Procedure"), _("Teeth"), _("Status"), _("Estimate")],
            [
                [
                    p.procedure_code,
                    p.procedure_name,
                    ", ".join(str(t) for t in p.teeth) or _("whole mouth"),
                    p.get_status_display(),
                    format_inr(p.estimated_cost) or "—",
                ]
                for p in dental["procedures"]
            ],
            widths=(10, 40, 18, 14, 18),
        )
    if rx.instructions and show.get("advice", True):
        doc.heading(_("Advice"))
        doc.line_text(rx.instructions)
    if rx.follow_up_date and show.get("follow_up", True):
        doc.heading(_("Next visit"))
        doc.line_text(format_date(rx.follow_up_date))
    if show.get("signature", True):
        _signature(doc, letterhead)
    return doc.output_bytes()


def case_summary_pdf(summary: dict, *, language: str) -> bytes:
    with translation.override(language):
        return _case_summary_pdf(summary, language=language)


def _case_summary_pdf(summary: dict, *, language: str) -> bytes:
    clinic, patient = summary["clinic"], summary["patient"]
    letterhead = summary.get("letterhead") or {
        "title": clinic.name,
        "address": clinic.address,
        "phone": clinic.phone,
        "email": clinic.email,
    }
    footer = " · ".join(
        (
            clinic.name,
            f"{_('Dental case summary')}: {patient.full_name}",
            f"{_('printed')} {format_datetime(summary['printed_at'])}",
        )
    )
    doc = _document(
        letterhead,
        title=f"{_('Dental case summary')} · {patient.full_name}",
        language=language,
        footer=footer,
    )
    doc.add_page()
    _header(doc, letterhead, doctor_block=False)
    doc.heading(_("Dental case summary"), level=1)
    age = summary.get("patient_age")
    doc.labelled_values(
        [
            (_("Patient"), patient.full_name),
            (
                _("Age / Gender"),
                f"{age if age is not None else '—'} / {_gender(patient)}",
            ),
            (_("Date of birth"), format_date(patient.date_of_birth) or "—"),
            (
                _("Period"),
                f"{format_date(summary['date_from']) or _('first visit')} – "
                f"{format_date(summary['date_to'])}",
            ),
        ]
    )
    doc.heading(_("Findings"))
    if summary["observations"]:
        doc.grid(
            [_("Date"), _("Tooth"), _("Surface"), _("Condition"), _("Severity"), _("Notes"),
             _("Treatment")],
            [
                [
                    format_date(o.observed_on),
                    str(o.tooth_number),
                    o.get_tooth_surface_display() or "—",
                    o.get_condition_type_display(),
                    o.get_severity_display() or "—",
                    o.notes,
                    f"{_('done')} {format_date(o.treatment_date)}"
                    if o.treatment_done
                    else (_("required") if o.treatment_required else "—"),
                ]
                for o in summary["observations"]
            ],
            widths=(12, 7, 13, 17, 10, 28, 13),
        )  # fmt: skip
    else:
        doc.line_text(_("No findings recorded in this period."), colour=MUTED)
    doc.heading(_("Procedures"))
    if summary["procedures"]:
        doc.grid(
            [_("Date"), _("Code"), _("Procedure"), _("Teeth"), _("Status"), _("Estimate"),
             _("Cost")],
            [
                [
                    format_date(p.record_date),
                    p.procedure_code,
                    "\n".join(part for part in (p.procedure_name, p.notes) if part),
                    ", ".join(str(t) for t in p.teeth) or _("whole mouth"),
                    p.get_status_display(),
                    format_inr(p.estimated_cost) or "—",
                    format_inr(p.actual_cost) or "—",
                ]
                for p in summary["procedures"]
            ],
            widths=(12, 8, 30, 12, 12, 13, 13),
        )  # fmt: skip
        doc.line_text(
            f"{_('Estimated (not cancelled)')}: {format_inr(summary['estimated_total'])} · "
            f"{_('charged for completed procedures')}: {format_inr(summary['actual_total'])}",
            colour=MUTED,
            size=9,
        )
    else:
        doc.line_text(_("No procedures in this period."), colour=MUTED)
    doc.heading(_("Prescriptions"))
    if summary["prescriptions"]:
        doc.grid(
            [_("Date"), _("Number"), _("Diagnosis"), _("Medicines"), _("Doctor")],
            [
                [
                    format_date(rx.visit_date),
                    rx.prescription_number,
                    rx.diagnosis,
                    "\n".join(
                        f"{i.catalogue_medicine}: {i.dosage}, {i.frequency}, {i.duration}"
                        for i in rx.items.all()
                    ),
                    f"{_('Dr.')} {rx.doctor.user.get_full_name()}",
                ]
                for rx in summary["prescriptions"]
            ],
            widths=(12, 18, 25, 30, 15),
        )
    else:
        doc.line_text(_("No prescriptions in this period."), colour=MUTED)
    doc.heading(_("Attachments"))
    if summary["attachments"]:
        doc.grid(
            [_("Date"), _("Kind"), _("File"), _("Type")],
            [
                [
                    format_date(a.created_at),
                    a.get_file_type_display(),
                    "\n".join(
                        part for part in (a.original_name or _("(unnamed)"), a.description) if part
                    ),
                    a.content_type,
                ]
                for a in summary["attachments"]
            ],
            widths=(14, 22, 50, 14),
        )
        doc.line_text(_("The files themselves are available from the clinic on request."),
                      colour=MUTED, size=9)  # fmt: skip
    else:
        doc.line_text(_("No attachments in this period."), colour=MUTED)
    return doc.output_bytes()
