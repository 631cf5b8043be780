"""Patients, medicines, short keys, appointments and prescriptions of the earlier system,
streamed and written in batches."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from clinical.models import (
    Appointment,
    Medicine,
    Patient,
    Prescription,
    PrescriptionItem,
    PrescriptionPrint,
    ShortKey,
    ShortKeyItem,
)
from clinical.models.patients import MAX_FAMILY_SIZE
from clinical.selectors import medicine_catalogue
from clinics.legacy import convert
from clinics.legacy.people import message
from clinics.legacy.rows import batch_writer, clean, done, load_existing, new_row, valid
from core.validators import normalize_indian_mobile

# --- patients --------------------------------------------------------------------------------


def import_patients(ctx) -> None:
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
    writer = batch_writer(Patient, ctx, "patients")
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
        patient = new_row(
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
                if not valid(Patient, patient, report, *where):
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
    done(bar, writer)


# --- medicines and short keys ----------------------------------------------------------------


def _medicine_key(name, form, strength) -> tuple:
    return ((name or "").strip().lower(), form, (strength or "").strip().lower())


def import_medicines(ctx) -> None:
    report = ctx.report
    known = {}
    shared = set()
    # The catalogue the clinic sees: the shared medicines and its own.
    for pk, is_global, name, form, strength in medicine_catalogue().values_list(
        "id", "is_global", "name", "dosage_form", "strength"
    ):
        key = _medicine_key(name, form, strength)
        if is_global:
            shared.add(key)
            ctx.shared_medicines.add(pk)
        # The clinic's own row wins over a shared one of the same name, form and strength.
        if key not in known or not is_global:
            known[key] = pk
    writer = batch_writer(Medicine, ctx, "medicines")
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
        medicine = new_row(
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
            if not valid(Medicine, medicine, report, *where):
                continue
        known[key] = medicine["id"]
        ctx.medicines[row["id"]] = medicine["id"]
        writer.add(medicine)
    done(bar, writer)


def _medicine_column(ctx, medicine) -> dict:
    """A line's medicine in the right column: a shared one or the clinic's own."""
    if medicine in ctx.shared_medicines:
        return {"shared_medicine_id": medicine}
    return {"medicine_id": medicine}


RESERVED_CODES = {"ALL", "NONE", "NULL", "ADMIN", "TEST"}


def import_short_keys(ctx) -> None:
    report = ctx.report
    codes = set(ShortKey.objects.values_list("code", flat=True))
    keys = {}
    writer = batch_writer(ShortKey, ctx, "short_keys")
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
        short_key = new_row(
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
        if not valid(ShortKey, short_key, report, *where):
            continue
        codes.add(code)
        keys[row["id"]] = key_id
        writer.add(short_key)
    writer.flush()
    items = batch_writer(ShortKeyItem, ctx, "short_key_medicines")
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
        item = new_row(
            ShortKeyItem,
            id=ctx.id("short_key_medicines", row["id"]),
            short_key_id=key_id,
            **_medicine_column(ctx, medicine),
            dosage=(row["default_dosage"] or "")[:100],
            frequency=(row["default_frequency"] or "")[:100],
            duration=(row["default_duration"] or "")[:100],
            instructions=(row["default_instructions"] or "")[:500],
            order=min(max(row["sequence_order"] or 0, 0), 32767),
        )
        if valid(ShortKeyItem, item, report, *where):
            items.add(item)
    items.flush()


# --- appointments and prescriptions ----------------------------------------------------------


def _numbers_in_use(ctx, model, field: str) -> set:
    """Numbers the clinic gave itself before this import (adopting into an existing clinic):
    an earlier record converted to one of them would break the per-clinic uniqueness."""
    if ctx.fresh:
        return set()
    return set(
        model.objects.filter(legacy_number="")
        .values_list(field, flat=True)
        .iterator(chunk_size=5000)
    )


def _visit_keys(ctx, row, where, *, column: str, prefix: str, used: set):
    """(patient, doctor, number) of an earlier appointment or prescription, or None after
    reporting why the row is skipped: its patient or doctor was not imported, or its number
    (`APT<date><count>` / `RX<date><count>`) is malformed or already used in the clinic."""
    patient = row["patient_uuid"] if row["patient_uuid"] in ctx.patients else None
    doctor = ctx.id("doctors", row["doctor_id"])
    if patient is None or doctor not in ctx.doctors:
        ctx.report.skip(*where, "its patient or doctor was not imported")
        return None
    number, day, count = convert.number(row[column], prefix)
    if number is None:
        ctx.report.skip(*where, f"number {row[column]!r} is not {prefix}<date><count>")
        return None
    if number in used:
        ctx.report.skip(*where, f"number {number} is already used in the clinic")
        return None
    ctx.count_number(prefix, day, count)
    return patient, doctor, number


def import_appointments(ctx) -> None:
    report = ctx.report
    load_existing(Appointment, ctx.appointments)
    used = _numbers_in_use(ctx, Appointment, "appointment_number")
    writer = batch_writer(Appointment, ctx, "appointments")
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
        checked = _visit_keys(ctx, row, where, column="appointment_number", prefix="APT", used=used)
        if checked is None:
            continue
        patient, doctor, number = checked
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
        appointment = new_row(
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
        if valid(Appointment, appointment, report, *where):
            ctx.appointments[appointment_id] = (patient, doctor)
            writer.add(appointment)
    done(bar, writer)


def import_prescriptions(ctx) -> None:
    report = ctx.report
    load_existing(Prescription, ctx.prescriptions)
    used = _numbers_in_use(ctx, Prescription, "prescription_number")
    linked = set(
        Prescription.objects.filter(appointment__isnull=False).values_list(
            "appointment_id", flat=True
        )
    )
    prints = batch_writer(PrescriptionPrint, ctx, "prescription prints")
    pending = {}

    def printed(fresh):
        # The print record of a prescription written now (not one a previous run wrote).
        for written in fresh:
            if written["id"] in pending:
                prints.add(pending[written["id"]])
        pending.clear()

    writer = batch_writer(Prescription, ctx, "prescriptions", on_flush=printed)
    bar = ctx.bar("prescriptions")
    for row in ctx.source.rows("prescriptions"):
        if bar:
            bar.advance()
        where = ("prescriptions", row["id"])
        prescription_id = ctx.id("prescriptions", row["id"])
        if prescription_id in ctx.prescriptions:
            report.existing("prescriptions")
            continue
        checked = _visit_keys(ctx, row, where, column="prescription_number", prefix="RX", used=used)
        if checked is None:
            continue
        patient, doctor, number = checked
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
        prescription = new_row(
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
        if not valid(Prescription, prescription, report, *where):
            continue
        if appointment:
            linked.add(appointment)
        ctx.prescriptions[prescription_id] = (patient, doctor)
        if row["is_printed"]:
            pending[prescription_id] = new_row(
                PrescriptionPrint,
                id=ctx.id("prescription_prints", row["id"]),
                prescription_id=prescription_id,
                printed_at=convert.aware(row["printed_at"] or row["created_at"]),
                format="pdf",
            )
        writer.add(prescription)
    done(bar, writer, prints)
    _import_items(ctx, PrescriptionItem)


def _import_items(ctx, PrescriptionItem) -> None:
    report = ctx.report
    writer = batch_writer(PrescriptionItem, ctx, "prescription_items")
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
        item = new_row(
            PrescriptionItem,
            id=ctx.id("prescription_items", row["id"]),
            prescription_id=prescription,
            **_medicine_column(ctx, medicine),
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
        if valid(PrescriptionItem, item, report, *where):
            writer.add(item)
    done(bar, writer)
