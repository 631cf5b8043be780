"""Reads of clinical records that are more than a filter: search, families, the short keys a
person sees, the lists' prefetches, the weekly windows and free slots of a doctor, the doctors
one can book and a patient's history (the admin's timeline).

Selectors only read; the writes are in clinical.services.
"""

from __future__ import annotations

import datetime
import re

from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When

from accounts.models import Invitation
from clinical.models import (
    Appointment,
    CatalogueMedicine,
    DentalObservation,
    DentalProcedure,
    Doctor,
    DoctorAvailability,
    DoctorOffice,
    Office,
    Patient,
    Prescription,
    PrescriptionItem,
    ShortKey,
    ShortKeyItem,
)

_PHONE_CHARS = re.compile(r"[\s\-().+]")


def mobile_prefix_range(prefix: str) -> tuple[str, str | None]:
    """[low, high) bounds of the ten-digit numbers that start with `prefix` (digits).

    A range instead of `LIKE 'prefix%'`: LIKE is not leakproof, so under row-level security
    PostgreSQL may not use an index for it; `>=` and `<` on text are leakproof and keep the
    `(tenant_id, mobile, …)` index. For digit strings the order is the same in every
    collation. High is None when the prefix is all nines (no upper bound).
    """
    digits = prefix.rstrip("9")
    if not digits:
        return prefix, None
    high = digits[:-1] + str(int(digits[-1]) + 1)
    return prefix, high


def _mobile_search_digits(term: str) -> str | None:
    """The mobile-number prefix a search term means, or None when it is a name."""
    compact = _PHONE_CHARS.sub("", term)
    if not compact.isdigit():
        return None
    # "+91 98450…" and "098450…" mean the number "98450…".
    if term.strip().startswith("+91") or (len(compact) > 10 and compact.startswith("91")):
        compact = compact[2:]
    elif len(compact) == 11 and compact.startswith("0"):
        compact = compact[1:]
    return compact[:10]


def patient_search(queryset: QuerySet, term: str) -> QuerySet:
    """Search by mobile-number prefix (digits, with or without +91) or by name (every word
    must appear in the first or the last name, case-insensitively)."""
    term = (term or "").strip()
    if not term:
        return queryset
    digits = _mobile_search_digits(term)
    if digits is not None:
        if not digits:
            return queryset
        low, high = mobile_prefix_range(digits)
        queryset = queryset.filter(mobile__gte=low)
        return queryset.filter(mobile__lt=high) if high else queryset
    for word in term.split()[:5]:
        queryset = queryset.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
    return queryset


def family_members(mobile: str, *, exclude=None) -> QuerySet:
    """The active members of a family, the primary (`self`) first, then by registration."""
    queryset = Patient.objects.active().filter(mobile=mobile)
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude.pk)
    return queryset.annotate(
        primary_first=Case(
            When(relationship_to_primary=Patient.Relationship.SELF, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("primary_first", "created_at", "id")


def doctors_with_details(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("user").prefetch_related(
        _invitations(),
        Prefetch("office_links", queryset=DoctorOffice.objects.select_related("office")),
        Prefetch(
            "availability", queryset=DoctorAvailability.objects.order_by("weekday", "start_time")
        ),
    )


# Lists read one clinic table in index order and fetch the related rows by primary key
# afterwards (a constant number of queries whatever the page size). Joining two RLS tables in
# the page query would make PostgreSQL underestimate the join and sort the whole clinic
# before paginating (design.md, "What is measured"; clinical/tests/test_query_plans.py).
def _patients() -> Prefetch:
    return Prefetch("patient", queryset=Patient.objects.all())


def _doctors() -> Prefetch:
    return Prefetch(
        "doctor", queryset=Doctor.objects.select_related("user").prefetch_related(_invitations())
    )


def _invitations() -> Prefetch:
    # A doctor who has not accepted yet shows what the clinic typed in the invitation. Read
    # by primary key within the clinic (a join would scan the invitations without the clinic
    # condition: tenants/tests/query_plans/).
    return Prefetch("invitation", queryset=Invitation.objects.all())


def appointments_with_details(queryset: QuerySet) -> QuerySet:
    return queryset.prefetch_related(
        _patients(), _doctors(), Prefetch("office", queryset=Office.objects.all())
    )


def prescriptions_with_details(queryset: QuerySet) -> QuerySet:
    return queryset.prefetch_related(
        _patients(),
        _doctors(),
        Prefetch("items", queryset=medicine_lines(PrescriptionItem)),
    )


def dental_records_with_details(queryset: QuerySet) -> QuerySet:
    """Observations and procedures (doctor set) or attachments (no doctor) with their
    patient, and doctor, fetched by key."""
    if any(f.name == "doctor" for f in queryset.model._meta.fields):
        return queryset.prefetch_related(_patients(), _doctors())
    return queryset.prefetch_related(_patients())


def short_key_items_prefetch() -> Prefetch:
    return Prefetch("items", queryset=medicine_lines(ShortKeyItem))


def medicine_lines(model, queryset=None) -> QuerySet:
    """Prescription or short-key lines with the medicine each names, shared or the clinic's
    own (`line.catalogue_medicine`), read in the same query: two joins by primary key."""
    queryset = model.objects.all() if queryset is None else queryset
    return queryset.select_related("medicine", "shared_medicine")


def medicine_catalogue() -> QuerySet:
    """The medicine catalogue the clinic in context sees: the shared catalogue and the
    clinic's own medicines, one queryset (the view behind CatalogueMedicine says why)."""
    return CatalogueMedicine.objects.all()


def short_keys_visible_to(user, queryset=None) -> QuerySet:
    """The clinic's shared keys and the person's own personal ones."""
    queryset = ShortKey.objects.all() if queryset is None else queryset
    return queryset.filter(Q(doctor__isnull=True) | Q(doctor__user_id=user.pk))


def weekday_windows(doctor: Doctor, day: datetime.date) -> list[DoctorAvailability]:
    """The doctor's weekly availability windows on that day's weekday (one query, or none
    when `availability` is prefetched)."""
    return [w for w in doctor.availability.all() if w.weekday == day.weekday()]


def doctor_free_slots(*, doctor: Doctor, day: datetime.date, now: datetime.datetime) -> list[dict]:
    """Slots of the doctor's consultation length inside the weekly windows of that weekday,
    minus those overlapping a blocking appointment, minus those already past."""
    windows = weekday_windows(doctor, day)
    booked = list(
        Appointment.objects.filter(
            doctor=doctor, appointment_date=day, status__in=Appointment.BLOCKING
        ).values_list("start_time", "end_time")
    )
    step = datetime.timedelta(minutes=doctor.consultation_duration)
    slots = []
    for window in sorted(windows, key=lambda w: w.start_time):
        start = datetime.datetime.combine(day, window.start_time)
        limit = datetime.datetime.combine(day, window.end_time)
        while start + step <= limit:
            end = start + step
            taken = any(b_start < end.time() and start.time() < b_end for b_start, b_end in booked)
            if not taken and start >= now:
                slots.append(
                    {
                        "start_time": start.time(),
                        "end_time": end.time(),
                        "office_id": window.office_id,
                    }
                )
            start = end
    return slots


def doctor_profile_exists(*, user_id) -> bool:
    """Whether the person has a doctor profile in the clinic in context (any status)."""
    return Doctor.objects.filter(user_id=user_id).exists()


def named_doctors() -> QuerySet:
    """The clinic's doctors (active or not) with what their names need, in two queries
    whatever their number (a doctor who has not accepted yet is named by the invitation)."""
    return (
        Doctor.objects.select_related("user")
        .prefetch_related(_invitations())
        .order_by("-is_active", "created_at", "id")
    )


def bookable_doctors() -> QuerySet:
    """The clinic's active doctors, named (`named_doctors`), for a booking's choices."""
    return named_doctors().filter(is_active=True)


def own_doctor_id(*, user_id):
    """The id of the person's active doctor profile in the clinic in context, or None."""
    return (
        Doctor.objects.filter(user_id=user_id, is_active=True).values_list("pk", flat=True).first()
    )


def doctor_slots_on(*, doctor_id, day: datetime.date, now: datetime.datetime) -> list[dict]:
    """The free slots of one of the clinic's doctors on a day, as the API's availability
    answers them: none for a past day, an inactive doctor or an unknown id."""
    doctor = Doctor.objects.prefetch_related("availability").filter(pk=doctor_id).first()
    if doctor is None or not doctor.is_active or day < now.date():
        return []
    return doctor_free_slots(doctor=doctor, day=day, now=now)


# How many rows of each kind a patient's timeline shows (the newest); the lists show more.
TIMELINE_LIMIT = 50


def patient_timeline(
    patient: Patient,
    *,
    prescriptions: bool = False,
    dental: bool = False,
    limit: int = TIMELINE_LIMIT,
) -> dict[str, list]:
    """A patient's history by kind, each newest first: appointments always, prescriptions
    and dental findings and procedures only when asked (the caller checks the role). Each
    kind is one query plus its prefetches by key, whatever the number of rows."""
    history = {
        "appointments": list(
            appointments_with_details(Appointment.objects.filter(patient=patient)).order_by(
                "-appointment_date", "-start_time", "-id"
            )[:limit]
        ),
        "prescriptions": [],
        "observations": [],
        "procedures": [],
    }
    if prescriptions:
        history["prescriptions"] = list(
            Prescription.objects.filter(patient=patient)
            .prefetch_related(_doctors())
            .order_by("-visit_date", "-created_at", "-id")[:limit]
        )
    if dental:
        history["observations"] = list(
            DentalObservation.objects.filter(patient=patient)
            .prefetch_related(_doctors())
            .order_by("-observed_on", "-created_at", "-id")[:limit]
        )
        history["procedures"] = list(
            DentalProcedure.objects.filter(patient=patient)
            .prefetch_related(_doctors())
            .order_by("-created_at", "-id")[:limit]
        )
    return history


def short_key_lines(key) -> list[dict]:
    """A short key's medicine lines, as a prescription's items (the service's input shape)."""
    return [
        {
            "medicine_id": item.catalogue_medicine_id,
            "dosage": item.dosage,
            "frequency": item.frequency,
            "duration": item.duration,
            "instructions": item.instructions,
            "quantity": item.quantity,
        }
        for item in key.items.all()
    ]
