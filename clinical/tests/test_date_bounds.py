"""Dates outside 1900-01-01..2100-12-31 are a 400 naming the field wherever dates are
accepted, and never reach arithmetic that overflows (a 500 for 9999-12-31 before)."""

from __future__ import annotations

import pytest

from clinical.models import Appointment
from clinical.services import appointment_book
from clinical.tests.conftest import h, observation_body, procedure_body
from clinical.tests.test_appointments import book
from clinical.tests.test_prescriptions import rx_body
from core.errors import ApplicationError
from core.validators import DATE_RANGE_MESSAGE
from tenants.context import tenant_context

FAR_FUTURE = "9999-12-31"
FAR_PAST = "0001-01-01"


@pytest.fixture
def api_no_raise(api):
    api.raise_request_exception = False
    return api


def assert_out_of_range(response, field):
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "invalid"
    assert response.json()["errors"][field] == [DATE_RANGE_MESSAGE]


def test_booking_on_the_last_day_python_knows_is_a_400(
    api_no_raise, clinic_a, alice, patient, doctor
):
    import datetime

    day = datetime.date(9999, 12, 31)
    response = book(api_no_raise, alice, clinic_a, patient, doctor, day, "23:55")
    assert_out_of_range(response, "appointment_date")
    with tenant_context(clinic_a):
        assert not Appointment.objects.exists()


def test_the_service_refuses_it_too_before_any_arithmetic(clinic_a, alice, patient, doctor):
    import datetime

    with pytest.raises(ApplicationError) as refused:
        appointment_book(
            tenant=clinic_a,
            actor=alice,
            patient_id=patient.pk,
            doctor_id=doctor.pk,
            appointment_date=datetime.date(9999, 12, 31),
            appointment_time=datetime.time(23, 55),
        )
    assert refused.value.field_errors == {"appointment_date": [DATE_RANGE_MESSAGE]}


def test_rescheduling_to_far_future_is_a_400_and_keeps_the_booking(
    api_no_raise, clinic_a, alice, patient, doctor, tomorrow
):
    old = book(api_no_raise, alice, clinic_a, patient, doctor, tomorrow, "10:00").json()
    response = api_no_raise.post(
        f"/api/v1/appointments/{old['id']}/reschedule",
        {"appointment_date": FAR_FUTURE, "appointment_time": "23:55"},
        format="json",
        **h(alice, clinic_a),
    )
    assert_out_of_range(response, "appointment_date")
    with tenant_context(clinic_a):
        assert Appointment.objects.get(pk=old["id"]).status == "scheduled"


def test_availability_far_ahead_is_a_400(api_no_raise, clinic_a, alice, doctor):
    response = api_no_raise.get(
        f"/api/v1/appointments/availability?doctor={doctor.pk}&date={FAR_FUTURE}",
        **h(alice, clinic_a),
    )
    assert_out_of_range(response, "date")


def test_prescription_dates_are_bounded(api_no_raise, clinic_a, bob, doctor, patient, medicines):
    response = api_no_raise.post(
        "/api/v1/prescriptions",
        rx_body(patient, medicines[:1], follow_up_date=FAR_FUTURE),
        format="json",
        **h(bob, clinic_a),
    )
    assert_out_of_range(response, "follow_up_date")


def test_dental_dates_are_bounded(api_no_raise, clinic_a, bob, dentist, patient):
    response = api_no_raise.post(
        "/api/v1/dental/procedures",
        procedure_body(patient, planned_date=FAR_FUTURE),
        format="json",
        **h(bob, clinic_a),
    )
    assert_out_of_range(response, "planned_date")
    response = api_no_raise.post(
        "/api/v1/dental/observations",
        observation_body(patient, observed_on=FAR_PAST),
        format="json",
        **h(bob, clinic_a),
    )
    assert_out_of_range(response, "observed_on")


def test_case_summary_range_is_bounded(api_no_raise, clinic_a, bob, dentist, patient):
    response = api_no_raise.get(
        f"/api/v1/patients/{patient.pk}/case-summary/?from={FAR_PAST}", **h(bob, clinic_a)
    )
    assert_out_of_range(response, "from")


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/appointments", "date"),
        ("/api/v1/appointments", "date_to"),
        ("/api/v1/prescriptions", "visit_date_from"),
        ("/api/v1/dental/observations", "observed_to"),
        ("/api/v1/audit", "date_to"),
        ("/api/v1/audit", "date_from"),
    ],
)
def test_list_filters_refuse_dates_out_of_range(api_no_raise, clinic_a, alice, url, param):
    for value in (FAR_FUTURE, FAR_PAST):
        response = api_no_raise.get(f"{url}?{param}={value}", **h(alice, clinic_a))
        assert_out_of_range(response, param)
