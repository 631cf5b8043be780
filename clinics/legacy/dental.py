"""Dental records of the earlier system (templates, observations, procedures, attachments
and their files) and its prescription templates."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone

from clinical import models as clinical_models
from clinical.models import (
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
    DentalTemplate,
    SharedDentalTemplate,
)
from clinical.models.dental import ALL_TEETH, procedure_code_validator
from clinics.legacy import convert
from clinics.legacy.people import message
from clinics.legacy.rows import batch_writer, choice, done, load_existing, new_row, valid

# --- dental records --------------------------------------------------------------------------


def import_dental(ctx) -> None:
    _import_templates(ctx)
    _import_observations(ctx)
    _import_procedures(ctx)
    _import_attachments(ctx)


def _import_templates(ctx) -> None:
    report = ctx.report
    names = {}
    for pk, name, notes in SharedDentalTemplate.objects.values_list("id", "name", "notes"):
        names[name.lower()] = pk
        names[("shared", notes.strip().lower())] = pk
    for pk, name in DentalTemplate.objects.values_list("id", "name"):
        names[name.lower()] = pk
    writer = batch_writer(DentalTemplate, ctx, "dental_observation_templates")
    for row in ctx.source.rows("dental_observation_templates"):
        where = ("dental_observation_templates", row["id"])
        template_id = ctx.id("dental_observation_templates", row["id"])
        text = (row["template_text"] or "").strip()
        if ("shared", text.lower()) in names:
            report.change(*where, "same text as a shared template: the shared one is used")
            report.existing("dental_observation_templates")
            continue
        name = (row["short_code"] or text[:60] or "Template").strip()[:200]
        if names.get(name.lower()) not in (None, template_id):
            name = f"{name} ({str(row['id'])[:8]})"
            report.change(*where, f"name already used: renamed {name}")
        if row["is_global"]:
            report.change(*where, "a shared template of the earlier system: the clinic's own")
        template = new_row(
            DentalTemplate,
            id=template_id,
            name=name,
            condition_type=choice(
                convert.CONDITIONS,
                row["condition_type"],
                "condition",
                report,
                where,
                "other" if row["condition_type"] else "",
            ),
            tooth_surface=choice(convert.SURFACES, row["tooth_surface"], "surface", report, where),
            severity=choice(convert.SEVERITIES, row["severity"], "severity", report, where),
            notes=text,
            is_active=bool(row["is_active"]),
        )
        if valid(DentalTemplate, template, report, *where):
            names[name.lower()] = template_id
            writer.add(template)
    writer.flush()


def _import_observations(ctx) -> None:
    report = ctx.report
    load_existing(DentalObservation, ctx.observations)
    writer = batch_writer(DentalObservation, ctx, "dental_observations")
    bar = ctx.bar("dental_observations")
    for row in ctx.source.rows("dental_observations"):
        if bar:
            bar.advance()
        where = ("dental_observations", row["id"])
        observation_id = ctx.id("dental_observations", row["id"])
        if observation_id in ctx.observations:
            report.existing("dental_observations")
            continue
        patient = ctx.patient_keys.get((row["patient_mobile_number"], row["patient_first_name"]))
        appointment = (
            ctx.id("appointments", row["appointment_id"]) if row["appointment_id"] else None
        )
        prescription = (
            ctx.id("prescriptions", row["prescription_id"]) if row["prescription_id"] else None
        )
        # The earlier system had no doctor column: the doctor is the linked visit's.
        visit = ctx.appointments.get(appointment) or ctx.prescriptions.get(prescription)
        if patient is None or visit is None:
            report.skip(*where, "its patient, or the visit that names its doctor, was not imported")
            continue
        tooth = str(row["tooth_number"] or "").strip()
        if not tooth.isdigit() or int(tooth) not in ALL_TEETH:
            report.skip(*where, f"tooth {tooth!r} is not an FDI tooth number")
            continue
        severity_text = str(row["severity"] or "").strip()
        severity = convert.SEVERITIES.get(severity_text.lower(), "")
        notes = [row["observation_notes"] or "", row["custom_notes"] or ""]
        if severity_text and not severity:
            notes.append(f"Severity (earlier system): {severity_text}")
            report.change(*where, f"severity {severity_text!r} kept in the notes")
        observation = new_row(
            DentalObservation,
            id=observation_id,
            patient_id=patient,
            doctor_id=visit[1],
            appointment_id=appointment if appointment in ctx.appointments else None,
            prescription_id=prescription if prescription in ctx.prescriptions else None,
            tooth_number=int(tooth),
            tooth_surface=choice(convert.SURFACES, row["tooth_surface"], "surface", report, where),
            condition_type=choice(
                convert.CONDITIONS, row["condition_type"], "condition", report, where, "other"
            ),
            severity=severity,
            notes="\n".join(n for n in notes if n),
            treatment_required=bool(row["treatment_required"]),
            treatment_done=bool(row["treatment_done"]),
            treatment_date=row["treatment_date"],
            observed_on=timezone.localdate(convert.aware(row["created_at"])),
            created_by_id=ctx.users.get(row["created_by"]),
            created_at=convert.aware(row["created_at"]),
        )
        if valid(DentalObservation, observation, report, *where):
            ctx.observations[observation_id] = (patient, visit[1])
            writer.add(observation)
    done(bar, writer)


def _import_procedures(ctx) -> None:
    report = ctx.report
    existing = {}
    load_existing(DentalProcedure, existing)
    writer = batch_writer(DentalProcedure, ctx, "dental_procedures")
    for row in ctx.source.rows("dental_procedures"):
        where = ("dental_procedures", row["id"])
        procedure_id = ctx.id("dental_procedures", row["id"])
        if procedure_id in existing:
            ctx.procedures[procedure_id] = existing[procedure_id][0]
            report.existing("dental_procedures")
            continue
        links = {
            name: ctx.id(table, row[column]) if row[column] else None
            for name, table, column in (
                ("observation", "dental_observations", "observation_id"),
                ("prescription", "prescriptions", "prescription_id"),
                ("appointment", "appointments", "appointment_id"),
            )
        }
        known = (
            ctx.observations.get(links["observation"])
            or ctx.prescriptions.get(links["prescription"])
            or ctx.appointments.get(links["appointment"])
        )
        if known is None:
            report.skip(
                *where, "no imported observation, prescription or appointment names its patient"
            )
            continue
        notes = [row["description"] or "", row["procedure_notes"] or ""]
        if row["complications"]:
            notes.append(f"Complications: {row['complications']}")
        code = (row["procedure_code"] or "").strip().upper()
        try:
            procedure_code_validator(code)
        except ValidationError:
            notes.append(f"Procedure code (earlier system): {code}")
            report.change(*where, f"code {code!r} is not CDT: stored as D9999 (by report)")
            code = "D9999"
        teeth, bad = convert.teeth(row["tooth_numbers"], ALL_TEETH)
        if bad:
            notes.append(f"Teeth (earlier system): {row['tooth_numbers']}")
            report.change(*where, f"not FDI teeth, left out: {', '.join(bad)}")
        status = str(row["status"] or "planned").strip().lower()
        if status not in convert.PROCEDURE_STATUSES:
            report.change(*where, f"status {status!r} unknown: planned")
            status = "planned"
        procedure = new_row(
            DentalProcedure,
            id=procedure_id,
            patient_id=known[0],
            doctor_id=known[1],
            observation_id=links["observation"]
            if links["observation"] in ctx.observations
            else None,
            prescription_id=links["prescription"]
            if links["prescription"] in ctx.prescriptions
            else None,
            appointment_id=links["appointment"]
            if links["appointment"] in ctx.appointments
            else None,
            procedure_code=code,
            procedure_name=(row["procedure_name"] or code)[:200],
            teeth=teeth,
            estimated_cost=row["estimated_cost"],
            actual_cost=row["actual_cost"],
            status=status,
            planned_date=row["procedure_date"],
            completed_date=row["completed_date"],
            notes="\n".join(n for n in notes if n),
            created_by_id=ctx.users.get(row["created_by"]),
            created_at=convert.aware(row["created_at"]),
        )
        if valid(DentalProcedure, procedure, report, *where):
            ctx.procedures[procedure_id] = known[0]
            writer.add(procedure)
    writer.flush()


def _import_attachments(ctx) -> None:
    report = ctx.report
    writer = batch_writer(DentalAttachment, ctx, "dental_attachments")
    root = Path(ctx.files_from) if ctx.files_from else None
    existing = set() if ctx.fresh else set(DentalAttachment.objects.values_list("id", flat=True))
    for row in ctx.source.rows("dental_attachments"):
        where = ("dental_attachments", row["id"])
        attachment_id = ctx.id("dental_attachments", row["id"])
        if attachment_id in existing:
            report.existing("dental_attachments")
            continue
        observation = (
            ctx.id("dental_observations", row["observation_id"]) if row["observation_id"] else None
        )
        procedure = (
            ctx.id("dental_procedures", row["procedure_id"]) if row["procedure_id"] else None
        )
        observation = observation if observation in ctx.observations else None
        procedure = procedure if procedure in ctx.procedures else None
        if observation is None and procedure is None:
            reason = (
                "attached to a case study (not adopted)"
                if row["case_study_id"]
                else "its observation or procedure was not imported"
            )
            report.skip(*where, reason)
            continue
        patient = ctx.observations[observation][0] if observation else ctx.procedures[procedure]
        content_type = (row["mime_type"] or "application/octet-stream").strip()[:50]
        extension = DentalAttachment.EXTENSIONS.get(content_type, "")
        name = f"{ctx.tenant.pk}/dental/legacy-{attachment_id.hex}{extension}"
        key = urlsplit(str(row["file_path"] or "")).path.lstrip("/")
        found = root / key if root and key else None
        size = row["file_size"] or 0
        missing = found is None or not found.is_file()
        if missing:
            report.change(
                *where,
                f"file {row['file_path']} was not copied: the record says the file is missing",
            )
        else:
            size = found.stat().st_size
            ctx.file_copies.append((str(found), name))
        attachment = new_row(
            DentalAttachment,
            id=attachment_id,
            patient_id=patient,
            observation_id=observation,
            procedure_id=procedure,
            file=name,
            file_type=choice(
                convert.FILE_TYPES, row["file_type"], "file type", report, where, "other"
            ),
            content_type=content_type,
            size=size,
            original_name=(row["file_name"] or "")[:255],
            description=(row["caption"] or "")[:500],
            file_missing=missing,
            uploaded_by_id=ctx.users.get(row["uploaded_by"]),
            created_at=convert.aware(row["created_at"]),
        )
        if valid(DentalAttachment, attachment, report, *where):
            writer.add(attachment)
    writer.flush()


def copy_files(copies) -> None:
    """After the import committed: the attachment files, into the clinic's prefix."""
    for path, name in copies:
        with open(path, "rb") as handle:
            default_storage.save(name, handle)


# --- prescription templates ------------------------------------------------------------------


def import_prescription_templates(ctx) -> None:
    """The earlier letterheads become print templates (issue 16) where this system has them;
    otherwise the report lists each one, so the clinic can set its letterhead up again."""
    model = getattr(clinical_models, "PrintTemplate", None)
    if model is None:
        for row in ctx.source.rows("prescription_templates"):
            ctx.report.skip(
                "prescription_templates",
                row["id"],
                f"{row['name']!r} ({row['paper_size'] or '?'} {row['orientation'] or ''}, "
                f"{'clinic default' if row['doctor_id'] is None else 'a doctor'}): "
                "print templates are not in this system yet",
            )
        return
    _carry_over_templates(ctx, model)


def _carry_over_templates(ctx, PrintTemplate) -> None:
    report = ctx.report
    # One template per scope here: the clinic's, an office's, a doctor's.
    taken = {
        (t.doctor_id, t.office_id): t.pk
        for t in PrintTemplate.objects.only("id", "doctor_id", "office_id")
    }
    order = "is_default DESC, created_at, id"
    for row in ctx.source.rows("prescription_templates", order_by=order):
        where = ("prescription_templates", row["id"])
        template_id = ctx.id("prescription_templates", row["id"])
        if template_id in taken.values():
            report.existing("prescription_templates")
            continue
        doctor = ctx.id("doctors", row["doctor_id"]) if row["doctor_id"] else None
        if doctor is not None and doctor not in ctx.doctors:
            report.skip(*where, "its doctor was not imported")
            continue
        office = None
        if doctor is None and row.get("office_id"):
            office = ctx.offices.get(str(row["office_id"]))
            if office is None:
                report.change(*where, f"office {row['office_id']} is unknown: the clinic's")
        scope = (doctor, office)
        if scope in taken:
            report.skip(*where, "a template for the same clinic, office or doctor comes first")
            continue
        margins = {}
        for side in ("top", "right", "bottom", "left"):
            value, why = convert.clamp(row.get(f"margin_{side}"), 0, 50, f"{side} margin")
            if why:
                report.change(*where, why)
            if value is not None:
                margins[f"margin_{side}_mm"] = value
        paper = str(row["paper_size"] or "a4").strip().lower()
        orientation = str(row["orientation"] or "portrait").strip().lower()
        if row.get("logo_url") or row.get("signature_url"):
            report.change(*where, "logo and signature images are not carried over: upload them")
        template = PrintTemplate(
            id=template_id,
            doctor_id=doctor,
            office_id=office,
            name=(row["name"] or "Letterhead")[:100],
            paper_size=paper if paper in PrintTemplate.Paper.values else "a4",
            orientation=(
                orientation if orientation in PrintTemplate.Orientation.values else "portrait"
            ),
            doctor_name=(row.get("signature_text") or "")[:200],
            **margins,
        )
        try:
            template.full_clean(exclude=["doctor", "office", "created_by"], validate_unique=False)
        except ValidationError as exc:
            report.skip(*where, message(exc))
            continue
        template.save(force_insert=True)
        taken[scope] = template_id
        report.new("prescription_templates")
