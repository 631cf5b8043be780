"""The team page: members, invitations, roles, deactivation; roles, outsiders, read-only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Invitation, Membership
from accounts.selectors import person_by_email
from accounts.services import invitation_create
from accounts.testing import add_member, create_clinic, session_login
from clinical.models import Doctor
from clinical.services import doctor_profile_create, office_create
from tenants.context import tenant_context
from tenants.models import Tenant


def doctor_form(**overrides):
    body = {
        "doctor-first_name": "Imran",
        "doctor-last_name": "Shaikh",
        "doctor-email": "imran@example.com",
        "doctor-phone": "99009 90099",
        "doctor-license_number": "KA-7788",
        "doctor-specialization": "Paediatrics",
        "doctor-qualification": "MBBS, MD",
        "doctor-experience_years": "6",
    }
    body.update(overrides)
    return body


def add_doctor(clinic, email: str, license_number: str):
    membership = add_member(clinic, email=email, role="doctor")
    doctor_profile_create(
        tenant=clinic,
        user=membership.user,
        license_number=license_number,
        specialization="General Medicine",
    )
    return membership


@pytest.fixture
def owner_client(client, clinic_a, alice):
    session_login(client, alice, clinic_a)
    return client


def member(clinic, user) -> Membership:
    with tenant_context(clinic):
        return Membership.objects.select_related("user").get(user=user)


# --- listing ------------------------------------------------------------------------------


def test_team_lists_members_with_role_and_status(owner_client, clinic_a, alice, bob):
    invitation_create(tenant=clinic_a, actor=alice, email="new.nurse@example.com", role="nurse")
    page = owner_client.get("/clinic/team/").content.decode()
    for text in ("alice@asha.example", "bob@asha.example", "new.nurse@example.com"):
        assert text in page
    assert "Invited" in page and "Active" in page and "Resend invitation" in page


def test_team_uses_a_constant_number_of_queries(
    owner_client, clinic_a, alice, django_assert_max_num_queries
):
    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get("/clinic/team/").status_code == 200
        return len(queries)

    few = count()
    for n in range(4):
        add_doctor(clinic_a, f"doc{n}@example.com", f"LIC-{n}")
        invitation_create(tenant=clinic_a, actor=alice, email=f"nurse{n}@example.com", role="nurse")
    assert count() == few


def test_members_who_are_not_admins_see_the_team_without_actions(client, clinic_a, bob):
    session_login(client, bob, clinic_a)
    page = client.get("/clinic/team/").content.decode()
    assert "alice@asha.example" in page
    assert "Invite a doctor" not in page and "Deactivate" not in page


# --- inviting -----------------------------------------------------------------------------


def test_owner_invites_a_doctor_who_gets_an_email(
    owner_client, clinic_a, mailoutbox, django_capture_on_commit_callbacks
):
    office = office_create(tenant=clinic_a, name="Main branch")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/clinic/team/invite-doctor/", doctor_form(**{"doctor-office_ids": [str(office.pk)]})
        )
    assert response["Location"] == "/clinic/team/"
    with tenant_context(clinic_a):
        doctor = Doctor.objects.select_related("invitation").get(license_number="KA-7788")
        assert [link.office_id for link in doctor.office_links.all()] == [office.pk]
    # No person and no membership until Imran accepts; the clinic keeps what it typed.
    assert doctor.user_id is None and doctor.phone == "9900990099"
    assert doctor.invitation.email == "imran@example.com"
    assert person_by_email("imran@example.com") is None
    [mail] = mailoutbox
    assert mail.to == ["imran@example.com"] and "/invite/" in mail.body
    page = owner_client.get("/clinic/team/").content.decode()
    assert "Invitation sent to imran@example.com" in page and "Imran Shaikh" in page


def test_doctor_form_errors_show_inline_and_keep_the_values(owner_client, clinic_a):
    office_create(tenant=clinic_a, name="Main branch")
    response = owner_client.post(
        "/clinic/team/invite-doctor/",
        doctor_form(**{"doctor-license_number": "", "doctor-phone": "12345"}),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_doctor-license_number_error"' in page
    assert "Enter a valid Indian mobile number" in page
    assert 'value="imran@example.com"' in page


def test_duplicate_licence_is_a_field_error_and_nothing_is_left_behind(owner_client, clinic_a):
    add_doctor(clinic_a, "first@example.com", "KA-7788")
    response = owner_client.post("/clinic/team/invite-doctor/", doctor_form())
    assert response.status_code == 400
    assert "Already registered in this clinic." in response.content.decode()
    assert person_by_email("imran@example.com") is None


def test_the_doctor_limit_is_enforced_with_an_upgrade_link(owner_client, clinic_a, mailoutbox):
    for n in range(5):
        add_doctor(clinic_a, f"doc{n}@example.com", f"LIC-{n}")
    page = owner_client.get("/clinic/team/").content.decode()
    assert "The doctor limit of your plan is reached (5 of 5)" in page
    response = owner_client.post("/clinic/team/invite-doctor/", doctor_form())
    assert response.status_code == 400
    page = response.content.decode()
    assert "The Trial plan allows 5 doctors; upgrade the plan to add more." in page
    assert 'href="/clinic/plan/"' in page and "Upgrade the plan" in page
    assert person_by_email("imran@example.com") is None
    assert mailoutbox == []


def test_admin_sees_ask_the_owner_at_the_doctor_limit(client, clinic_a):
    admin = add_member(clinic_a, email="admin@asha.example", role="admin").user
    for n in range(5):
        add_doctor(clinic_a, f"doc{n}@example.com", f"LIC-{n}")
    session_login(client, admin, clinic_a)
    page = client.get("/clinic/team/").content.decode()
    assert "Ask the clinic's owner to upgrade the plan." in page


def test_owner_invites_a_staff_member(
    owner_client, clinic_a, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/clinic/team/invite-staff/",
            {
                "staff-first_name": "Meena",
                "staff-last_name": "Pillai",
                "staff-email": "meena@example.com",
                "staff-role": "receptionist",
            },
        )
    assert response["Location"] == "/clinic/team/"
    with tenant_context(clinic_a):
        invitation = Invitation.objects.get(email="meena@example.com")
    assert invitation.role == "receptionist" and invitation.membership_id is None
    assert (invitation.first_name, invitation.last_name) == ("Meena", "Pillai")
    assert person_by_email("meena@example.com") is None
    assert mailoutbox[0].to == ["meena@example.com"]


def test_staff_cannot_be_invited_as_owner_or_doctor(owner_client, clinic_a):
    for role in ("owner", "doctor"):
        response = owner_client.post(
            "/clinic/team/invite-staff/",
            {
                "staff-first_name": "X",
                "staff-last_name": "Y",
                "staff-email": "x@example.com",
                "staff-role": role,
            },
        )
        assert response.status_code == 400
    assert person_by_email("x@example.com") is None


def test_inviting_someone_already_in_the_clinic_is_refused(owner_client, clinic_a, bob):
    response = owner_client.post(
        "/clinic/team/invite-staff/",
        {
            "staff-first_name": "Bob",
            "staff-last_name": "T",
            "staff-email": bob.email,
            "staff-role": "nurse",
        },
    )
    assert response.status_code == 400
    assert "Already a member of this clinic." in response.content.decode()


@pytest.mark.parametrize(
    "url",
    ["/clinic/team/invite-doctor/", "/clinic/team/invite-staff/"],
)
def test_doctors_cannot_invite(client, clinic_a, bob, url):
    session_login(client, bob, clinic_a)
    assert client.post(url, doctor_form()).status_code == 403
    assert person_by_email("imran@example.com") is None


# --- invitations: resend and revoke ---------------------------------------------------------


@pytest.fixture
def invitation(clinic_a, alice):
    return invitation_create(tenant=clinic_a, actor=alice, email="late@example.com", role="nurse")


def test_resending_an_invitation_sends_a_new_link(
    owner_client, clinic_a, invitation, mailoutbox, django_capture_on_commit_callbacks
):
    with tenant_context(clinic_a):
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(days=1)
        )
    assert "Invitation expired" in owner_client.get("/clinic/team/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/clinic/team/invitations/{invitation.pk}/resend/")
    assert response["Location"] == "/clinic/team/"
    assert mailoutbox[-1].to == ["late@example.com"]
    with tenant_context(clinic_a):
        invitation.refresh_from_db()
    assert invitation.is_pending and invitation.send_count == 2


def test_revoking_an_invitation_kills_the_link(owner_client, clinic_a, invitation):
    response = owner_client.post(f"/clinic/team/invitations/{invitation.pk}/revoke/")
    assert response["Location"] == "/clinic/team/"
    with tenant_context(clinic_a):
        invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    # Nothing remains on the team page: there never was a membership.
    page = owner_client.get("/clinic/team/").content.decode()
    assert f'id="invitation-{invitation.pk}"' not in page and "Resend invitation" not in page


def test_another_clinics_invitation_is_a_404(client, clinic_b, charlie, invitation):
    session_login(client, charlie, clinic_b)
    for action in ("resend", "revoke"):
        response = client.post(f"/clinic/team/invitations/{invitation.pk}/{action}/")
        assert response.status_code == 404
    assert invitation.revoked_at is None


# --- roles and deactivation ---------------------------------------------------------------


def test_owner_changes_a_role(owner_client, clinic_a, bob):
    response = owner_client.post(
        f"/clinic/team/members/{member(clinic_a, bob).pk}/role/", {"role": "admin"}
    )
    assert response["Location"] == "/clinic/team/"
    assert member(clinic_a, bob).role == "admin"


def test_doctor_role_needs_a_doctor_profile(owner_client, clinic_a, bob):
    target = member(clinic_a, bob)
    owner_client.post(f"/clinic/team/members/{target.pk}/role/", {"role": "nurse"})
    response = owner_client.post(f"/clinic/team/members/{target.pk}/role/", {"role": "doctor"})
    assert response["Location"] == "/clinic/team/"
    assert member(clinic_a, bob).role == "nurse"


def test_only_an_owner_manages_owners(client, clinic_a, alice):
    admin = add_member(clinic_a, email="admin@asha.example", role="admin").user
    session_login(client, admin, clinic_a)
    owner = member(clinic_a, alice)
    assert (
        client.post(f"/clinic/team/members/{owner.pk}/role/", {"role": "nurse"}).status_code == 403
    )
    assert client.post(f"/clinic/team/members/{owner.pk}/deactivate/").status_code == 403
    nurse = add_member(clinic_a, email="n@asha.example", role="nurse")
    # An admin cannot hand out ownership either.
    client.post(f"/clinic/team/members/{nurse.pk}/role/", {"role": "owner"})
    assert member(clinic_a, nurse.user).role == "nurse"
    assert member(clinic_a, alice).role == "owner" and member(clinic_a, alice).is_active


def test_nobody_changes_their_own_membership_from_the_team_page(owner_client, clinic_a, alice):
    me = member(clinic_a, alice)
    assert owner_client.post(f"/clinic/team/members/{me.pk}/deactivate/").status_code == 403
    assert member(clinic_a, alice).is_active


def test_deactivating_a_member_ends_their_session_and_tokens_at_once(
    owner_client, clinic_a, bob, api
):
    from accounts.testing import bearer

    bob_browser = Client()
    session_login(bob_browser, bob, clinic_a)
    headers = bearer(bob, clinic_a)
    assert bob_browser.get("/clinic/").status_code == 200
    target = member(clinic_a, bob)
    response = owner_client.post(f"/clinic/team/members/{target.pk}/deactivate/")
    assert response["Location"] == "/clinic/team/"
    assert bob_browser.get("/clinic/")["Location"] == "/clinics/"
    assert api.get("/api/v1/tenants/me", **headers).status_code == 401
    assert "Deactivated" in owner_client.get("/clinic/team/").content.decode()


def test_deactivating_a_doctor_frees_a_seat_and_reactivating_takes_it_back(owner_client, clinic_a):
    doctor = add_doctor(clinic_a, "doc@example.com", "LIC-1")
    owner_client.post(f"/clinic/team/members/{doctor.pk}/deactivate/")
    with tenant_context(clinic_a):
        assert not Doctor.objects.get(user=doctor.user).is_active
    owner_client.post(f"/clinic/team/members/{doctor.pk}/reactivate/")
    with tenant_context(clinic_a):
        assert Doctor.objects.get(user=doctor.user).is_active
    assert member(clinic_a, doctor.user).is_active


def test_reactivating_beyond_the_doctor_limit_is_refused(owner_client, clinic_a):
    first = add_doctor(clinic_a, "doc@example.com", "LIC-0")
    owner_client.post(f"/clinic/team/members/{first.pk}/deactivate/")
    for n in range(1, 6):
        add_doctor(clinic_a, f"doc{n}@example.com", f"LIC-{n}")
    response = owner_client.post(f"/clinic/team/members/{first.pk}/reactivate/", follow=True)
    assert "allows 5 doctors" in response.content.decode()
    assert not member(clinic_a, first.user).is_active


def test_another_clinics_member_is_a_404(client, clinic_b, charlie, clinic_a, bob):
    session_login(client, charlie, clinic_b)
    target = member(clinic_a, bob)
    for action in ("deactivate", "reactivate", "role"):
        response = client.post(f"/clinic/team/members/{target.pk}/{action}/", {"role": "nurse"})
        assert response.status_code == 404
    assert member(clinic_a, bob).is_active and member(clinic_a, bob).role == "doctor"


def test_doctors_cannot_change_members(client, clinic_a, alice, bob):
    nurse = add_member(clinic_a, email="n@asha.example", role="nurse")
    session_login(client, bob, clinic_a)
    assert client.post(f"/clinic/team/members/{nurse.pk}/deactivate/").status_code == 403
    assert (
        client.post(f"/clinic/team/members/{nurse.pk}/role/", {"role": "admin"}).status_code == 403
    )
    assert member(clinic_a, nurse.user).is_active


# --- read-only clinics --------------------------------------------------------------------


@pytest.fixture
def expired_clinic(db):
    clinic = create_clinic("Lapsed Clinic", trial_ends_at=timezone.now() - timedelta(days=1))
    return clinic


def test_a_read_only_clinic_refuses_team_changes_and_says_what_to_do(client, expired_clinic):
    session_login(client, expired_clinic.owner, expired_clinic)
    page = client.get("/clinic/team/").content.decode()
    assert "The free trial has ended: this clinic is read-only." in page
    assert "Invite a doctor" not in page
    response = client.post("/clinic/team/invite-doctor/", doctor_form())
    assert response.status_code == 402
    assert "Choose a plan" in response.content.decode()
    assert person_by_email("imran@example.com") is None


def test_a_suspended_clinic_is_read_only_too(client, db):
    clinic = create_clinic("Paused Clinic", status=Tenant.Status.SUSPENDED)
    session_login(client, clinic.owner, clinic)
    assert "This clinic is suspended and read-only." in client.get("/clinic/").content.decode()
    response = client.post(
        "/clinic/team/invite-staff/",
        {
            "staff-first_name": "A",
            "staff-last_name": "B",
            "staff-email": "a@example.com",
            "staff-role": "nurse",
        },
    )
    assert response.status_code == 402
    assert "contact support" in response.content.decode().lower()
