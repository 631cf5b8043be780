"""The tenant API: doctors, limits, me, offices, plan, read-only clinics."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.models import Invitation, Membership
from accounts.selectors import as_person, person_by_email
from accounts.testing import add_member, bearer, create_clinic
from clinical.models import Doctor, Office
from clinical.services import office_create
from tenants.context import tenant_context
from tenants.models import AuditEvent, PlanChange, Tenant
from tenants.platform import platform_access
from tenants.testing import build


def doctor_body(**overrides):
    body = {
        "first_name": "Ravi",
        "last_name": "Kumar",
        "email": "ravi.kumar@example.com",
        "phone": "9876543210",
        "license_number": "MCI-1001",
        "specialization": "Orthodontics",
        "qualification": "BDS",
        "experience_years": 4,
    }
    body.update(overrides)
    return body


# --- POST /tenants/doctors ------------------------------------------------------------------


def test_owner_adds_a_new_doctor_who_gets_an_invitation(
    api, clinic_a, alice, mailoutbox, django_capture_on_commit_callbacks
):
    office = office_create(tenant=clinic_a, name="Main branch")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/tenants/doctors",
            doctor_body(office_ids=[str(office.pk)]),
            format="json",
            **bearer(alice, clinic_a),
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["invitation_status"] == "invited" and body["user_id"] is None
    assert body["office_ids"] == [str(office.pk)]
    assert "password" not in str(body).lower()
    with tenant_context(clinic_a):
        invitation = Invitation.objects.get(email="ravi.kumar@example.com")
        assert not Membership.objects.filter(user__email="ravi.kumar@example.com").exists()
        assert Doctor.objects.get(pk=body["id"]).invitation_id == invitation.pk
    assert invitation.role == "doctor" and invitation.membership_id is None
    assert person_by_email("ravi.kumar@example.com") is None
    [mail] = mailoutbox
    assert mail.to == ["ravi.kumar@example.com"]
    assert "/invite/" in mail.body and invitation.secret_hash not in mail.body


def test_an_existing_user_is_invited_like_anyone_and_joins_only_by_accepting(
    api, clinic_a, alice, charlie
):
    response = api.post(
        "/api/v1/tenants/doctors",
        doctor_body(email=charlie.email.upper()),
        format="json",
        **bearer(alice, clinic_a),
    )
    assert response.status_code == 201, response.json()
    assert response.json()["invitation_status"] == "invited"
    assert response.json()["user_id"] is None
    with tenant_context(clinic_a):
        assert not Membership.objects.filter(user=charlie).exists()


def test_licence_numbers_are_unique_per_clinic(api, clinic_a, alice, clinic_b, charlie):
    first = api.post(
        "/api/v1/tenants/doctors", doctor_body(), format="json", **bearer(alice, clinic_a)
    )
    assert first.status_code == 201
    again = api.post(
        "/api/v1/tenants/doctors",
        doctor_body(email="other@example.com"),
        format="json",
        **bearer(alice, clinic_a),
    )
    assert again.status_code == 400
    assert again.json()["code"] == "duplicate_license"
    # The same licence in another clinic is not an error (and reveals nothing).
    elsewhere = api.post(
        "/api/v1/tenants/doctors",
        doctor_body(email="third@example.com"),
        format="json",
        **bearer(charlie, clinic_b),
    )
    assert elsewhere.status_code == 201


def test_office_of_another_clinic_is_refused(api, clinic_a, alice, clinic_b):
    foreign = office_create(tenant=clinic_b, name="B office")
    response = api.post(
        "/api/v1/tenants/doctors",
        doctor_body(office_ids=[str(foreign.pk)]),
        format="json",
        **bearer(alice, clinic_a),
    )
    assert response.status_code == 400
    assert "office_ids" in response.json()["errors"]
    with tenant_context(clinic_a):
        assert not Doctor.objects.exists()


def test_doctor_cannot_add_doctors(api, clinic_a, bob):
    response = api.post(
        "/api/v1/tenants/doctors", doctor_body(), format="json", **bearer(bob, clinic_a)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_anonymous_gets_401(api, db):
    response = api.post("/api/v1/tenants/doctors", doctor_body(), format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_limit_reached_refuses_new_doctor(api, clinic_a, alice):
    with tenant_context(clinic_a):
        for n in range(5):
            build(Doctor, license_number=f"L-{n}")
    response = api.post(
        "/api/v1/tenants/doctors", doctor_body(), format="json", **bearer(alice, clinic_a)
    )
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "plan_limit_reached"
    assert (body["limit"], body["current"], body["resource"]) == (5, 5, "doctors")
    with tenant_context(clinic_a):
        assert not Membership.objects.filter(user__email="ravi.kumar@example.com").exists()


def test_concurrent_additions_with_one_slot_left_admit_exactly_one(live_db):
    from rest_framework.test import APIClient

    clinic = create_clinic()
    with tenant_context(clinic):
        for n in range(4):
            build(Doctor, license_number=f"L-{n}")
    headers = bearer(clinic.owner, clinic)
    barrier = threading.Barrier(6)
    statuses = []

    def add(n):
        client = APIClient()
        barrier.wait()
        try:
            response = client.post(
                "/api/v1/tenants/doctors",
                doctor_body(email=f"doc{n}@example.com", license_number=f"NEW-{n}"),
                format="json",
                **headers,
            )
            statuses.append((response.status_code, response.json().get("code")))
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses, key=str) == sorted(
        [(201, None)] + [(403, "plan_limit_reached")] * 5, key=str
    )
    with tenant_context(clinic):
        assert Doctor.objects.filter(is_active=True).count() == 5


# --- GET /tenants/limits --------------------------------------------------------------------


def test_limits_show_usage_and_trial(api, clinic_a, bob):
    response = api.get("/api/v1/tenants/limits", **bearer(bob, clinic_a))
    assert response.status_code == 200
    body = response.json()
    assert body["plan"] == "trial"
    assert body["doctors"] == {"current": 0, "max": 5, "can_add": True}
    assert body["patients"] == {"current": 0, "max": 1000, "can_add": True}
    assert body["users"] == {"current": 2, "max": None, "can_add": True}
    assert body["is_trial"] is True and body["is_expired"] is False
    assert body["days_left"] in (29, 30)


def test_unlimited_plans_report_null_max(api, db):
    clinic = create_clinic(plan="premium")
    body = api.get("/api/v1/tenants/limits", **bearer(clinic.owner, clinic)).json()
    assert body["patients"]["max"] is None and body["doctors"]["max"] == 100
    assert body["is_trial"] is False and body["days_left"] is None


def test_limits_count_only_own_clinic(api, clinic_a, alice, clinic_b):
    with tenant_context(clinic_b):
        build(Doctor)
    body = api.get("/api/v1/tenants/limits", **bearer(alice, clinic_a)).json()
    assert body["doctors"]["current"] == 0


# --- /tenants/me ----------------------------------------------------------------------------


def test_me_shows_the_clinic_and_owner_can_edit(api, clinic_a, alice):
    response = api.get("/api/v1/tenants/me", **bearer(alice, clinic_a))
    assert response.status_code == 200
    assert response.json()["tenant_code"].startswith("asha-dental-care-")
    patch = api.patch(
        "/api/v1/tenants/me",
        {
            "tenant_name": "Asha Dental & Implants",
            "phone": "+91 98450 11111",
            "subscription_plan": "enterprise",
            "tenant_code": "hijack",
        },
        format="json",
        **bearer(alice, clinic_a),
    )
    assert patch.status_code == 200, patch.json()
    body = patch.json()
    assert body["tenant_name"] == "Asha Dental & Implants"
    assert body["phone"] == "9845011111"
    assert body["subscription_plan"] == "trial"
    assert body["tenant_code"] == response.json()["tenant_code"], "the code never changes"


def test_doctor_cannot_edit_the_clinic(api, clinic_a, bob):
    response = api.patch(
        "/api/v1/tenants/me", {"tenant_name": "x"}, format="json", **bearer(bob, clinic_a)
    )
    assert response.status_code == 403


def test_bad_phone_on_me_is_a_field_error(api, clinic_a, alice):
    response = api.patch(
        "/api/v1/tenants/me", {"phone": "abc"}, format="json", **bearer(alice, clinic_a)
    )
    assert response.status_code == 400 and "phone" in response.json()["errors"]


def test_tenant_header_or_query_never_changes_the_clinic(api, clinic_a, alice, clinic_b):
    response = api.get(
        f"/api/v1/tenants/me?tenant={clinic_b.pk}&tenant_id={clinic_b.pk}",
        HTTP_X_TENANT_ID=str(clinic_b.pk),
        **bearer(alice, clinic_a),
    )
    assert response.json()["id"] == str(clinic_a.pk)


# --- /tenants/offices -----------------------------------------------------------------------


def test_offices_list_with_their_doctors_in_constant_queries(
    api, clinic_a, alice, django_assert_max_num_queries
):
    with tenant_context(clinic_a):
        office = build(Office, name="Indiranagar")
        for n in range(3):
            doctor = build(Doctor, license_number=f"L{n}")
            doctor.offices.add(office, through_defaults={})
    headers = bearer(alice, clinic_a)
    # Request savepoint, membership (with the person and the clinic), count, offices, doctor
    # links, release: the same number whatever the rows.
    with django_assert_max_num_queries(6):
        response = api.get("/api/v1/tenants/offices", **headers)
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["name"] == "Indiranagar" and len(row["doctors"]) == 3


def test_owner_creates_and_edits_offices(api, clinic_a, alice):
    created = api.post(
        "/api/v1/tenants/offices",
        {
            "name": "Whitefield",
            "address": "ITPL Road",
            "phone": "080 4123 4567",
            "is_primary": True,
        },
        format="json",
        **bearer(alice, clinic_a),
    )
    assert created.status_code == 201, created.json()
    office_id = created.json()["id"]
    patched = api.patch(
        f"/api/v1/tenants/offices/{office_id}",
        {"name": "Whitefield East"},
        format="json",
        **bearer(alice, clinic_a),
    )
    assert patched.status_code == 200 and patched.json()["name"] == "Whitefield East"
    duplicate = api.post(
        "/api/v1/tenants/offices",
        {"name": "Whitefield East"},
        format="json",
        **bearer(alice, clinic_a),
    )
    assert duplicate.status_code == 400


def test_an_office_can_be_created_inactive(api, clinic_a, alice):
    """Every field the office answers with can be sent on creation (found by schemathesis:
    `is_active` used to reach the service as an unknown argument, a 500)."""
    response = api.post(
        "/api/v1/tenants/offices",
        {"name": "Old branch", "is_active": False},
        format="json",
        **bearer(alice, clinic_a),
    )
    assert response.status_code == 201, response.json()
    assert response.json()["is_active"] is False
    with tenant_context(clinic_a):
        assert Office.objects.get(name="Old branch").is_active is False


def test_outsider_gets_404_for_an_office(api, clinic_a, clinic_b, charlie):
    office = office_create(tenant=clinic_a, name="Private")
    url = f"/api/v1/tenants/offices/{office.pk}"
    assert api.get(url, **bearer(charlie, clinic_b)).status_code == 404
    response = api.patch(url, {"name": "Taken"}, format="json", **bearer(charlie, clinic_b))
    assert response.status_code == 404
    missing = api.get(
        "/api/v1/tenants/offices/00000000-0000-0000-0000-000000000000", **bearer(charlie, clinic_b)
    )
    assert missing.json() == response.json()


def test_malformed_office_id_is_404_not_500(api, clinic_a, alice):
    response = api.get("/api/v1/tenants/offices/not-a-uuid'--", **bearer(alice, clinic_a))
    assert response.status_code == 404


# --- /tenants/plan --------------------------------------------------------------------------


def test_owner_asking_for_a_paid_plan_gets_an_invoice_not_the_plan(api, live_db):
    clinic = create_clinic("Asha Dental Care")
    response = api.post(
        "/api/v1/tenants/plan", {"plan": "basic"}, format="json", **bearer(clinic.owner, clinic)
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["outcome"] == "invoice" and body["plan"] == "trial"
    assert body["invoice"]["number"].startswith("INV/") and body["invoice"]["status"] == "open"
    limits = api.get("/api/v1/tenants/limits", **bearer(clinic.owner, clinic)).json()
    assert limits["doctors"]["max"] == 5, "the trial's limits stay until the invoice is paid"
    with tenant_context(clinic):
        assert not PlanChange.objects.exists()
        assert AuditEvent.objects.filter(action="tenant.plan_requested").exists()


def test_only_the_owner_changes_plan(api, clinic_a, bob):
    add_member(clinic_a, email="admin@asha.example", role="admin")
    response = api.post(
        "/api/v1/tenants/plan", {"plan": "basic"}, format="json", **bearer(bob, clinic_a)
    )
    assert response.status_code == 403


def test_downgrade_below_usage_is_refused_with_the_numbers(api, db):
    clinic = create_clinic(plan="premium")
    with tenant_context(clinic):
        for n in range(21):
            build(Doctor, license_number=f"L{n}")
    response = api.post(
        "/api/v1/tenants/plan", {"plan": "basic"}, format="json", **bearer(clinic.owner, clinic)
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "plan_below_usage"
    assert "20 doctors" in body["detail"] and "21" in body["detail"]
    assert body["usage"]["doctors"] == 21 and body["limits"]["doctors"] == 20


def test_unknown_plan_is_a_field_error(api, clinic_a, alice):
    response = api.post(
        "/api/v1/tenants/plan", {"plan": "platinum"}, format="json", **bearer(alice, clinic_a)
    )
    assert response.status_code == 400 and "plan" in response.json()["errors"]


# --- read-only clinics ----------------------------------------------------------------------


@pytest.fixture
def expired_clinic(db):
    clinic = create_clinic(trial_ends_at=timezone.now() - timedelta(days=1))
    return clinic


def test_expired_trial_reads_but_refuses_writes_with_402(api, expired_clinic):
    headers = bearer(expired_clinic.owner, expired_clinic)
    assert api.get("/api/v1/tenants/me", **headers).status_code == 200
    response = api.patch("/api/v1/tenants/me", {"tenant_name": "x"}, format="json", **headers)
    assert response.status_code == 402
    assert response.json()["code"] == "subscription_inactive"
    limits = api.get("/api/v1/tenants/limits", **headers).json()
    assert limits["is_expired"] is True and limits["doctors"]["can_add"] is False


def test_owner_of_expired_clinic_can_ask_for_a_plan_but_stays_read_only_until_paid(api, live_db):
    expired = create_clinic(trial_ends_at=timezone.now() - timedelta(days=1), status="expired")
    headers = bearer(expired.owner, expired)
    response = api.post("/api/v1/tenants/plan", {"plan": "premium"}, format="json", **headers)
    assert response.status_code == 202
    patch = api.patch("/api/v1/tenants/me", {"tenant_name": "Back"}, format="json", **headers)
    assert patch.status_code == 402 and patch.json()["code"] == "subscription_inactive"


def test_suspended_clinic_is_read_only(api, clinic_a, alice):
    with tenant_context(clinic_a):
        Tenant.objects.filter(pk=clinic_a.pk).update(status="suspended")
    headers = bearer(alice, clinic_a)
    assert api.get("/api/v1/tenants/me", **headers).status_code == 200
    assert (
        api.post("/api/v1/tenants/offices", {"name": "x"}, format="json", **headers).status_code
        == 402
    )


def test_expire_trials_moves_ended_trials_to_expired(live_db):
    ended = create_clinic(trial_ends_at=timezone.now() - timedelta(hours=1))
    running = create_clinic()
    call_command("expire_trials")
    with platform_access(reason="test"):
        statuses = dict(Tenant.objects.values_list("pk", "status"))
    assert statuses[ended.pk] == "expired" and statuses[running.pk] == "active"


def test_cancelled_clinic_tokens_stop_working(api, clinic_a, alice):
    headers = bearer(alice, clinic_a)
    with tenant_context(clinic_a):
        Tenant.objects.filter(pk=clinic_a.pk).update(status="cancelled")
    response = api.get("/api/v1/tenants/me", **headers)
    assert response.status_code == 401
    assert response.json()["code"] == "membership_inactive"


def test_removed_member_stops_working_on_next_request(api, clinic_a, bob):
    headers = bearer(bob, clinic_a)
    assert api.get("/api/v1/tenants/me", **headers).status_code == 200
    with tenant_context(clinic_a):
        Membership.objects.filter(user=bob).update(is_active=False)
    assert api.get("/api/v1/tenants/me", **headers).status_code == 401


def test_deactivated_user_stops_working(api, clinic_a, bob):
    headers = bearer(bob, clinic_a)
    with as_person(bob):
        type(bob).objects.filter(pk=bob.pk).update(is_active=False)
    assert api.get("/api/v1/tenants/me", **headers).status_code == 401


def test_user_of_two_clinics_acts_for_the_token_clinic_only(api, clinic_a, clinic_b, bob):
    add_member(clinic_b, user=bob, role="nurse")
    assert api.get("/api/v1/tenants/me", **bearer(bob, clinic_b)).json()["id"] == str(clinic_b.pk)
    assert api.get("/api/v1/tenants/me", **bearer(bob, clinic_a)).json()["id"] == str(clinic_a.pk)
