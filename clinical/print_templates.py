"""Which print template a print uses, and the letterhead it gives the HTML page and the PDF.

The prescribing doctor's template, else the office's (where the patient was seen), else the
clinic's, else the built-in layout: `template_for`. `letterhead` turns the template (or
none) plus the clinic, office and doctor into the one dict both renderers read, so the HTML
print and the PDF always agree.
"""

from __future__ import annotations

import base64
import datetime
import logging
from types import SimpleNamespace

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clinical.models import PrintTemplate

logger = logging.getLogger(__name__)

DEFAULT_SECTIONS = dict.fromkeys(PrintTemplate.SECTIONS, True)
DEFAULT_MARGINS_MM = (16, 14, 18, 14)
PAPER_CSS = {"a4": "A4", "a5": "A5", "letter": "letter"}


def template_for(*, doctor=None, office=None) -> PrintTemplate | None:
    """The template that applies (one query; call inside the clinic's context)."""
    scopes = Q(office__isnull=True, doctor__isnull=True)
    if doctor is not None:
        scopes |= Q(doctor=doctor)
    if office is not None:
        scopes |= Q(office=office)
    candidates = list(PrintTemplate.objects.filter(scopes))

    def rank(template: PrintTemplate) -> int:
        return {"doctor": 0, "office": 1, "clinic": 2}[template.scope]

    return min(candidates, key=rank) if candidates else None


def _image(template: PrintTemplate | None, field: str) -> tuple[bytes | None, str]:
    """The image's bytes and a data: URI for the HTML page (the page is served only to the
    clinic, so the image is too; no separate public URL exists)."""
    if template is None or not getattr(template, field).name:
        return None, ""
    try:
        with getattr(template, field).open("rb") as handle:
            data = handle.read()
    except OSError:
        logger.warning("print template %s: its %s is missing from storage", template.pk, field)
        return None, ""
    content_type = getattr(template, f"{field}_content_type") or "image/png"
    return data, f"data:{content_type};base64,{base64.b64encode(data).decode()}"


def template_language(template: PrintTemplate | None) -> str:
    """The template's language, else the clinic's default (its clinic template's)."""
    if template is not None and template.language:
        return template.language
    if template is not None and template.scope == "clinic":
        return ""
    clinic_template = PrintTemplate.objects.filter(office__isnull=True, doctor__isnull=True).first()
    return clinic_template.language if clinic_template else ""


def letterhead(*, template: PrintTemplate | None, clinic, office=None, doctor=None) -> dict:
    """The header, doctor's block, footer, paper and sections of a print."""
    t = template
    margins = (
        (t.margin_top_mm, t.margin_right_mm, t.margin_bottom_mm, t.margin_left_mm)
        if t
        else DEFAULT_MARGINS_MM
    )
    paper = t.paper_size if t else "a4"
    orientation = t.orientation if t else "portrait"
    logo, logo_url = _image(t, "logo")
    signature, signature_url = _image(t, "signature")
    doctor_name = ""
    if doctor is not None and doctor.user_id:
        doctor_name = f"{_('Dr.')} {doctor.user.get_full_name()}"
    return {
        "template_id": t.pk if t else None,
        "template_scope": t.scope if t else "built-in",
        "clinic": clinic,
        "office": office,
        "paper": paper,
        "orientation": orientation,
        "paper_css": PAPER_CSS[paper],
        "margins_mm": margins,
        "margins_css": " ".join(f"{m}mm" for m in margins),
        "title": (t and t.header_title) or clinic.name,
        "subtitle": office.name if office and office.name != clinic.name else "",
        "address": (t and t.header_address)
        or (office.address if office and office.address else clinic.address),
        "phone": (t and t.header_phone)
        or (office.phone if office and office.phone else clinic.phone),
        "email": clinic.email,
        "registration_number": t.registration_number if t else "",
        "logo": logo,
        "logo_url": logo_url,
        "doctor_name": (t and t.doctor_name) or doctor_name,
        "doctor_qualification": (t and t.doctor_qualification)
        or (doctor.qualification if doctor else ""),
        "doctor_specialization": doctor.specialization if doctor else "",
        "doctor_registration": (t and t.doctor_registration)
        or (doctor.license_number if doctor else ""),
        "signature": signature,
        "signature_url": signature_url,
        "footer_text": t.footer_text if t else "",
        "language": template_language(t),
        "show": t.sections() if t else dict(DEFAULT_SECTIONS),
    }


# --- the preview: a prescription made of sample data ------------------------------------------


def _sample_item(name, strength, form, generic, dosage, frequency, duration, qty, note):
    return SimpleNamespace(
        # Named like a real line's medicine, shared or the clinic's own (MedicineLine).
        catalogue_medicine=SimpleNamespace(
            name=name,
            strength=strength,
            generic_name=generic,
            get_dosage_form_display=lambda form=form: form,
        ),
        dosage=dosage,
        frequency=frequency,
        duration=duration,
        quantity=qty,
        instructions=note,
        generic_substitution_allowed=True,
    )


def preview_context(*, template: PrintTemplate | None, clinic, language: str = "en") -> dict:
    """What a print with this template looks like: a sample patient and prescription (no
    record of the clinic is read or written), the same context shape as a real print."""
    office, doctor = (template.office, template.doctor) if template else (None, None)
    sample_doctor = doctor or SimpleNamespace(
        user_id=None,
        qualification="MBBS, MD (General Medicine)",
        specialization="General Medicine",
        license_number="KMC-123456",
    )
    head = letterhead(template=template, clinic=clinic, office=office, doctor=doctor)
    if not head["doctor_name"]:
        head["doctor_name"] = f"{_('Dr.')} Asha Rao"
    if not head["doctor_qualification"]:
        head["doctor_qualification"] = sample_doctor.qualification
    if not head["doctor_registration"]:
        head["doctor_registration"] = sample_doctor.license_number
    if not head["doctor_specialization"]:
        head["doctor_specialization"] = sample_doctor.specialization
    today = timezone.localdate()
    patient = SimpleNamespace(
        full_name="अनीता शर्मा",
        get_gender_display=lambda: _("Female"),
        date_of_birth=datetime.date(1985, 1, 20),
    )
    rx = SimpleNamespace(
        prescription_number="RX-PREVIEW",
        visit_date=today,
        chief_complaint="Sore throat and fever for three days",
        diagnosis="Acute pharyngitis (तीव्र ग्रसनीशोथ)",
        instructions="Warm saline gargles three times a day.\nखूब पानी पिएं।",
        follow_up_date=today + datetime.timedelta(days=5),
        status="active",
        get_status_display=lambda: _("Active"),
    )
    items = [
        _sample_item("Paracetamol", "500 mg", "Tablet", "Paracetamol", "1 tablet", "1-1-1",
                     "5 days", 15, "After food"),
        _sample_item("Amoxicillin", "500 mg", "Capsule", "Amoxicillin", "1 capsule", "1-0-1",
                     "7 days", 14, "खाना खाने के बाद"),
    ]  # fmt: skip
    return {
        "rx": rx,
        "letterhead": head,
        "show": head["show"],
        "language": language,
        "patient": patient,
        "patient_age": 41,
        "doctor": sample_doctor,
        "doctor_name": head["doctor_name"],
        "items": items,
        "dental": None,
        "for_pdf": False,
        "printed_at": timezone.localtime(),
        "preview": True,
    }
