"""The clinical records of the earlier system: patients, medicines, short keys, appointments,
prescriptions, dental records and prescription templates, streamed and written in batches."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db.models import FileField
from django.utils import timezone

from clinic_saas.validators import normalize_indian_mobile
from tenants.legacy import convert
from tenants.legacy.people import message


def _row(model, **values) -> dict:
    """A row of `model` as column values by attribute name (`patient_id`, `notes`, …): the
    hot tables are written without building a model instance per row (see Writer)."""
    return values


def clean(model, values: dict) -> None:
    """What `full_clean()` checks of a row's own values, field by field (empty values,
    lengths, choices, validators such as FDI teeth and CDT codes), without a model instance.
    The values are already Python values of the right type (they come typed from the
    source's columns or from tenants.legacy.convert). References are checked by the
    database: its same-clinic foreign keys, under row-level security."""
    errors = {}
    for f, choices, validators in _checked_fields(model):
        if f.attname not in values:
            continue
        value = values[f.attname]
        try:
            if value is None:
                if not f.null:
                    raise ValidationError(f.error_messages["null"], code="null")
                continue
            if value in f.empty_values:
                if not f.blank:
                    raise ValidationError(f.error_messages["blank"], code="blank")
                continue
            if choices is not None and value not in choices:
                raise ValidationError(
                    f.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": value},
                )
            for validator in validators:
                validator(value)
        except ValidationError as exc:
            errors[f.name] = exc.error_list
    if errors:
        raise ValidationError(errors)


_CHECKED: dict = {}


def _checked_fields(model) -> list:
    if model not in _CHECKED:
        _CHECKED[model] = [
            (f, {c for c, _label in f.flatchoices} if f.choices else None, f.validators)
            for f in model._meta.concrete_fields
            if not f.is_relation and not f.primary_key and not isinstance(f, FileField)
        ]
    return _CHECKED[model]


def _valid(model, values, report, table, legacy_id) -> bool:
    try:
        clean(model, values)
    except ValidationError as exc:
        report.skip(table, legacy_id, message(exc))
        return False
    return True


def _writer(model, ctx, table, **kwargs):
    from tenants.legacy.importer import Writer

    return Writer(model, ctx, table, **kwargs)


def _done(bar, *writers) -> None:
    for writer in writers:
        writer.flush()
    if bar:
        bar.finish()


# --- patients --------------------------------------------------------------------------------


def import_patients(ctx) -> None:
    from clinical.models import Patient
    from clinical.models.patients import MAX_FAMILY_SIZE

    report = ctx.report
    # The clinic's families as they are now (a second run, or an existing clinic).
    families: dict[str, list] = {}
    keys = {}
    for pk, mobile, first, relation in Patient.objects.active().values_list(
        "id", "mobile", "first_name", "relationship_to_primary"
    ):
        families.setdefault(mobile, []).append(relation)
        keys[(mobile, first.lower())] = pk
        ctx.patients.add(pk)
    writer = _writer(Patient, ctx, "patients")
    bar = ctx.bar("patients")
    # `self` first in each family, as the earlier application registered them.
    order = "mobile_number, (relationship_to_primary = 'self') DESC, created_at, first_name"
    for row in ctx.source.rows("patients", order_by=order):
        if bar:
            bar.advance()
        legacy_key = (row["mobile_number"], row["first_name"])
        where = ("patients", row["id"])
        if row["id"] in ctx.patients:
            ctx.patient_keys[legacy_key] = row["id"]
            report.existing("patients")
            continue
        try:
            mobile = normalize_indian_mobile(row["mobile_number"])
        except ValidationError:
            report.skip(*where, f"mobile {row['mobile_number']!r} is not a valid Indian mobile")
            continue
        first = " ".join((row["first_name"] or "").split())
        key = (mobile, first.lower())
        if key in keys:
            report.change(*where, f"same person as patient {keys[key]} ({mobile}, {first}): merged")
            ctx.patient_keys[legacy_key] = keys[key]
            report.existing("patients")
            continue
        family = families.setdefault(mobile, [])
        if len(family) >= MAX_FAMILY_SIZE:
            report.skip(
                *where, f"family {mobile} already has {MAX_FAMILY_SIZE} members (the most allowed)"
            )
            continue
        relation = str(row["relationship_to_primary"] or "self")
        if relation == "self" and "self" in family:
            report.change(*where, f"family {mobile} already has its `self`: stored as other")
            relation = "other"
        elif relation != "self" and "self" not in family:
            report.change(
                *where, f"family {mobile} has no `self` member: kept as {relation} (broken family)"
            )
        gender = str(row["gender"] or "")
        if gender not in Patient.Gender.values:
            if gender:
                report.change(*where, f"gender {gender!r} has no equivalent: left blank")
            gender = ""
        email = (row["email"] or "").strip()
        patient = _row(
            Patient,
            id=row["id"],
            first_name=first[:100],
            last_name=(row["last_name"] or "").strip()[:100],
            mobile=mobile,
            date_of_birth=row["date_of_birth"],
            gender=gender,
            email=email,
            address=row["address"] or "",
            notes=row["notes"] or "",
            emergency_contact=convert.emergency_contact(row["emergency_contact"]),
            relationship_to_primary=relation,
            created_at=convert.aware(row["created_at"]),
            deleted_at=None if row["is_active"] else convert.aware(row["updated_at"]),
        )
        try:
            clean(Patient, patient)
        except ValidationError as exc:
            if "email" in getattr(exc, "message_dict", {}):
                report.change(*where, f"e-mail {email!r} is not valid: left blank")
                patient["email"] = ""
                if not _valid(Patient, patient, report, *where):
                    continue
            else:
                report.skip(*where, message(exc))
                continue
        if patient["deleted_at"] is None:
            family.append(relation)
            keys[key] = patient["id"]
        ctx.patients.add(patient["id"])
        ctx.patient_keys[legacy_key] = patient["id"]
        writer.add(patient)
    _done(bar, writer)


# --- medicines and short keys ----------------------------------------------------------------


def _medicine_key(name, form, strength) -> tuple:
    return ((name or "").strip().lower(), form, (strength or "").strip().lower())


def import_medicines(ctx) -> None:
    from clinical.models import Medicine

    report = ctx.report
    known = {}
    shared = set()
    for pk, tenant_id, name, form, strength in Medicine.objects.values_list(
        "id", "tenant_id", "name", "dosage_form", "strength"
    ):
        key = _medicine_key(name, form, strength)
        if tenant_id is None:
            shared.add(key)
        # The clinic's own row wins over a shared one of the same name, form and strength.
        if key not in known or tenant_id is not None:
            known[key] = pk
    writer = _writer(Medicine, ctx, "medicines")
    bar = ctx.bar("medicines")
    for row in ctx.source.rows("medicines"):
        if bar:
            bar.advance()
        where = ("medicines", row["id"])
        form, why = convert.dosage_form(row["dosage_forms"])
        key = _medicine_key(row["name"], form, row["strength"])
        if key in known:
            ctx.medicines[row["id"]] = known[key]
            if key in shared:
                report.change(*where, f"{row['name']} {row['strength'] or ''}: the shared one")
            report.existing("medicines")
            continue
        if why:
            report.change(*where, why)
        price, why = convert.money(row["price"])
        medicine = _row(
            Medicine,
            id=ctx.id("medicines", row["id"]),
            name=(row["name"] or "").strip()[:200],
            generic_name=(row["generic_name"] or "")[:200],
            composition=(row["composition"] or "")[:500],
            manufacturer=(row["manufacturer"] or "")[:200],
            dosage_form=form,
            strength=(row["strength"] or "").strip()[:100],
            category=(row["drug_category"] or "")[:100],
            price=price,
            prescription_only=bool(row["requires_prescription"]),
            atc_code=(row["atc_code"] or "").strip().upper(),
            notes="\n".join(
                f"{label}: {row[column]}"
                for label, column in (
                    ("Storage", "storage_conditions"),
                    ("Contraindications", "contraindications"),
                    ("Side effects", "side_effects"),
                )
                if row.get(column)
            ),
            is_active=bool(row["is_active"]),
        )
        try:
            clean(Medicine, medicine)
        except ValidationError as exc:
            if "atc_code" in getattr(exc, "message_dict", {}):
                report.change(*where, f"ATC code {medicine['atc_code']!r} is not valid: left blank")
                medicine["atc_code"] = ""
            if not _valid(Medicine, medicine, report, *where):
                continue
        known[key] = medicine["id"]
        ctx.medicines[row["id"]] = medicine["id"]
        writer.add(medicine)
    _done(bar, writer)


RESERVED_CODES = {"ALL", "NONE", "NULL", "ADMIN", "TEST"}


def import_short_keys(ctx) -> None:
    from clinical.models import ShortKey, ShortKeyItem

    report = ctx.report
    codes = set(ShortKey.objects.values_list("code", flat=True))
    keys = {}
    writer = _writer(ShortKey, ctx, "short_keys")
    for row in ctx.source.rows("short_keys"):
        where = ("short_keys", row["id"])
        key_id = ctx.id("short_keys", row["id"])
        code = (row["code"] or "").strip().upper()
        if code in codes and not ShortKey.objects.filter(pk=key_id).exists():
            report.skip(*where, f"code {code} is already used in the clinic")
            continue
        if code in RESERVED_CODES:
            report.skip(*where, f"code {code} is reserved")
            continue
        doctor = None if row["is_global"] else ctx.doctor_of_user.get(row["created_by"])
        if not row["is_global"] and doctor is None:
            report.change(*where, "its doctor was not imported: shared with the whole clinic")
        short_key = _row(
            ShortKey,
            id=key_id,
            code=code,
            name=(row["name"] or code)[:100],
            description=(row["description"] or "")[:500],
            doctor_id=doctor,
            created_by_id=ctx.users.get(row["created_by"]),
            usage_count=max(row["usage_count"] or 0, 0),
            is_active=bool(row["is_active"]),
        )
        if not _valid(ShortKey, short_key, report, *where):
            continue
        codes.add(code)
        keys[row["id"]] = key_id
        writer.add(short_key)
    writer.flush()
    items = _writer(ShortKeyItem, ctx, "short_key_medicines")
    seen = set()
    for row in ctx.source.rows("short_key_medicines", order_by="short_key_id, sequence_order, id"):
        where = ("short_key_medicines", row["id"])
        key_id = keys.get(row["short_key_id"])
        medicine = ctx.medicines.get(row["medicine_id"])
        if key_id is None or medicine is None:
            report.skip(*where, "its short key or medicine was not imported")
            continue
        if (key_id, medicine) in seen:
            report.skip(*where, "the same medicine twice in one short key")
            continue
        seen.add((key_id, medicine))
        item = _row(
            ShortKeyItem,
            id=ctx.id("short_key_medicines", row["id"]),
            short_key_id=key_id,
            medicine_id=medicine,
            dosage=(row["default_dosage"] or "")[:100],
            frequency=(row["default_frequency"] or "")[:100],
            duration=(row["default_duration"] or "")[:100],
            instructions=(row["default_instructions"] or "")[:500],
            order=min(max(row["sequence_order"] or 0, 0), 32767),
        )
        if _valid(ShortKeyItem, item, report, *where):
            items.add(item)
    items.flush()


# --- appointments and prescriptions ----------------------------------------------------------


def _load_existing(model, target: dict, fields=("patient_id", "doctor_id")) -> None:
    for pk, *values in model.objects.values_list("id", *fields).iterator(chunk_size=5000):
        target[pk] = tuple(values)


def import_appointments(ctx) -> None:
    from clinical.models import Appointment

    report = ctx.report
    _load_existing(Appointment, ctx.appointments)
    writer = _writer(Appointment, ctx, "appointments")
    bar = ctx.bar("appointments")
    has_type = ctx.source.has("appointments", "appointment_type")
    for row in ctx.source.rows("appointments"):
        if bar:
            bar.advance()
        where = ("appointments", row["id"])
        appointment_id = ctx.id("appointments", row["id"])
        if appointment_id in ctx.appointments:
            report.existing("appointments")
            continue
        patient = row["patient_uuid"] if row["patient_uuid"] in ctx.patients else None
        doctor = ctx.id("doctors", row["doctor_id"])
        if patient is None or doctor not in ctx.doctors:
            report.skip(*where, "its patient or doctor was not imported")
            continue
        number, day, count = convert.number(row["appointment_number"], "APT")
        if number is None:
            report.skip(*where, f"number {row['appointment_number']!r} is not APT<date><count>")
            continue
        ctx.count_number("APT", day, count)
        office = None
        if row["office_id"]:
            office = ctx.offices.get(str(row["office_id"]))
            if office is None:
                report.change(*where, f"office {row['office_id']} is unknown: no office")
        duration, why = convert.clamp(row["duration_minutes"] or 30, 5, 480, "duration")
        if why:
            report.change(*where, why)
        end, why = convert.end_time(row["appointment_time"], duration)
        if why:
            report.change(*where, why)
        reason, why = convert.text(row["reason_for_visit"], 500, "reason")
        if why:
            report.change(*where, why)
        appointment = _row(
            Appointment,
            id=appointment_id,
            appointment_number=number,
            legacy_number=row["appointment_number"].strip().upper(),
            patient_id=patient,
            doctor_id=doctor,
            office_id=office,
            appointment_date=row["appointment_date"],
            start_time=row["appointment_time"],
            end_time=end,
            duration_minutes=duration,
            appointment_type=(row["appointment_type"] if has_type else None) or "scheduled",
            status=row["status"] or "scheduled",
            reason=reason,
            notes=row["notes"] or "",
            booked_by_id=ctx.users.get(row["created_by"]),
            created_at=convert.aware(row["created_at"]),
        )
        if _valid(Appointment, appointment, report, *where):
            ctx.appointments[appointment_id] = (patient, doctor)
            writer.add(appointment)
    _done(bar, writer)


def import_prescriptions(ctx) -> None:
    from clinical.models import Prescription, PrescriptionItem, PrescriptionPrint

    report = ctx.report
    _load_existing(Prescription, ctx.prescriptions)
    linked = set(
        Prescription.objects.filter(appointment__isnull=False).values_list(
            "appointment_id", flat=True
        )
    )
    prints = _writer(PrescriptionPrint, ctx, "prescription prints")
    pending = {}

    def printed(fresh):
        # The print record of a prescription written now (not one a previous run wrote).
        for written in fresh:
            if written["id"] in pending:
                prints.add(pending[written["id"]])
        pending.clear()

    writer = _writer(Prescription, ctx, "prescriptions", on_flush=printed)
    bar = ctx.bar("prescriptions")
    for row in ctx.source.rows("prescriptions"):
        if bar:
            bar.advance()
        where = ("prescriptions", row["id"])
        prescription_id = ctx.id("prescriptions", row["id"])
        if prescription_id in ctx.prescriptions:
            report.existing("prescriptions")
            continue
        patient = row["patient_uuid"] if row["patient_uuid"] in ctx.patients else None
        doctor = ctx.id("doctors", row["doctor_id"])
        if patient is None or doctor not in ctx.doctors:
            report.skip(*where, "its patient or doctor was not imported")
            continue
        number, day, count = convert.number(row["prescription_number"], "RX")
        if number is None:
            report.skip(*where, f"number {row['prescription_number']!r} is not RX<date><count>")
            continue
        ctx.count_number("RX", day, count)
        appointment = None
        if row["appointment_id"]:
            appointment = ctx.id("appointments", row["appointment_id"])
            if appointment not in ctx.appointments:
                report.change(*where, "its appointment was not imported: no appointment")
                appointment = None
            elif appointment in linked:
                report.change(*where, "its appointment already has a prescription: unlinked")
                appointment = None
        diagnosis, why = convert.text(row["diagnosis"], 1000, "diagnosis")
        if why:
            report.change(*where, why)
        complaint, why = convert.text(row["chief_complaint"], 500, "chief complaint")
        if why:
            report.change(*where, why)
        prescription = _row(
            Prescription,
            id=prescription_id,
            prescription_number=number,
            legacy_number=row["prescription_number"].strip().upper(),
            patient_id=patient,
            doctor_id=doctor,
            appointment_id=appointment,
            visit_date=row["visit_date"],
            chief_complaint=complaint,
            diagnosis=diagnosis,
            symptoms=row["symptoms"] or "",
            clinical_notes=row["clinical_notes"] or "",
            instructions=row["doctor_instructions"] or "",
            status=row["status"] or "active",
            created_by_id=ctx.users.get(row["created_by"]),
            created_at=convert.aware(row["created_at"]),
        )
        if not _valid(Prescription, prescription, report, *where):
            continue
        if appointment:
            linked.add(appointment)
        ctx.prescriptions[prescription_id] = (patient, doctor)
        if row["is_printed"]:
            pending[prescription_id] = _row(
                PrescriptionPrint,
                id=ctx.id("prescription_prints", row["id"]),
                prescription_id=prescription_id,
                printed_at=convert.aware(row["printed_at"] or row["created_at"]),
                format="pdf",
            )
        writer.add(prescription)
    _done(bar, writer, prints)
    _import_items(ctx, PrescriptionItem)


def _import_items(ctx, PrescriptionItem) -> None:
    report = ctx.report
    writer = _writer(PrescriptionItem, ctx, "prescription_items")
    bar = ctx.bar("prescription_items")
    current, prescription, seen = None, None, set()
    for row in ctx.source.rows(
        "prescription_items", order_by="prescription_id, sequence_order, id"
    ):
        if bar:
            bar.advance()
        where = ("prescription_items", row["id"])
        if row["prescription_id"] != current:  # items come grouped by prescription
            current, seen = row["prescription_id"], set()
            prescription = ctx.id("prescriptions", current)
        medicine = ctx.medicines.get(row["medicine_id"])
        if prescription not in ctx.prescriptions or medicine is None:
            report.skip(*where, "its prescription or medicine was not imported")
            continue
        if medicine in seen:
            report.skip(*where, "the same medicine twice on one prescription")
            continue
        seen.add(medicine)
        quantity = row["quantity"]
        if quantity is not None and not 1 <= quantity <= 10000:
            report.change(*where, f"quantity {quantity} outside 1-10000: left empty")
            quantity = None
        item = _row(
            PrescriptionItem,
            id=ctx.id("prescription_items", row["id"]),
            prescription_id=prescription,
            medicine_id=medicine,
            dosage=(row["dosage"] or "")[:100],
            frequency=(row["frequency"] or "")[:100],
            duration=(row["duration"] or "")[:100],
            instructions=(row["instructions"] or "")[:500],
            quantity=quantity,
            generic_substitution_allowed=row["is_generic_substitution_allowed"] is not False,
            order=min(max(row["sequence_order"] or 0, 0), 32767),
            unit_price=row["unit_price"],
            total_amount=row["total_amount"],
        )
        if _valid(PrescriptionItem, item, report, *where):
            writer.add(item)
    _done(bar, writer)


# --- dental records --------------------------------------------------------------------------


def import_dental(ctx) -> None:
    _import_templates(ctx)
    _import_observations(ctx)
    _import_procedures(ctx)
    _import_attachments(ctx)


def _choice(mapping, value, what, report, where, default=""):
    key = str(value or "").strip().lower()
    if not key:
        return default
    if key in mapping:
        return mapping[key]
    report.change(*where, f"{what} {value!r} has no equivalent: {default or 'left blank'}")
    return default


def _import_templates(ctx) -> None:
    from clinical.models import DentalTemplate

    report = ctx.report
    names = {}
    for pk, tenant_id, name, notes in DentalTemplate.objects.values_list(
        "id", "tenant_id", "name", "notes"
    ):
        names[name.lower()] = pk
        if tenant_id is None:
            names[("shared", notes.strip().lower())] = pk
    writer = _writer(DentalTemplate, ctx, "dental_observation_templates")
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
        template = _row(
            DentalTemplate,
            id=template_id,
            name=name,
            condition_type=_choice(
                convert.CONDITIONS,
                row["condition_type"],
                "condition",
                report,
                where,
                "other" if row["condition_type"] else "",
            ),
            tooth_surface=_choice(convert.SURFACES, row["tooth_surface"], "surface", report, where),
            severity=_choice(convert.SEVERITIES, row["severity"], "severity", report, where),
            notes=text,
            is_active=bool(row["is_active"]),
        )
        if _valid(DentalTemplate, template, report, *where):
            names[name.lower()] = template_id
            writer.add(template)
    writer.flush()


def _import_observations(ctx) -> None:
    from clinical.models import DentalObservation
    from clinical.models.dental import ALL_TEETH

    report = ctx.report
    _load_existing(DentalObservation, ctx.observations)
    writer = _writer(DentalObservation, ctx, "dental_observations")
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
        observation = _row(
            DentalObservation,
            id=observation_id,
            patient_id=patient,
            doctor_id=visit[1],
            appointment_id=appointment if appointment in ctx.appointments else None,
            prescription_id=prescription if prescription in ctx.prescriptions else None,
            tooth_number=int(tooth),
            tooth_surface=_choice(convert.SURFACES, row["tooth_surface"], "surface", report, where),
            condition_type=_choice(
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
        if _valid(DentalObservation, observation, report, *where):
            ctx.observations[observation_id] = (patient, visit[1])
            writer.add(observation)
    _done(bar, writer)


def _import_procedures(ctx) -> None:
    from clinical.models import DentalProcedure
    from clinical.models.dental import ALL_TEETH, procedure_code_validator

    report = ctx.report
    existing = {}
    _load_existing(DentalProcedure, existing)
    writer = _writer(DentalProcedure, ctx, "dental_procedures")
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
        procedure = _row(
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
        if _valid(DentalProcedure, procedure, report, *where):
            ctx.procedures[procedure_id] = known[0]
            writer.add(procedure)
    writer.flush()


def _import_attachments(ctx) -> None:
    from clinical.models import DentalAttachment

    report = ctx.report
    writer = _writer(DentalAttachment, ctx, "dental_attachments")
    root = Path(ctx.files_from) if ctx.files_from else None
    for row in ctx.source.rows("dental_attachments"):
        where = ("dental_attachments", row["id"])
        attachment_id = ctx.id("dental_attachments", row["id"])
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
        attachment = _row(
            DentalAttachment,
            id=attachment_id,
            patient_id=patient,
            observation_id=observation,
            procedure_id=procedure,
            file=name,
            file_type=_choice(
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
        if _valid(DentalAttachment, attachment, report, *where):
            writer.add(attachment)
    writer.flush()


def copy_files(copies) -> None:
    """After the import committed: the attachment files, into the clinic's prefix."""
    for path, name in copies:
        with open(path, "rb") as handle:
            default_storage.save(name, handle)


# --- prescription templates ------------------------------------------------------------------


def import_prescription_templates(ctx) -> None:
    """Print templates are not in this system yet (issue 16): the report lists each one so
    the clinic can set its letterhead up again."""
    for row in ctx.source.rows("prescription_templates"):
        ctx.report.skip(
            "prescription_templates",
            row["id"],
            f"{row['name']!r} ({row['paper_size'] or '?'} {row['orientation'] or ''}, "
            f"{'clinic default' if row['doctor_id'] is None else 'a doctor'}): "
            "print templates are not in this system yet",
        )
