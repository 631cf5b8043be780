"""POST /api/v1/tenants/register-clinic"""

from __future__ import annotations

import importlib
import threading

import pytest
from django.db import connection

from accounts.models import Membership, User
from accounts.selectors import person_by_email
from clinical.models import Doctor, Office
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.platform import platform_access

URL = "/api/v1/tenants/register-clinic"


def signup_body(**overrides):
    body = {
        "clinic_name": "Smile Dental Studio",
        "clinic_phone": "080 2345 6789",
        "clinic_address": "12 MG Road, Bengaluru 560001",
        "owner_first_name": "Priya",
        "owner_last_name": "Nair",
        "owner_email": "Priya.Nair@Example.com",
        "owner_phone": "+91 98450 12345",
        "password": "Lotus-Garden-2026",
        "role": "admin_doctor",
        "license_number": "KMC-45678",
        "specialization": "Dentistry",
        "qualification": "BDS, MDS",
        "experience_years": 9,
    }
    body.update(overrides)
    return body


def test_register_creates_clinic_owner_doctor_and_office(
    api, db, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, signup_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["tenant"]["tenant_name"] == "Smile Dental Studio"
    assert body["tenant"]["tenant_code"].startswith("smile-dental-studio-")
    assert body["tenant"]["subscription_plan"] == "trial"
    assert body["tenant"]["subscription_status"] == "active"
    assert (body["tenant"]["max_doctors"], body["tenant"]["max_patients"]) == (5, 1000)
    assert body["user"]["email"] == "priya.nair@example.com"
    assert body["user"]["role"] == "owner"
    assert body["user"]["tenant_id"] == body["tenant"]["id"]

    with tenant_context(body["tenant"]["id"]):
        membership = Membership.objects.get()
        doctor = Doctor.objects.select_related("user").get()
        office = Office.objects.get()
        doctor_offices = list(doctor.offices.all())
    assert membership.role == "owner" and membership.is_active
    assert doctor.user_id == membership.user_id and doctor.license_number == "KMC-45678"
    assert office.is_primary and office.address == "12 MG Road, Bengaluru 560001"
    assert doctor_offices == [office]
    assert [m.subject for m in mailoutbox] == ["Verify your e-mail address for Clinic SaaS"]

    me = api.get("/api/v1/tenants/me", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.status_code == 200 and me.json()["id"] == body["tenant"]["id"]


def test_admin_owner_gets_no_doctor_profile(api, db):
    body = signup_body(role="admin", license_number="", specialization="")
    response = api.post(URL, body, format="json")
    assert response.status_code == 201
    with tenant_context(response.json()["tenant"]["id"]):
        assert not Doctor.objects.exists() and not Office.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"password": "short"}, "password", "weak_password"),
        ({"password": "password1234"}, "password", "weak_password"),
        ({"owner_phone": "12345"}, "owner_phone", "invalid"),
        ({"clinic_phone": "call me"}, "clinic_phone", "invalid"),
        ({"owner_email": "not-an-email"}, "owner_email", "invalid"),
        ({"license_number": ""}, "license_number", "invalid"),
        ({"specialization": "  "}, "specialization", "invalid"),
        ({"role": "superuser"}, "role", "invalid"),
        ({"clinic_name": ""}, "clinic_name", "invalid"),
        ({"experience_years": -1}, "experience_years", "invalid"),
    ],
)
def test_bad_signup_is_refused_with_field_errors_and_nothing_created(
    api, db, overrides, field, code
):
    response = api.post(URL, signup_body(**overrides), format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == code
    assert field in body["errors"], body
    assert person_by_email(signup_body(**overrides)["owner_email"]) is None


def test_used_email_is_refused(api, db, alice):
    response = api.post(URL, signup_body(owner_email="ALICE@asha.example"), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "email_taken"
    assert "email" in response.json()["errors"]


def test_tenant_fields_in_the_body_are_ignored(api, db, clinic_b):
    body = signup_body(tenant_id=str(clinic_b.pk), tenant=str(clinic_b.pk), id=str(clinic_b.pk))
    response = api.post(URL, body, format="json")
    assert response.status_code == 201
    assert response.json()["tenant"]["id"] != str(clinic_b.pk)


def _platform_counts():
    with platform_access(reason="test: count rows"):
        return {
            "tenants": Tenant.objects.count(),
            "users": User.objects.count(),
            "memberships": Membership.objects.count(),
            "doctors": Doctor.objects.count(),
            "offices": Office.objects.count(),
        }


@pytest.mark.parametrize(
    ("module", "step"),
    [
        ("clinics.services", "user_create"),
        ("clinics.services", "audit_record"),
        ("clinics.services", "office_create"),
        ("clinics.services", "doctor_profile_create"),
        ("clinics.services", "email_verification_send"),
    ],
)
def test_a_failure_at_any_step_leaves_no_row_behind(
    api, live_db, monkeypatch, mailoutbox, module, step
):
    # clinic_register (clinics.services) looks each step up in its module's globals at call
    # time, so patching them there injects the failure right after that step has done its work.
    target = importlib.import_module(module)
    original = getattr(target, step)

    def step_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError(f"injected failure after {step}")

    monkeypatch.setattr(target, step, step_then_fail)
    api.raise_request_exception = False
    response = api.post(URL, signup_body(), format="json")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert _platform_counts() == dict.fromkeys(
        ("tenants", "users", "memberships", "doctors", "offices"), 0
    )
    assert mailoutbox == [], "a rolled-back signup must not e-mail anyone"
    monkeypatch.undo()
    retry = api.post(URL, signup_body(), format="json")
    assert retry.status_code == 201, retry.json()
    assert len(mailoutbox) == 1


def test_two_simultaneous_signups_with_one_email_make_one_clinic(live_db):
    from rest_framework.test import APIClient

    barrier = threading.Barrier(2)
    results = []

    def signup(name):
        client = APIClient()
        barrier.wait()
        try:
            results.append(client.post(URL, signup_body(clinic_name=name), format="json"))
        finally:
            connection.close()

    threads = [threading.Thread(target=signup, args=(n,)) for n in ("First", "Second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 400], [r.json() for r in results]
    refused = next(r for r in results if r.status_code == 400)
    assert refused.json()["code"] == "email_taken"
    counts = _platform_counts()
    assert (counts["tenants"], counts["users"], counts["memberships"]) == (1, 1, 1)
