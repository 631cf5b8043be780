"""Clinic pages: signup, dashboard, plan, settings and offices."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.clinic_middleware import SESSION_CLINIC_KEY
from accounts.selectors import memberships_of, person_by_email
from accounts.testing import add_member, create_clinic, session_login
from clinical.models import Doctor, Office, Patient
from clinical.services import doctor_profile_create, office_create
from clinics import charts
from clinics.selectors import clinic_weekly_activity
from tenants.context import tenant_context
from tenants.models import PlanChange, Tenant
from tenants.testing import build


def signup_form(**overrides):
    body = {
        "clinic_name": "Green Valley Clinic",
        "clinic_phone": "080 4000 1234",
        "clinic_address": "5 Lake Road, Mysuru",
        "owner_first_name": "Neha",
        "owner_last_name": "Joshi",
        "owner_email": "neha@greenvalley.example",
        "owner_phone": "+91 98450 98450",
        "password1": "Lotus-Pond-4821",
        "password2": "Lotus-Pond-4821",
        "also_doctor": "on",
        "license_number": "KA-5511",
        "specialization": "General Medicine",
        "qualification": "MBBS",
        "experience_years": "9",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def add_doctor(clinic, n: int):
    membership = add_member(clinic, email=f"doc{n}@example.com", role="doctor")
    doctor_profile_create(
        tenant=clinic, user=membership.user, license_number=f"LIC-{n}", specialization="ENT"
    )


@pytest.fixture
def owner_client(client, clinic_a, alice):
    session_login(client, alice, clinic_a)
    return client


# --- signup -------------------------------------------------------------------------------


def test_signup_creates_the_clinic_logs_in_and_lands_on_the_dashboard(
    client, db, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/signup/", signup_form())
    assert response.status_code == 302 and response["Location"] == "/clinic/"
    user = person_by_email("neha@greenvalley.example")
    [membership] = memberships_of(user)
    assert membership.role == "owner"
    assert client.session[SESSION_CLINIC_KEY] == str(membership.tenant_id)
    with tenant_context(membership.tenant_id):
        doctor = Doctor.objects.get(user=user)
        assert doctor.license_number == "KA-5511" and doctor.experience_years == 9
        assert Office.objects.get().is_primary
    assert user.phone == "9845098450"
    assert "/verify-email/" in mailoutbox[0].body
    page = client.get("/clinic/").content.decode()
    assert "Green Valley Clinic" in page and "Please verify your e-mail address" in page
    assert "30-day free trial" in page


def test_signup_without_being_a_doctor_ignores_the_doctor_fields(client, db):
    response = client.post("/signup/", signup_form(also_doctor=None, license_number=""))
    assert response.status_code == 302
    user = person_by_email("neha@greenvalley.example")
    tenant_id = client.session[SESSION_CLINIC_KEY]
    with tenant_context(tenant_id):
        assert not Doctor.objects.filter(user=user).exists()
        assert not Office.objects.exists()


def test_signup_errors_show_inline_and_keep_the_values(client, db):
    response = client.post(
        "/signup/",
        signup_form(owner_phone="12345", license_number="", password2="Something-Else-1"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter a valid Indian mobile number" in page
    assert "The two passwords do not match." in page
    assert 'value="Green Valley Clinic"' in page and 'value="neha@greenvalley.example"' in page
    assert 'aria-invalid="true"' in page
    assert person_by_email("neha@greenvalley.example") is None


def test_signup_as_a_doctor_needs_the_licence(client, db):
    response = client.post("/signup/", signup_form(license_number=""))
    page = response.content.decode()
    assert 'id="id_license_number_error"' in page
    assert "Required when the owner is also a doctor." in page
    assert person_by_email("neha@greenvalley.example") is None


def test_signup_refuses_a_weak_password_and_a_used_email(client, clinic_a, alice):
    weak = client.post("/signup/", signup_form(password1="password", password2="password"))
    assert "This password is too common." in weak.content.decode()
    taken = client.post("/signup/", signup_form(owner_email=alice.email.upper()))
    assert 'id="id_owner_email_error"' in taken.content.decode()
    assert "An account with this e-mail already exists." in taken.content.decode()
    assert "_auth_user_id" not in client.session


# --- dashboard ----------------------------------------------------------------------------


def test_dashboard_shows_plan_trial_days_and_usage(owner_client, clinic_a):
    add_doctor(clinic_a, 1)
    with tenant_context(clinic_a):
        for _ in range(3):
            build(Patient)
    page = owner_client.get("/clinic/").content.decode()
    days = (clinic_a.trial_ends_at - timezone.now()).days
    assert "Trial" in page and f"{days} days left" in page
    assert "1 of 5" in page and "3 of 1,000" in page
    assert 'role="img"' in page and "New patients and prescriptions per week" in page


def test_dashboard_at_the_doctor_limit_shows_the_upgrade_path(owner_client, clinic_a):
    for n in range(5):
        add_doctor(clinic_a, n)
    page = owner_client.get("/clinic/").content.decode()
    assert "All 5 doctor seats of the Trial plan are in use." in page
    assert '<a href="/clinic/plan/">upgrade the plan</a>' in page


def test_dashboard_shows_an_expired_trial_read_only(client, db):
    clinic = create_clinic("Lapsed", trial_ends_at=timezone.now() - timedelta(days=2))
    session_login(client, clinic.owner, clinic)
    page = client.get("/clinic/").content.decode()
    assert "Trial ended" in page and "read-only" in page
    assert 'href="/clinic/plan/">Choose a plan</a>' in page


def test_dashboard_counts_only_this_clinic(owner_client, clinic_a, clinic_b):
    with tenant_context(clinic_b):
        for _ in range(4):
            build(Patient)
    page = owner_client.get("/clinic/").content.decode()
    assert "0 of 1,000" in page


def test_weekly_activity_counts_new_patients_per_week(clinic_a, clinic_b):
    now = timezone.make_aware(datetime(2026, 3, 18, 12, 0))  # a Wednesday
    with tenant_context(clinic_a):
        build(Patient, created_at=now)
        build(Patient, created_at=now - timedelta(days=2))  # Monday, same week
        build(Patient, created_at=now - timedelta(days=3))  # Sunday, the week before
        build(Patient, created_at=now - timedelta(weeks=20))  # too old to show
    with tenant_context(clinic_b):
        build(Patient, created_at=now)
    weeks = clinic_weekly_activity(clinic_a, now=now)
    assert len(weeks) == 12
    assert weeks[-1]["week_start"].isoformat() == "2026-03-16"
    assert weeks[0]["week_start"].isoformat() == "2025-12-29"
    assert [w["patients"] for w in weeks[-2:]] == [1, 2]
    assert sum(w["patients"] for w in weeks) == 3


def test_chart_geometry_scales_bars_to_the_axis():
    rows = [
        {"week_start": datetime(2026, 1, 5) + timedelta(weeks=n), "patients": n} for n in range(13)
    ]
    chart = charts.weekly_bar_chart(rows, [charts.Series("patients", "New patients", "patients")])
    assert chart["ticks"][-1]["value"] == 12
    tallest = max(chart["bars"], key=lambda bar: bar["h"])
    assert tallest["y"] == chart["ticks"][-1]["y"]
    assert chart["bars"][0]["h"] == 0 and chart["total"] == sum(range(13))
    assert tallest["title"] == "Week of 30 Mar: 12 new patients"
    assert chart["title"] == "New patients per week, last 13 weeks"


# --- plan ---------------------------------------------------------------------------------


def test_plan_page_lists_the_plans_with_limits_and_prices(owner_client):
    page = owner_client.get("/clinic/plan/").content.decode()
    for text in ("Basic", "₹2,999/month", "Premium", "₹9,999/month", "Enterprise", "Custom"):
        assert text in page
    assert "Switch to Basic" in page


def test_owner_asking_for_a_plan_gets_an_invoice_to_pay_and_keeps_the_trial(live_db, client):
    clinic = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    session_login(client, clinic.owner, clinic)
    response = client.post("/clinic/plan/", {"plan": "basic"})
    assert response["Location"] == "/clinic/plan/"
    page = client.get("/clinic/plan/").content.decode()
    assert "Pay now" in page and "INV/" in page and "Open" in page
    with tenant_context(clinic):
        clinic.refresh_from_db()
        assert not PlanChange.objects.exists()
    assert clinic.plan == "trial"


def test_a_downgrade_below_usage_is_refused_with_the_numbers(client, db):
    clinic = create_clinic("Asha Dental Care", plan="premium")
    session_login(client, clinic.owner, clinic)
    for n in range(21):
        add_doctor(clinic, n)
    response = client.post("/clinic/plan/", {"plan": "basic"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "the Basic plan allows 20 doctors; this clinic has 21" in page
    assert "This clinic has 21 active doctors" in page
    with tenant_context(clinic):
        clinic.refresh_from_db()
    assert clinic.plan == "premium"


def test_only_the_owner_changes_the_plan(client, clinic_a, bob):
    admin = add_member(clinic_a, email="admin@asha.example", role="admin").user
    for user in (bob, admin):
        session_login(client, user, clinic_a)
        assert "Switch to Basic" not in client.get("/clinic/plan/").content.decode()
        assert client.post("/clinic/plan/", {"plan": "basic"}).status_code == 403
    with tenant_context(clinic_a):
        clinic_a.refresh_from_db()
    assert clinic_a.plan == "trial"


def test_an_expired_trial_asking_for_a_plan_stays_read_only_until_paid(client, live_db):
    clinic = create_clinic(
        "Lapsed", trial_ends_at=timezone.now() - timedelta(days=2), status=Tenant.Status.EXPIRED
    )
    session_login(client, clinic.owner, clinic)
    assert client.post("/clinic/plan/", {"plan": "basic"})["Location"] == "/clinic/plan/"
    with tenant_context(clinic):
        clinic.refresh_from_db()
    assert clinic.plan == "trial" and not clinic.is_writable


# --- settings and offices -----------------------------------------------------------------


def test_admin_updates_the_clinic_details(owner_client, clinic_a):
    response = owner_client.post(
        "/clinic/settings/",
        {
            "clinic-name": "Asha Dental & Implant Care",
            "clinic-email": "front@asha.example",
            "clinic-phone": "080 4110 2200",
            "clinic-address": "14, 12th Main, Indiranagar",
        },
    )
    assert response["Location"] == "/clinic/settings/"
    with tenant_context(clinic_a):
        clinic_a.refresh_from_db()
    assert clinic_a.name == "Asha Dental & Implant Care" and clinic_a.phone == "08041102200"


def test_invalid_clinic_details_show_inline(owner_client, clinic_a):
    response = owner_client.post(
        "/clinic/settings/", {"clinic-name": "", "clinic-phone": "12", "clinic-email": "nope"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_clinic-name_error"' in page and "Enter a valid phone number" in page


def test_members_see_the_settings_but_cannot_change_them(client, clinic_a, bob):
    session_login(client, bob, clinic_a)
    page = client.get("/clinic/settings/").content.decode()
    assert "Asha Dental Care" in page and "Save details" not in page
    assert client.post("/clinic/settings/", {"clinic-name": "Mine now"}).status_code == 403
    assert client.post("/clinic/settings/offices/", {"office-name": "X"}).status_code == 403


def test_admin_adds_and_edits_offices(owner_client, clinic_a):
    response = owner_client.post(
        "/clinic/settings/offices/",
        {
            "office-name": "Koramangala",
            "office-address": "80 Feet Road",
            "office-phone": "9845012345",
            "office-is_primary": "on",
        },
    )
    assert response["Location"] == "/clinic/settings/"
    with tenant_context(clinic_a):
        office = Office.objects.get()
    assert office.is_primary and office.phone == "9845012345"
    assert "Koramangala" in owner_client.get("/clinic/settings/").content.decode()
    response = owner_client.post(
        f"/clinic/settings/offices/{office.pk}/",
        {
            "office-name": "Koramangala branch",
            "office-address": "80 Feet Road",
            "office-is_primary": "on",
        },
    )
    assert response["Location"] == "/clinic/settings/"
    with tenant_context(clinic_a):
        office.refresh_from_db()
    assert office.name == "Koramangala branch" and not office.is_active


def test_duplicate_office_names_are_refused(owner_client, clinic_a):
    office_create(tenant=clinic_a, name="Main")
    response = owner_client.post("/clinic/settings/offices/", {"office-name": "Main"})
    assert response.status_code == 400
    with tenant_context(clinic_a):
        assert Office.objects.count() == 1


def test_another_clinics_office_is_a_404(client, clinic_a, clinic_b, charlie):
    office = office_create(tenant=clinic_a, name="Main")
    session_login(client, charlie, clinic_b)
    assert client.get(f"/clinic/settings/offices/{office.pk}/").status_code == 404
    response = client.post(f"/clinic/settings/offices/{office.pk}/", {"office-name": "Taken"})
    assert response.status_code == 404
    with tenant_context(clinic_a):
        office.refresh_from_db()
    assert office.name == "Main"


def test_a_read_only_clinic_refuses_settings_changes(client, db):
    clinic = create_clinic("Paused", status=Tenant.Status.SUSPENDED)
    session_login(client, clinic.owner, clinic)
    assert "Save details" not in client.get("/clinic/settings/").content.decode()
    response = client.post("/clinic/settings/", {"clinic-name": "Renamed"})
    assert response.status_code == 402
    with tenant_context(clinic):
        clinic.refresh_from_db()
    assert clinic.name == "Paused"


def test_only_admins_open_the_office_editor(client, clinic_a, bob):
    office = office_create(tenant=clinic_a, name="Main")
    session_login(client, bob, clinic_a)
    response = client.get(f"/clinic/settings/offices/{office.pk}/")
    assert response.status_code == 403
    assert "Your role in this clinic does not allow this." in response.content.decode()


def test_dashboard_uses_a_constant_number_of_queries(owner_client, clinic_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get("/clinic/").status_code == 200
        return len(queries)

    few = count()
    with tenant_context(clinic_a):
        for n in range(30):
            build(Patient, created_at=timezone.now() - timedelta(days=n * 3))
    for n in range(3):
        add_doctor(clinic_a, n)
    assert count() == few
