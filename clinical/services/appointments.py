"""Booking appointments, moving them through their status machine, rescheduling.

No two blocking appointments of one doctor may overlap. PostgreSQL could say so with an
exclusion constraint, but that needs btree_gist, a contrib extension the embedded server
does not ship. Instead every booking locks the doctor's row first: bookings of one doctor
queue there, so the overlap check and the insert are one race-free step, while bookings of
other doctors (and other clinics) never wait.
"""

from __future__ import annotations

import datetime

from django.db import models, transaction
from django.utils import timezone

from clinical.models import Appointment, Doctor, NumberCounter, Office, Patient
from clinical.selectors import weekday_windows
from clinical.services.common import (
    as_type,
    clean_text,
    field_error,
    full_clean,
    get_in_clinic,
)
from clinical.services.numbering import next_number
from clinical.versions import check_version
from core.errors import ConflictError
from core.validators import DATE_MAX, DATE_MIN, DATE_RANGE_MESSAGE
from tenants.audit import audit_record
from tenants.context import tenant_context

# A scheduled booking may start this long before "now" (the front desk is typing).
BOOKING_GRACE = datetime.timedelta(minutes=5)
FIELD_NAMES = {
    "patient": "patient_id",
    "doctor": "doctor_id",
    "office": "office_id",
    "start_time": "appointment_time",
}


def local_now() -> datetime.datetime:
    """The clinic's wall-clock time (naive, TIME_ZONE), as dates and times are stored."""
    return timezone.localtime().replace(tzinfo=None, second=0, microsecond=0)


def _window_for(doctor: Doctor, day: datetime.date, start, end):
    for window in weekday_windows(doctor, day):
        if window.start_time <= start and end <= window.end_time:
            return window
    return None


def _overlapping(doctor: Doctor, day, start, end):
    return Appointment.objects.filter(
        doctor=doctor,
        appointment_date=day,
        status__in=Appointment.BLOCKING,
        start_time__lt=end,
        end_time__gt=start,
    )


def _active_office(office_id, *, field: str = "office_id") -> Office | None:
    office = get_in_clinic(Office.objects.all(), office_id, field=field, label="office")
    if office is not None and not office.is_active:
        raise field_error(field, "This office is closed.")
    return office


@transaction.atomic
def appointment_book(
    *,
    tenant,
    actor,
    patient_id,
    doctor_id,
    appointment_date: datetime.date,
    appointment_time: datetime.time | None = None,
    duration_minutes: int | None = None,
    office_id=None,
    appointment_type: str = Appointment.Type.SCHEDULED,
    reason: str = "",
    notes: str = "",
    rescheduled_from: Appointment | None = None,
) -> Appointment:
    """Book a patient with a doctor. A scheduled booking must lie in the doctor's weekly
    availability; a walk-in is for today, at any time. Neither may overlap another booking
    of the doctor (409 `slot_taken`)."""
    with tenant_context(tenant):
        patient = get_in_clinic(
            Patient.objects.active(), patient_id, field="patient_id", label="patient"
        )
        if patient is None:
            raise field_error("patient_id", "This field is required.")
        # The lock that makes the overlap check race-free (see the module docstring).
        doctor = get_in_clinic(
            Doctor.objects.all(), doctor_id, field="doctor_id", label="doctor", lock=True
        )
        if doctor is None:
            raise field_error("doctor_id", "This field is required.")
        if not doctor.is_active:
            raise field_error(
                "doctor_id", "This doctor is no longer active.", code="doctor_inactive"
            )
        appointment_date = as_type(models.DateField(), appointment_date, name="appointment_date")
        appointment_time = as_type(models.TimeField(), appointment_time, name="appointment_time")
        if appointment_date is None:
            raise field_error("appointment_date", "This field is required.")
        # Before any arithmetic on it: 9999-12-31 plus the duration would overflow (a 500).
        if not DATE_MIN <= appointment_date <= DATE_MAX:
            raise field_error("appointment_date", DATE_RANGE_MESSAGE)
        if appointment_type not in Appointment.Type.values:
            raise field_error("appointment_type", "Choose scheduled or walk_in.")
        walk_in = appointment_type == Appointment.Type.WALK_IN
        now = local_now()
        if appointment_date < now.date():
            raise field_error(
                "appointment_date", "Appointments cannot be booked in the past.", code="past_date"
            )
        if walk_in and appointment_date != now.date():
            raise field_error("appointment_date", "A walk-in is for today.")
        if appointment_time is None:
            if not walk_in:
                raise field_error("appointment_time", "This field is required.")
            appointment_time = now.time()
        appointment_time = appointment_time.replace(second=0, microsecond=0)
        duration = duration_minutes or doctor.consultation_duration
        start = datetime.datetime.combine(appointment_date, appointment_time)
        end = start + datetime.timedelta(minutes=duration)
        if end.date() != appointment_date:
            raise field_error("duration_minutes", "The appointment must end on the same day.")
        if not walk_in and start < now - BOOKING_GRACE:
            raise field_error(
                "appointment_time", "This time has already passed today.", code="past_date"
            )
        window = _window_for(doctor, appointment_date, start.time(), end.time())
        if not walk_in and window is None:
            raise field_error(
                "appointment_time",
                "The doctor is not available then; see appointments/availability.",
                code="outside_availability",
            )
        office = _active_office(office_id)
        if office is None and window is not None and window.office_id:
            office = window.office
        if _overlapping(doctor, appointment_date, start.time(), end.time()).exists():
            raise ConflictError(
                "The doctor already has an appointment at that time.",
                code="slot_taken",
                field_errors={"appointment_time": ["Overlaps another appointment."]},
            )
        appointment = Appointment(
            patient=patient,
            doctor=doctor,
            office=office,
            appointment_date=appointment_date,
            start_time=start.time(),
            end_time=end.time(),
            duration_minutes=duration,
            appointment_type=appointment_type,
            reason=clean_text(reason),
            notes=clean_text(notes),
            rescheduled_from=rescheduled_from,
            booked_by=actor,
        )
        full_clean(
            appointment,
            exclude=["appointment_number", "patient", "doctor", "office", "rescheduled_from"],
            validate_unique=False,
            validate_constraints=False,
            rename=FIELD_NAMES,
        )
        appointment.appointment_number = next_number(NumberCounter.Kind.APPOINTMENT)
        appointment.save(force_insert=True)
        audit_record(
            action="appointment.booked",
            actor=actor,
            object=appointment,
            patient_id=patient.pk,
        )
    return appointment


def _locked(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update().get(pk=appointment.pk)


def _refuse_transition(appointment: Appointment, status: str, hint: str = ""):
    allowed = sorted(Appointment.TRANSITIONS.get(appointment.status, ()))
    return ConflictError(
        f"An appointment that is {appointment.get_status_display().lower()} cannot become "
        f"{status}.{hint}",
        code="invalid_transition",
        extra={"from": appointment.status, "to": status, "allowed": allowed},
    )


@transaction.atomic
def appointment_transition(*, tenant, actor, appointment: Appointment, status: str, reason=""):
    """Move an appointment along its status machine (Appointment.TRANSITIONS); anything else
    is refused with 409 `invalid_transition`."""
    with tenant_context(tenant):
        appointment = _locked(appointment)
        if status not in Appointment.Status.values:
            raise field_error("status", f"Unknown status {status!r}.")
        if status == Appointment.Status.RESCHEDULED:
            raise _refuse_transition(
                appointment, status, " Use appointments/{id}/reschedule to book the new time."
            )
        if not appointment.can_move_to(status):
            raise _refuse_transition(appointment, status)
        previous = appointment.status
        appointment.status = status
        appointment.status_changed_at = timezone.now()
        if status == Appointment.Status.CANCELLED:
            appointment.cancellation_reason = clean_text(reason)[:500]
        appointment.save()
        audit_record(
            action="appointment.status_changed",
            actor=actor,
            object=appointment,
            patient_id=appointment.patient_id,
            details={"from": previous, "to": status},
        )
    return appointment


@transaction.atomic
def appointment_reschedule(
    *,
    tenant,
    actor,
    appointment: Appointment,
    appointment_date: datetime.date,
    appointment_time: datetime.time,
    duration_minutes: int | None = None,
    office_id=None,
) -> Appointment:
    """Book the new time as a new appointment (its own number, linked by
    `rescheduled_from`) and mark the old one `rescheduled`: the history stays readable."""
    with tenant_context(tenant):
        old = _locked(appointment)
        if not old.can_move_to(Appointment.Status.RESCHEDULED):
            raise _refuse_transition(old, Appointment.Status.RESCHEDULED)
        # The old booking stops blocking first, so a move within its own time works.
        old.status = Appointment.Status.RESCHEDULED
        old.status_changed_at = timezone.now()
        old.save()
        new = appointment_book(
            tenant=tenant,
            actor=actor,
            patient_id=old.patient_id,
            doctor_id=old.doctor_id,
            appointment_date=appointment_date,
            appointment_time=appointment_time,
            duration_minutes=duration_minutes or old.duration_minutes,
            office_id=office_id if office_id is not None else old.office_id,
            appointment_type=Appointment.Type.SCHEDULED,
            reason=old.reason,
            notes=old.notes,
            rescheduled_from=old,
        )
    return new


APPOINTMENT_EDITABLE_FIELDS = ("reason", "notes", "office_id")


@transaction.atomic
def appointment_update(
    *, tenant, actor, appointment: Appointment, expected_version=None, **changes
) -> Appointment:
    """Change the reason, notes or office of an appointment that has not started. The time
    changes only by rescheduling.
    `expected_version` (clinical.versions): the version the editor saw; another one is a 409
    `edit_conflict` and nothing changes."""
    with tenant_context(tenant):
        appointment = _locked(appointment)
        check_version(appointment, expected_version)
        if appointment.status not in Appointment.EDITABLE:
            raise ConflictError(
                f"A {appointment.get_status_display().lower()} appointment cannot be changed.",
                code="not_editable",
            )
        for name, value in changes.items():
            if name not in APPOINTMENT_EDITABLE_FIELDS:
                raise field_error(name, "This field cannot be changed; reschedule instead.")
            if name == "office_id":
                appointment.office = _active_office(value)
            else:
                setattr(appointment, name, clean_text(value))
        full_clean(
            appointment,
            exclude=["patient", "doctor", "office", "rescheduled_from"],
            validate_unique=False,
            validate_constraints=False,
            rename=FIELD_NAMES,
        )
        appointment.save()
        audit_record(
            action="appointment.updated",
            actor=actor,
            object=appointment,
            patient_id=appointment.patient_id,
            details={"fields": sorted(changes)},
        )
    return appointment
