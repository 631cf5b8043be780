"""Issue 12, item 1: an invitation needs the invited person's consent.

Inviting any address creates a pending invitation and nothing else; the inviting clinic
sees only what it typed until the person accepts (through the e-mailed link, or signed in,
from their invitations), and the answer to an invite never tells whether the address has
an account.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Invitation, Membership, User
from accounts.selectors import as_person, person_by_email, person_by_id
from accounts.services import invitation_create
from accounts.testing import TEST_PASSWORD, bearer, session_login
from clinical.models import Doctor
from clinics.services import doctor_invite, invitation_revoke
from clinics.tests.admin_helpers import log_in, staff
from tenants.context import tenant_context

# Charlie (owner of clinic B) has an account; these are the names clinic A types for him.
TYPED = {"first_name": "Typed", "last_name": "Byclinic", "phone": "9811122233"}


def doctor_body(email: str, **overrides) -> dict:
    body = {
        **TYPED,
        "email": email,
        "license_number": "MCI-4242",
        "specialization": "Orthodontics",
        "qualification": "BDS",
        "experience_years": 4,
    }
    body.update(overrides)
    return body


@pytest.fixture
def charlie_profile(charlie):
    """Charlie's own global profile: none of it may reach clinic A before he accepts."""
    with as_person(charlie):
        User.objects.filter(pk=charlie.pk).update(
            first_name="Charlie", last_name="Secretname", phone="9999988888"
        )
        charlie.refresh_from_db()
    return charlie


def _memberships_of(clinic, user) -> list:
    with tenant_context(clinic):
        return list(Membership.objects.filter(user=user))


# --- the answer is the same for every address -------------------------------------------------


def _normalised(body: dict) -> dict:
    """The answer with the values that differ by nature (ids, the typed e-mail) blanked."""
    return {
        k: (None if (k.endswith("id") and k != "user_id") or k == "email" else v)
        for k, v in body.items()
    }


def test_inviting_an_existing_account_answers_exactly_like_a_new_address(
    api, clinic_a, alice, charlie_profile
):
    headers = bearer(alice, clinic_a)
    known = api.post(
        "/api/v1/tenants/doctors",
        doctor_body(charlie_profile.email.upper()),
        format="json",
        **headers,
    )
    unknown = api.post(
        "/api/v1/tenants/doctors",
        doctor_body("nobody.here@example.com", license_number="MCI-4343"),
        format="json",
        **headers,
    )
    assert known.status_code == unknown.status_code == 201, known.json()
    a, b = known.json(), unknown.json()
    assert a.keys() == b.keys()
    assert a["invitation_status"] == b["invitation_status"] == "invited"
    assert a["user_id"] is None and b["user_id"] is None
    assert (a["first_name"], a["last_name"], a["phone"]) == ("Typed", "Byclinic", "9811122233")
    assert "Secretname" not in str(a) and "9999988888" not in str(a)
    assert {**_normalised(a), "license_number": None} == {
        **_normalised(b),
        "license_number": None,
    }


def _statements(callable_) -> list[str]:
    """The SQL an invite sends, with literal values and ids replaced (its shape)."""
    with CaptureQueriesContext(connection) as queries:
        callable_()
    shapes = []
    for query in queries.captured_queries:
        sql = re.sub(r"'[^']*'", "?", query["sql"])
        sql = re.sub(r'"s\d+_x\d+"', "?", sql)  # savepoint names
        sql = re.sub(r"\b[0-9a-f]{32}\b|\b[0-9a-f-]{36}\b|\b\d+\b", "?", sql)
        shapes.append(sql)
    return shapes


def test_an_invite_does_the_same_work_for_an_existing_account_and_a_new_address(
    clinic_a, alice, charlie_profile
):
    """Equal timing by construction: the invite never looks the address up, so both paths
    send the very same statements (on main an existing account took another path)."""

    def invite(email, licence):
        return lambda: doctor_invite(
            tenant=clinic_a,
            actor=alice,
            email=email,
            license_number=licence,
            specialization="Orthodontics",
            **TYPED,
        )

    invite("warm.up@example.com", "W-1")()  # caches (content types, plans) out of the way
    known = _statements(invite(charlie_profile.email, "K-1"))
    unknown = _statements(invite("fresh.person@example.com", "U-1"))
    assert known == unknown


def test_an_invitation_creates_no_person_and_no_membership(clinic_a, alice, charlie_profile):
    invitation_create(tenant=clinic_a, actor=alice, email="brand.new@example.com", role="nurse")
    invitation_create(tenant=clinic_a, actor=alice, email=charlie_profile.email, role="nurse")
    assert person_by_email("brand.new@example.com") is None
    assert person_by_email(charlie_profile.email).first_name == "Charlie"
    assert _memberships_of(clinic_a, charlie_profile) == []
    with tenant_context(clinic_a):
        assert Invitation.objects.filter(membership__isnull=True).count() == 2


# --- until accepted, the clinic sees only what it typed ---------------------------------------


def test_doctor_list_shows_only_what_the_clinic_typed_until_accepted(
    api, clinic_a, alice, charlie_profile
):
    headers = bearer(alice, clinic_a)
    api.post(
        "/api/v1/tenants/doctors", doctor_body(charlie_profile.email), format="json", **headers
    )
    [doctor] = api.get("/api/v1/doctors", **headers).json()["results"]
    assert doctor["user_id"] is None and doctor["invitation_status"] == "invited"
    assert (doctor["first_name"], doctor["last_name"]) == ("Typed", "Byclinic")
    assert doctor["phone"] == "9811122233" and doctor["full_name"] == "Typed Byclinic"
    assert "Secretname" not in str(doctor) and "9999988888" not in str(doctor)


def test_team_page_and_admin_show_only_what_the_clinic_typed(
    client, clinic_a, alice, charlie_profile
):
    invitation_create(
        tenant=clinic_a, actor=alice, email=charlie_profile.email, role="nurse", **TYPED
    )
    session_login(client, alice, clinic_a)
    page = client.get("/clinic/team/").content.decode()
    assert "Typed Byclinic" in page and charlie_profile.email in page
    assert "Secretname" not in page and "9999988888" not in page
    log_in(client, staff(alice), clinic_a)
    for url in ("/admin/accounts/invitation/", "/admin/accounts/membership/"):
        admin_page = client.get(url).content.decode()
        assert "Secretname" not in admin_page, url
    people = client.get("/admin/accounts/user/").content.decode()
    assert charlie_profile.email not in people, "a pending invitee is not a member"
    assert client.get(f"/admin/accounts/user/{charlie_profile.pk}/change/").status_code in (
        302,
        404,
    )


def test_the_clinic_admin_never_shows_a_members_platform_activity(client, clinic_a, alice, bob):
    """Even after joining, the admin shows a clinic its member's name and contact details,
    not their last login or verification dates (activity anywhere on the platform)."""
    log_in(client, staff(alice), clinic_a)
    page = client.get(f"/admin/accounts/user/{bob.pk}/change/").content.decode()
    assert bob.email in page
    for label in ("Last login", "Email verified at", "Date joined"):
        assert label.lower() not in page.lower(), label


# --- accepting ----------------------------------------------------------------------------------


def test_a_new_person_accepts_through_the_link_and_their_own_name_shows(api, clinic_a, alice):
    doctor = doctor_invite(
        tenant=clinic_a,
        actor=alice,
        email="imran@example.com",
        license_number="KA-1",
        specialization="Paediatrics",
        **TYPED,
    )
    token = doctor.invitation.link_token
    response = api.post(
        "/api/v1/auth/invitation/accept",
        {"token": token, "password": "Jasmine-Court-31", "first_name": "Imran", "last_name": "S"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    person = person_by_email("imran@example.com")
    assert person.check_password("Jasmine-Court-31") and person.email_verified_at is not None
    [membership] = _memberships_of(clinic_a, person)
    assert membership.is_active and membership.role == "doctor"
    with tenant_context(clinic_a):
        doctor = Doctor.objects.get(pk=doctor.pk)
        assert doctor.user_id == person.pk and doctor.full_name == "Imran S"
        assert Invitation.objects.get(pk=doctor.invitation_id).membership_id == membership.pk


def test_an_existing_person_must_sign_in_and_then_accepts_from_their_invitations(
    api, client, clinic_a, alice, clinic_b, charlie_profile
):
    doctor = doctor_invite(
        tenant=clinic_a,
        actor=alice,
        email=charlie_profile.email,
        license_number="KA-2",
        specialization="Paediatrics",
        **TYPED,
    )
    token = doctor.invitation.link_token
    # The link does not let anybody choose a password for an existing account.
    refused = api.post(
        "/api/v1/auth/invitation/accept",
        {"token": token, "password": "Jasmine-Court-31"},
        format="json",
    )
    assert refused.status_code == 409 and refused.json()["code"] == "sign_in_required"
    assert person_by_id(charlie_profile.pk).check_password(TEST_PASSWORD)
    page = client.get(f"/invite/{token}/").content.decode()
    assert "Log in to accept" in page and 'name="password1"' not in page

    headers = bearer(charlie_profile, clinic_b)
    [listed] = api.get("/api/v1/auth/invitations", **headers).json()
    assert listed["tenant_name"] == clinic_a.name and listed["role"] == "doctor"
    accepted = api.post(f"/api/v1/auth/invitations/{listed['id']}/accept", **headers)
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["tenant_id"] == str(clinic_a.pk)
    [membership] = _memberships_of(clinic_a, charlie_profile)
    assert membership.is_active
    [shown] = api.get("/api/v1/doctors", **bearer(alice, clinic_a)).json()["results"]
    assert (shown["first_name"], shown["last_name"]) == ("Charlie", "Secretname")
    assert shown["invitation_status"] == "active"
    assert api.get("/api/v1/auth/invitations", **headers).json() == []


def test_a_signed_in_person_accepts_from_the_invitations_page(
    client, clinic_a, alice, clinic_b, charlie_profile
):
    invitation = invitation_create(
        tenant=clinic_a, actor=alice, email=charlie_profile.email, role="nurse"
    )
    session_login(client, charlie_profile, clinic_b)
    page = client.get("/invitations/").content.decode()
    assert clinic_a.name in page
    response = client.post(f"/invitations/{invitation.pk}/accept/")
    assert response["Location"] == "/clinic/"
    [membership] = _memberships_of(clinic_a, charlie_profile)
    assert membership.role == "nurse" and membership.is_active


def test_nobody_accepts_an_invitation_addressed_to_someone_else(
    api, clinic_a, alice, clinic_b, charlie
):
    invitation = invitation_create(
        tenant=clinic_a, actor=alice, email="someone.else@example.com", role="nurse"
    )
    headers = bearer(charlie, clinic_b)
    assert api.get("/api/v1/auth/invitations", **headers).json() == []
    for action in ("accept", "decline"):
        response = api.post(f"/api/v1/auth/invitations/{invitation.pk}/{action}", **headers)
        assert response.status_code == 404
    assert _memberships_of(clinic_a, charlie) == []


# --- declining and revoking leave nothing ---------------------------------------------------


@pytest.mark.parametrize("how", ["decline_link", "decline_signed_in", "revoke"])
def test_a_declined_or_revoked_invitation_leaves_nothing(
    api, client, clinic_a, alice, clinic_b, charlie_profile, how
):
    doctor = doctor_invite(
        tenant=clinic_a,
        actor=alice,
        email=charlie_profile.email,
        license_number="KA-3",
        specialization="Paediatrics",
        **TYPED,
    )
    invitation = doctor.invitation
    if how == "decline_link":
        response = client.post(f"/invite/{invitation.link_token}/", {"action": "decline"})
        assert "Invitation declined" in response.content.decode()
    elif how == "decline_signed_in":
        response = api.post(
            f"/api/v1/auth/invitations/{invitation.pk}/decline",
            **bearer(charlie_profile, clinic_b),
        )
        assert response.status_code == 204
    else:
        invitation_revoke(tenant=clinic_a, actor=alice, invitation=invitation)
    assert _memberships_of(clinic_a, charlie_profile) == []
    with tenant_context(clinic_a):
        assert not Doctor.objects.get(pk=doctor.pk).is_active, "the seat is free again"
        assert Doctor.objects.get(pk=doctor.pk).user_id is None
        assert Invitation.objects.get(pk=invitation.pk).membership_id is None
    accept = api.post(
        "/api/v1/auth/invitation/accept",
        {"token": invitation.link_token, "password": "Jasmine-Court-31"},
        format="json",
    )
    assert accept.status_code == 400 and accept.json()["code"] == "invalid_token"
    session_login(client, alice, clinic_a)
    assert charlie_profile.email not in client.get("/clinic/team/").content.decode()


def test_pending_doctor_invitations_count_against_the_limit_without_a_membership(
    api, clinic_a, alice, charlie
):
    headers = bearer(alice, clinic_a)
    for n in range(4):  # alice's clinic is on the trial plan: 5 doctors
        response = api.post(
            "/api/v1/tenants/doctors",
            doctor_body(f"doc{n}@example.com", license_number=f"L-{n}"),
            format="json",
            **headers,
        )
        assert response.status_code == 201
    api.post(
        "/api/v1/tenants/doctors",
        doctor_body(charlie.email, license_number="L-9"),
        format="json",
        **headers,
    )
    full = api.post(
        "/api/v1/tenants/doctors",
        doctor_body("one.more@example.com", license_number="L-10"),
        format="json",
        **headers,
    )
    assert full.status_code == 403 and full.json()["code"] == "plan_limit_reached"
    assert api.get("/api/v1/tenants/limits", **headers).json()["doctors"]["current"] == 5
    assert _memberships_of(clinic_a, charlie) == []
