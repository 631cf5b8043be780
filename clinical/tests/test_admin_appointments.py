"""The front desk's appointments in the admin (clinical.admin.appointments): today's schedule,
booking a free slot, status actions, rescheduling and changes, all through the services and
by the role matrix."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.testing import add_member, session_login
from clinical.models import Appointment, Patient
from clinical.services import appointment_book, appointment_transition
from clinical.tests.conftest import make_doctor
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tenants.testing import build

LIST = "/admin/clinical/appointment/"
ADD = "/admin/clinical/appointment/add/"


def signed_in(user, clinic) -> Client:
    client = Client()
    session_login(client, user, clinic)
    return client


@pytest.fixture
def desk(clinic_a, staff):
    """The receptionist's browser."""
    return signed_in(staff["receptionist"], clinic_a)


def book(clinic, actor, patient, doctor, day, hour, minute=0):
    return appointment_book(
        tenant=clinic,
        actor=actor,
        patient_id=patient.pk,
        doctor_id=doctor.pk,
        appointment_date=day,
        appointment_time=datetime.time(hour, minute),
    )


def today_visit(clinic, patient, doctor, hour=9):
    """An appointment today (built directly: booking checks the clock, and the tests must
    not depend on the hour they run at)."""
    with tenant_context(clinic):
        return build(
            Appointment,
            patient=patient,
            doctor=doctor,
            appointment_date=timezone.localdate(),
            start_time=datetime.time(hour, 0),
        )


def listed(response) -> list[Appointment]:
    assert response.status_code == 200, response.content.decode()[:2000]
    return list(response.context_data["cl"].result_list)


def events(clinic, **filters):
    with tenant_context(clinic):
        return list(AuditEvent.objects.filter(**filters))


def booking(patient, doctor, day, slot="08:00", **overrides):
    data = {
        "patient": str(patient.pk),
        "doctor": str(doctor.pk),
        "appointment_date": day.isoformat(),
        "appointment_time": slot,
        "appointment_type": "scheduled",
        "reason": "Fever",
        "notes": "",
    }
    data.update(overrides)
    return data


def get(clinic, pk) -> Appointment:
    with tenant_context(clinic):
        return Appointment.objects.get(pk=pk)


# --- today's schedule -------------------------------------------------------------------------


def test_the_schedule_opens_on_today_and_other_days_are_one_click_away(
    desk, clinic_a, alice, doctor, patient, tomorrow
):
    today = timezone.localdate()
    visit = today_visit(clinic_a, patient, doctor)
    with tenant_context(clinic_a):
        tomorrow_visit = build(
            Appointment, patient=patient, doctor=doctor, appointment_date=tomorrow
        )
        last_year = build(
            Appointment,
            patient=patient,
            doctor=doctor,
            appointment_date=today - datetime.timedelta(days=365),
        )
    assert [a.pk for a in listed(desk.get(LIST))] == [visit.pk]
    assert [a.pk for a in listed(desk.get(LIST, {"day": "tomorrow"}))] == [tomorrow_visit.pk]
    everything = {a.pk for a in listed(desk.get(LIST, {"day": "any"}))}
    assert everything == {visit.pk, tomorrow_visit.pk, last_year.pk}
    one_day = listed(desk.get(LIST, {"day": tomorrow.isoformat()}))
    assert [a.pk for a in one_day] == [tomorrow_visit.pk]


def test_searching_an_appointment_number_looks_at_every_date(desk, clinic_a, doctor, patient):
    with tenant_context(clinic_a):
        old = build(
            Appointment,
            patient=patient,
            doctor=doctor,
            appointment_date=timezone.localdate() - datetime.timedelta(days=30),
        )
    assert [a.pk for a in listed(desk.get(LIST, {"q": old.appointment_number}))] == [old.pk]


def test_the_schedule_shows_the_patients_name_and_mobile_the_doctor_time_and_status(
    desk, clinic_a, alice, doctor, patient, tomorrow
):
    book(clinic_a, alice, patient, doctor, tomorrow, 10, 30)
    page = desk.get(LIST, {"day": "tomorrow"}).content.decode()
    for text in ("Arjun Menon", "9845012345", str(doctor), "10:30", "Scheduled"):
        assert text in page


def test_a_doctor_sees_their_own_appointments_first(
    clinic_a, alice, bob, doctor, patient, tomorrow
):
    colleague = make_doctor(clinic_a, add_member(clinic_a, role="doctor").user)
    early = book(clinic_a, alice, patient, colleague, tomorrow, 8)
    own = book(clinic_a, alice, patient, doctor, tomorrow, 11)
    rows = listed(signed_in(bob, clinic_a).get(LIST, {"day": "tomorrow"}))
    assert [a.pk for a in rows] == [own.pk, early.pk]
    # Everyone else sees the day by time.
    rows = listed(signed_in(alice, clinic_a).get(LIST, {"day": "tomorrow"}))
    assert [a.pk for a in rows] == [early.pk, own.pk]


def test_the_schedule_can_be_filtered_by_doctor(desk, clinic_a, alice, doctor, patient, tomorrow):
    colleague = make_doctor(clinic_a, add_member(clinic_a, role="doctor").user)
    book(clinic_a, alice, patient, colleague, tomorrow, 8)
    own = book(clinic_a, alice, patient, doctor, tomorrow, 11)
    rows = listed(desk.get(LIST, {"day": "tomorrow", "doctor": str(doctor.pk)}))
    assert [a.pk for a in rows] == [own.pk]


def _schedule_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, {"day": "tomorrow"})
    return len(queries.captured_queries), len(listed(response))


def test_the_schedule_takes_as_many_queries_for_one_row_as_for_many(
    clinic_a, alice, bob, doctor, tomorrow
):
    client = signed_in(bob, clinic_a)
    colleague = make_doctor(clinic_a, add_member(clinic_a, role="doctor").user)
    with tenant_context(clinic_a):
        build(Appointment, doctor=doctor, appointment_date=tomorrow)
    one, rows = _schedule_queries(client)
    assert rows == 1
    with tenant_context(clinic_a):
        for n in range(15):
            build(
                Appointment,
                doctor=(doctor, colleague)[n % 2],
                appointment_date=tomorrow,
                start_time=datetime.time(9 + n % 8, 15 * (n % 4)),
            )
    many, rows = _schedule_queries(client)
    assert rows == 16
    assert many == one


# --- status actions ---------------------------------------------------------------------------


def act(client, action, *appointments, **extra):
    data = {"action": action, "_selected_action": [str(a.pk) for a in appointments], **extra}
    return client.post(f"{LIST}?day=any", data, follow=True)


def test_the_receptionist_confirms_checks_in_and_the_doctor_completes(
    desk, clinic_a, alice, bob, doctor, patient, staff
):
    visit = today_visit(clinic_a, patient, doctor)
    act(desk, "confirm", visit)
    assert get(clinic_a, visit.pk).status == "confirmed"
    act(desk, "check_in", visit)
    assert get(clinic_a, visit.pk).status == "in_progress"
    act(signed_in(bob, clinic_a), "complete", visit)
    assert get(clinic_a, visit.pk).status == "completed"
    changes = events(clinic_a, action="appointment.status_changed")
    assert [e.actor_id for e in sorted(changes, key=lambda e: e.created_at)] == [
        staff["receptionist"].pk,
        staff["receptionist"].pk,
        bob.pk,
    ]


def test_a_status_the_machine_refuses_is_reported_and_changes_nothing(
    desk, clinic_a, alice, doctor, patient, tomorrow
):
    visit = book(clinic_a, alice, patient, doctor, tomorrow, 9)
    other = book(clinic_a, alice, patient, doctor, tomorrow, 10)
    appointment_transition(tenant=clinic_a, actor=alice, appointment=other, status="in_progress")
    response = act(desk, "complete", visit, other)
    page = response.content.decode()
    assert "cannot become completed" in page
    assert "Done for 1 of 2" in page
    assert get(clinic_a, visit.pk).status == "scheduled"
    assert get(clinic_a, other.pk).status == "completed"


def test_the_front_desk_cancels_with_a_reason_and_marks_a_no_show(
    desk, clinic_a, alice, doctor, patient, tomorrow
):
    visit = book(clinic_a, alice, patient, doctor, tomorrow, 9)
    absent = book(clinic_a, alice, patient, doctor, tomorrow, 10)
    asked = act(desk, "cancel", visit)
    assert 'name="reason"' in asked.content.decode(), "the action asks for the reason first"
    act(desk, "cancel", visit, apply="1", reason="Patient travelling")
    cancelled = get(clinic_a, visit.pk)
    assert (cancelled.status, cancelled.cancellation_reason) == ("cancelled", "Patient travelling")
    act(desk, "mark_no_show", absent)
    assert get(clinic_a, absent.pk).status == "no_show"


@pytest.mark.parametrize("role", ["nurse", "receptionist"])
def test_every_role_has_the_status_actions(clinic_a, staff, role):
    response = signed_in(staff[role], clinic_a).get(LIST)
    actions = dict(response.context_data["action_form"].fields["action"].choices)
    assert {"confirm", "check_in", "complete", "mark_no_show", "cancel"} <= set(actions)
    assert "delete_selected" not in actions


# --- booking ----------------------------------------------------------------------------------


def test_the_booking_form_shows_the_doctors_free_slots_on_the_chosen_date(
    desk, clinic_a, alice, doctor, patient, tomorrow
):
    book(clinic_a, alice, patient, doctor, tomorrow, 8)
    # "Show free slots" comes back to the form, filled in, without saving anything.
    response = desk.post(ADD, {**booking(patient, doctor, tomorrow, slot=""), "_slots": "1"})
    assert response.status_code == 302
    page = desk.get(response["Location"])
    field = page.context_data["adminform"].form.fields["appointment_time"]
    slots = [value for value, _ in field.widget.choices]
    assert slots[:2] == ["08:15", "08:30"], "08:00 is taken"
    assert len(slots) == 47
    assert page.context_data["adminform"].form.initial["appointment_time"] == "08:15"
    with tenant_context(clinic_a):
        assert Appointment.objects.count() == 1


def test_receptionist_books_the_next_free_slot(desk, clinic_a, doctor, patient, staff, tomorrow):
    response = desk.post(ADD, booking(patient, doctor, tomorrow, slot="08:00"))
    assert response.status_code == 302, response.content.decode()
    assert response["Location"].endswith(f"?day={tomorrow.isoformat()}")
    with tenant_context(clinic_a):
        visit = Appointment.objects.get()
    assert (visit.patient_id, visit.doctor_id, visit.appointment_date) == (
        patient.pk,
        doctor.pk,
        tomorrow,
    )
    assert (visit.start_time, visit.end_time) == (datetime.time(8, 0), datetime.time(8, 15))
    assert visit.appointment_number.startswith("APT-")
    [booked] = events(clinic_a, action="appointment.booked")
    assert (booked.actor_id, booked.patient_id) == (staff["receptionist"].pk, patient.pk)


def test_booking_a_taken_slot_is_an_error_on_the_form(
    desk, clinic_a, alice, doctor, patient, tomorrow
):
    book(clinic_a, alice, patient, doctor, tomorrow, 8)
    response = desk.post(ADD, booking(patient, doctor, tomorrow, slot="08:00"))
    assert response.status_code == 200
    form = response.context_data["adminform"].form
    assert form.errors["appointment_time"] == ["Overlaps another appointment."]
    assert "already has an appointment at that time" in response.content.decode()
    with tenant_context(clinic_a):
        assert Appointment.objects.count() == 1


def test_booking_in_the_past_is_refused_on_the_form(desk, clinic_a, doctor, patient):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    response = desk.post(ADD, booking(patient, doctor, yesterday, slot="10:00"))
    assert response.status_code == 200
    errors = response.context_data["adminform"].form.errors
    assert errors["appointment_date"] == ["Appointments cannot be booked in the past."]
    with tenant_context(clinic_a):
        assert not Appointment.objects.exists()


def test_booking_outside_the_doctors_hours_is_refused_on_the_form(
    desk, clinic_a, doctor, patient, tomorrow
):
    response = desk.post(ADD, booking(patient, doctor, tomorrow, slot="22:00"))
    errors = response.context_data["adminform"].form.errors
    assert "not available then" in errors["appointment_time"][0]
    with tenant_context(clinic_a):
        assert not Appointment.objects.exists()


def test_a_scheduled_booking_needs_a_slot(desk, clinic_a, doctor, patient, tomorrow):
    response = desk.post(ADD, booking(patient, doctor, tomorrow, slot=""))
    assert response.context_data["adminform"].form.errors["appointment_time"] == [
        "Choose a free slot."
    ]


@pytest.mark.parametrize("role", ["owner", "admin", "doctor", "nurse", "receptionist"])
def test_every_role_may_book(clinic_a, alice, bob, doctor, patient, staff, tomorrow, role):
    user = {"owner": alice, "doctor": bob}.get(role) or staff[role]
    response = signed_in(user, clinic_a).post(ADD, booking(patient, doctor, tomorrow))
    assert response.status_code == 302, response.content.decode()[:2000]


def test_the_booking_form_offers_only_this_clinics_patients_and_active_doctors(
    desk, clinic_a, clinic_b, doctor, patient
):
    with tenant_context(clinic_a):
        retired = build(type(doctor), is_active=False)
        deleted = build(Patient, mobile="9900112233")
        Patient.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    with tenant_context(clinic_b):
        outsider = build(Patient, first_name="Outsider", mobile="9988776655")
    form = desk.get(ADD).context_data["adminform"].form
    assert {d.pk for d in form.fields["doctor"].queryset} == {doctor.pk}
    assert retired.pk not in {d.pk for d in form.fields["doctor"].queryset}
    found = desk.get(
        "/admin/autocomplete/",
        {
            "app_label": "clinical",
            "model_name": "appointment",
            "field_name": "patient",
            "term": "",
        },
    ).json()
    ids = {row["id"] for row in found["results"]}
    assert str(patient.pk) in ids
    assert str(deleted.pk) not in ids and str(outsider.pk) not in ids


def test_the_booking_form_starts_with_the_patient_from_the_patient_page(desk, patient):
    form = desk.get(ADD, {"patient": str(patient.pk)}).context_data["adminform"].form
    assert form.initial["patient"] == str(patient.pk)


# --- changing and rescheduling ----------------------------------------------------------------


def change_data(visit, **overrides):
    from clinical.versions import row_version

    with tenant_context(visit.tenant_id):
        version = row_version(Appointment, visit.pk)
    data = {
        "office": "",
        "reason": visit.reason,
        "notes": visit.notes,
        "row_version": version,
        "reschedule_to": "",
        "new_time": "",
    }
    data.update(overrides)
    return data


def test_changing_the_notes_goes_through_appointment_update(
    desk, clinic_a, alice, doctor, patient, staff, tomorrow
):
    visit = book(clinic_a, alice, patient, doctor, tomorrow, 9)
    url = f"{LIST}{visit.pk}/change/"
    response = desk.post(url, change_data(visit, notes="Bring the old reports"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert get(clinic_a, visit.pk).notes == "Bring the old reports"
    [updated] = events(clinic_a, action="appointment.updated")
    assert updated.actor_id == staff["receptionist"].pk


def test_rescheduling_books_the_new_slot_and_keeps_the_old_one_as_history(
    desk, clinic_a, alice, doctor, patient, tomorrow
):
    visit = book(clinic_a, alice, patient, doctor, tomorrow, 9)
    url = f"{LIST}{visit.pk}/change/"
    later = tomorrow + datetime.timedelta(days=1)
    shown = desk.post(
        url, {**change_data(visit), "reschedule_to": later.isoformat(), "_slots": "1"}
    )
    page = desk.get(shown["Location"])
    assert page.context_data["adminform"].form.initial["new_time"] == "08:00"
    response = desk.post(url, change_data(visit, reschedule_to=later.isoformat(), new_time="11:00"))
    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant_context(clinic_a):
        new = Appointment.objects.get(rescheduled_from=visit)
    assert response["Location"] == f"{LIST}{new.pk}/change/"
    assert (new.appointment_date, new.start_time) == (later, datetime.time(11, 0))
    assert get(clinic_a, visit.pk).status == "rescheduled"


def test_rescheduling_onto_a_taken_slot_is_an_error_on_the_form(
    desk, clinic_a, alice, doctor, patient, tomorrow
):
    visit = book(clinic_a, alice, patient, doctor, tomorrow, 9)
    book(clinic_a, alice, patient, doctor, tomorrow, 11)
    url = f"{LIST}{visit.pk}/change/"
    response = desk.post(
        url, change_data(visit, reschedule_to=tomorrow.isoformat(), new_time="11:00")
    )
    assert response.status_code == 200
    assert response.context_data["adminform"].form.errors["new_time"] == [
        "Overlaps another appointment."
    ]
    assert get(clinic_a, visit.pk).status == "scheduled", "nothing was written"


def test_a_completed_appointment_is_read_only(desk, clinic_a, alice, doctor, patient):
    visit = today_visit(clinic_a, patient, doctor)
    for status in ("in_progress", "completed"):
        appointment_transition(tenant=clinic_a, actor=alice, appointment=visit, status=status)
    page = desk.get(f"{LIST}{visit.pk}/change/").content.decode()
    assert 'name="notes"' not in page and 'name="reschedule_to"' not in page


# --- next steps and isolation -----------------------------------------------------------------


def test_a_doctor_writes_a_prescription_from_the_appointment(
    clinic_a, alice, bob, doctor, patient, staff, tomorrow
):
    visit = book(clinic_a, alice, patient, doctor, tomorrow, 9)
    url = f"{LIST}{visit.pk}/change/"
    link = f"/admin/clinical/prescription/add/?appointment={visit.pk}"
    assert link in signed_in(bob, clinic_a).get(url).content.decode()
    for role in ("nurse", "receptionist"):
        assert link not in signed_in(staff[role], clinic_a).get(url).content.decode()
    # An owner without a doctor profile writes no prescriptions.
    assert link not in signed_in(alice, clinic_a).get(url).content.decode()


@pytest.mark.parametrize("role", ["owner", "admin", "doctor", "nurse", "receptionist"])
def test_another_clinics_appointment_is_a_404_for_every_role(clinic_a, clinic_b, charlie, role):
    with tenant_context(clinic_b):
        theirs = build(Appointment)
    user = add_member(clinic_a, role=role).user
    client = signed_in(user, clinic_a)
    assert client.get(f"{LIST}{theirs.pk}/change/").status_code == 404
    assert client.get(LIST, {"day": "any"}).content.decode().count(str(theirs.pk)) == 0
