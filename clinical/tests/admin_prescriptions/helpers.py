"""What the admin prescription tests share: the form's URLs and data, and reading back what a
request wrote."""

from __future__ import annotations

from django.utils import timezone

from clinical.models import (
    Medicine,
    Patient,
    Prescription,
    PrescriptionItem,
)
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tenants.testing import build

ADD = "/admin/clinical/prescription/add/"
LIST = "/admin/clinical/prescription/"


def change_url(rx) -> str:
    return f"/admin/clinical/prescription/{rx.pk}/change/"


def lines(*rows, initial: int = 0) -> dict:
    """The medicine lines inline as a browser posts it."""
    data = {
        "items-TOTAL_FORMS": str(len(rows)),
        "items-INITIAL_FORMS": str(initial),
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "20",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"items-{index}-{name}"] = value
    return data


def line(medicine, **overrides) -> dict:
    row = {
        "medicine": str(medicine.pk),
        "dosage": "1 tablet",
        "frequency": "1-0-1",
        "duration": "5 days",
        "instructions": "after food",
        "quantity": "10",
        "generic_substitution_allowed": "on",
    }
    row.update(overrides)
    return row


def new_rx(patient, *, appointment=None, **overrides) -> dict:
    data = {
        "patient": str(patient.pk),
        "appointment": str(appointment.pk) if appointment else "",
        "visit_date": timezone.localdate().isoformat(),
        "status": "draft",
        "short_key": "",
        "chief_complaint": "Sore throat",
        "diagnosis": "Acute pharyngitis",
        "symptoms": "",
        "clinical_notes": "",
        "instructions": "Warm saline gargles",
        "follow_up_date": "",
    }
    data.update(overrides)
    return data


def errors_of(response) -> str:
    """The form's and the lines' errors of a re-displayed page, for assertion messages."""
    context = getattr(response, "context_data", None) or {}
    form = context.get("adminform")
    formsets = context.get("inline_admin_formsets", [])
    found = [form.form.errors] if form else []
    found += [f.formset.errors for f in formsets] + [f.formset.non_form_errors() for f in formsets]
    return repr(found)


def events(clinic, action):
    with tenant_context(clinic):
        return list(AuditEvent.objects.filter(action=action))


def only_prescription(clinic) -> Prescription:
    with tenant_context(clinic):
        return Prescription.objects.prefetch_related("items").get()


def item_rows(clinic, rx):
    with tenant_context(clinic):
        return list(
            PrescriptionItem.objects.filter(prescription=rx)
            .order_by("order")
            .values_list("medicine_id", "dosage")
        )


def edit(rx, clinic, **overrides) -> dict:
    with tenant_context(clinic):
        rows = list(PrescriptionItem.objects.filter(prescription=rx).order_by("order"))
    data = {
        "visit_date": rx.visit_date.isoformat(),
        "chief_complaint": rx.chief_complaint,
        "diagnosis": rx.diagnosis,
        "symptoms": rx.symptoms,
        "clinical_notes": rx.clinical_notes,
        "instructions": rx.instructions,
        "follow_up_date": "",
        "short_key": "",
        "row_version": "",
        **lines(
            *[
                {
                    **line(Medicine(pk=row.catalogue_medicine_id), dosage=row.dosage),
                    "id": str(row.pk),
                    "prescription": str(rx.pk),
                }
                for row in rows
            ],
            initial=len(rows),
        ),
    }
    data.update(overrides)
    return data


def act(client, action, *prescriptions, **extra):
    data = {
        "action": action,
        "index": "0",
        "_selected_action": [str(p.pk) for p in prescriptions],
        **extra,
    }
    return client.post(LIST, data, follow=True)


def status_of(clinic, rx) -> str:
    with tenant_context(clinic):
        return Prescription.objects.get(pk=rx.pk).status


def add_prescriptions(clinic, doctor, count):
    with tenant_context(clinic):
        for _ in range(count):
            rx = build(Prescription, doctor=doctor, patient=build(Patient))
            build(PrescriptionItem, prescription=rx)
