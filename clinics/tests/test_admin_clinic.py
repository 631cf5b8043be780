"""The admin for a clinic's own admins: their clinic only, under the runtime role."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from accounts.models import Invitation, Membership, Role
from accounts.selectors import person_by_id
from accounts.testing import add_member, create_user
from clinical.models import Doctor, Office, Patient
from clinics.tests.admin_helpers import log_in, staff
from tenants.context import tenant_context
from tenants.models import AuditEvent, Tenant
from tenants.testing import build


@pytest.fixture
def owner_client(client, clinic_a, alice):
    return log_in(client, staff(alice), clinic_a)


def audit(tenant, **filters):
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(**filters))


def html(response) -> str:
    return response.content.decode()


# --- getting in -------------------------------------------------------------------------------


def test_admin_sends_anonymous_visitors_to_the_site_login_with_next(client, db):
    response = client.get("/admin/clinical/patient/")
    assert response.status_code == 302
    follow = client.get(response["Location"])
    assert follow.status_code == 302
    assert follow["Location"] == "/login/?next=%2Fadmin%2Fclinical%2Fpatient%2F"


def test_the_site_login_brings_a_clinic_admin_back_into_their_clinics_admin(
    client, clinic_a, alice
):
    from accounts.testing import TEST_PASSWORD

    staff(alice)
    to_login = client.get(client.get("/admin/")["Location"])["Location"]
    assert to_login == "/login/?next=%2Fadmin%2F"
    response = client.post(to_login, {"email": alice.email, "password": TEST_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert "Clinic: <strong>Asha Dental Care</strong>" in html(client.get("/admin/"))


def test_admin_login_never_redirects_off_site(client, db):
    response = client.get("/admin/login/?next=https://evil.example/admin/")
    assert response["Location"] == "/login/?next=%2Fadmin%2F"


def test_admin_login_page_takes_no_credentials(client, clinic_a, alice):
    staff(alice)
    response = client.post("/admin/login/", {"username": alice.email, "password": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", ["owner", "admin", "doctor", "nurse", "receptionist"])
@pytest.mark.parametrize("is_staff", [False, True])
def test_every_active_member_gets_in_whatever_the_staff_flag(client, clinic_a, role, is_staff):
    # The membership decides, not a global staff flag (issue 15): no operator grant needed.
    member = add_member(clinic_a, role=role).user
    if is_staff:
        staff(member)
    log_in(client, member, clinic_a)
    response = client.get("/admin/login/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_deactivated_member_gets_no_admin(client, clinic_a):
    membership = add_member(clinic_a, role="doctor")
    log_in(client, membership.user, clinic_a)
    with tenant_context(clinic_a):
        type(membership).objects.filter(pk=membership.pk).update(is_active=False)
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/clinical/patient/").status_code == 302


def test_a_member_without_a_clinic_in_the_session_chooses_one_and_gets_in(client, clinic_a, alice):
    log_in(client, alice)  # logged in, no clinic chosen
    response = client.get("/admin/login/")
    assert response.status_code == 403
    page = html(response)
    assert "Choose the clinic to work in" in page
    assert f'value="{clinic_a.pk}"' in page and "Asha Dental Care (Owner)" in page
    chosen = client.post("/admin/switch-clinic/", {"tenant_id": str(clinic_a.pk)})
    assert chosen.status_code == 302 and chosen["Location"] == "/admin/"
    assert "Clinic: <strong>Asha Dental Care</strong>" in html(client.get("/admin/"))


def test_an_anonymous_visitor_choosing_a_clinic_logs_in_first(client, db):
    response = client.get("/admin/switch-clinic/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=%2Fadmin%2F"


def test_a_person_in_no_clinic_is_told_what_to_do_next(client, db):
    loner = create_user("loner@example.com")
    log_in(client, loner)
    page = html(client.get("/admin/login/"))
    assert "not an active member of any clinic" in page
    assert 'href="/invitations/"' in page and 'href="/signup/"' in page


def test_a_person_in_two_clinics_switches_in_the_admin(client, clinic_a, clinic_b, alice):
    add_member(clinic_b, user=alice, role="nurse")
    log_in(client, alice, clinic_a)
    index = html(client.get("/admin/"))
    assert 'href="/admin/switch-clinic/"' in index and "Switch clinic" in index
    choice = html(client.get("/admin/switch-clinic/"))
    assert "Bharat Family Clinic (Nurse)" in choice
    response = client.post("/admin/switch-clinic/", {"tenant_id": str(clinic_b.pk)})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    page = html(client.get("/admin/"))
    assert "Clinic: <strong>Bharat Family Clinic</strong> (Nurse)" in page
    # The nurse of clinic B sees no team there, whatever alice is in clinic A.
    assert "/admin/accounts/membership/" not in page


def test_switching_to_a_clinic_one_is_not_in_is_a_404(client, clinic_a, clinic_b, alice):
    log_in(client, alice, clinic_a)
    response = client.post("/admin/switch-clinic/", {"tenant_id": str(clinic_b.pk)})
    assert response.status_code == 404
    assert "Clinic: <strong>Asha Dental Care</strong>" in html(client.get("/admin/"))


def test_a_person_in_one_clinic_is_offered_no_switch(owner_client):
    assert "Switch clinic" not in html(owner_client.get("/admin/"))


@pytest.mark.parametrize("role", ["owner", "admin", "doctor", "nurse", "receptionist"])
def test_the_dashboard_and_the_site_nav_link_every_member_to_the_workspace(client, clinic_a, role):
    member = add_member(clinic_a, role=role).user
    log_in(client, member, clinic_a)
    page = html(client.get("/clinic/"))
    assert 'id="workspace"' in page
    assert page.count('href="/admin/"') >= 3  # the card, the quick links and the nav


def test_removed_member_loses_the_admin_at_the_next_request(owner_client, clinic_a, alice):
    assert owner_client.get("/admin/").status_code == 200
    with tenant_context(clinic_a):
        Membership.objects.filter(user=alice).update(is_active=False)
    assert owner_client.get("/admin/").status_code == 302


# --- what a clinic admin sees -----------------------------------------------------------------


def test_index_lists_the_clinic_models_and_no_platform_ones(owner_client):
    page = html(owner_client.get("/admin/"))
    for url in (
        "/admin/clinical/patient/",
        "/admin/clinical/office/",
        "/admin/accounts/membership/",
        "/admin/accounts/user/",
        "/admin/tenants/auditevent/",
    ):
        assert url in page
    for url in (
        "/admin/tenants/tenant/",
        "/admin/tenants/platformauditevent/",
        "/admin/axes/",
        "/admin/auth/group/",
    ):
        assert url not in page
    # The platform's own audit events are no clinic's to read.
    assert owner_client.get("/admin/tenants/platformauditevent/").status_code == 403
    assert "Clinic: <strong>Asha Dental Care</strong>" in page


def test_the_clinics_list_is_forbidden(owner_client, clinic_a, clinic_b):
    assert owner_client.get("/admin/tenants/tenant/").status_code == 403
    assert owner_client.get(f"/admin/tenants/tenant/{clinic_a.pk}/change/").status_code == 403
    assert owner_client.get(f"/admin/act-as/{clinic_b.pk}/").status_code == 403


def test_people_are_the_clinics_members_only(owner_client, alice, bob, charlie):
    page = html(owner_client.get("/admin/accounts/user/"))
    assert alice.email in page and bob.email in page
    assert charlie.email not in page
    assert html(owner_client.get("/admin/accounts/user/?q=charlie")).count(charlie.email) == 0
    assert owner_client.get(f"/admin/accounts/user/{charlie.pk}/change/").status_code == 404


def test_a_member_cannot_be_edited_globally(owner_client, bob):
    page = html(owner_client.get(f"/admin/accounts/user/{bob.pk}/change/"))
    assert 'name="email"' not in page and "is_superuser" not in page
    response = owner_client.post(
        f"/admin/accounts/user/{bob.pk}/change/", {"email": "stolen@evil.example"}
    )
    assert response.status_code == 403


def test_another_clinics_object_answers_404_like_a_missing_one(owner_client, clinic_b):
    with tenant_context(clinic_b):
        foreign = build(Patient)
    for object_id in (foreign.pk, uuid.uuid4(), "not-a-uuid"):
        for suffix in ("change/", "delete/", "history/"):
            response = owner_client.get(f"/admin/clinical/patient/{object_id}/{suffix}")
            assert response.status_code in (403, 404), (object_id, suffix)
            if suffix != "delete/":  # delete is refused (403) before the look-up
                assert response.status_code == 404


def test_a_foreign_id_in_the_query_string_changes_nothing(owner_client, clinic_a, clinic_b):
    with tenant_context(clinic_b):
        foreign = build(Patient)
    response = owner_client.get(f"/admin/clinical/patient/?tenant__id__exact={clinic_b.pk}")
    assert str(foreign.pk) not in html(response)
    assert response.status_code in (200, 302)


def test_audit_log_is_for_owners_and_admins_and_shows_only_this_clinic(
    client, owner_client, clinic_a, clinic_b
):
    with tenant_context(clinic_b):
        foreign = AuditEvent.objects.create(tenant_id=clinic_b.pk, action="patient.read")
    with tenant_context(clinic_a):
        own = AuditEvent.objects.create(tenant_id=clinic_a.pk, action="patient.read")
    page = html(owner_client.get("/admin/tenants/auditevent/"))
    assert str(own.pk) in page and str(foreign.pk) not in page
    admin_member = add_member(clinic_a, role="admin").user
    assert (
        log_in(client.__class__(), admin_member, clinic_a)
        .get("/admin/tenants/auditevent/")
        .status_code
        == 200
    )
    doctor = add_member(clinic_a, role="doctor").user
    other = log_in(client.__class__(), doctor, clinic_a)
    assert other.get("/admin/tenants/auditevent/").status_code == 403


def test_audit_log_is_read_only(owner_client, clinic_a):
    with tenant_context(clinic_a):
        event = AuditEvent.objects.create(tenant_id=clinic_a.pk, action="patient.read")
    assert owner_client.get("/admin/tenants/auditevent/add/").status_code == 403
    response = owner_client.post(
        f"/admin/tenants/auditevent/{event.pk}/change/", {"action": "nothing.happened"}
    )
    assert response.status_code == 403
    assert owner_client.get(f"/admin/tenants/auditevent/{event.pk}/delete/").status_code == 403


# --- writes go through the services -----------------------------------------------------------


def test_adding_an_office_uses_the_service_and_takes_the_clinic_from_the_session(
    owner_client, clinic_a
):
    form = html(owner_client.get("/admin/clinical/office/add/"))
    assert 'name="tenant"' not in form
    response = owner_client.post(
        "/admin/clinical/office/add/",
        {"name": "  Koramangala branch ", "address": "80 Feet Road", "phone": "", "tenant": "x"},
    )
    assert response.status_code == 302, html(response)
    with tenant_context(clinic_a):
        office = Office.objects.get()
    # office_create strips the name: the admin went through the service.
    assert (office.name, office.tenant_id) == ("Koramangala branch", clinic_a.pk)
    [event] = audit(clinic_a, action="admin.added")
    assert event.object_id == str(office.pk)
    assert LogEntry.objects.count() == 0, "Django's unscoped LogEntry table stays empty"


def test_a_read_only_clinic_cannot_write_in_the_admin(owner_client, clinic_a):
    with tenant_context(clinic_a):
        Tenant.objects.filter(pk=clinic_a.pk).update(status=Tenant.Status.SUSPENDED)
    assert owner_client.get("/admin/clinical/office/").status_code == 200
    assert owner_client.get("/admin/clinical/office/add/").status_code == 403
    page = html(owner_client.get("/admin/"))
    assert "read-only" in page


def test_changing_a_role_uses_the_service_and_is_audited(owner_client, clinic_a, alice, bob):
    with tenant_context(clinic_a):
        membership = Membership.objects.get(user=bob)
    response = owner_client.post(
        f"/admin/accounts/membership/{membership.pk}/change/", {"role": "nurse"}
    )
    assert response.status_code == 302, html(response)
    [event] = audit(clinic_a, action="membership.role_changed")
    assert event.actor_id == alice.pk and event.details == {"from": "doctor", "to": "nurse"}


def test_nobody_changes_their_own_role_in_the_admin(owner_client, clinic_a, alice):
    with tenant_context(clinic_a):
        membership = Membership.objects.get(user=alice)
    page = html(owner_client.get(f"/admin/accounts/membership/{membership.pk}/change/"))
    assert 'name="role"' not in page, "the own role is read-only"
    owner_client.post(
        f"/admin/accounts/membership/{membership.pk}/change/", {"role": "doctor"}, follow=True
    )
    with tenant_context(clinic_a):
        assert Membership.objects.get(user=alice).role == Role.OWNER


def test_inviting_a_member_from_the_admin_sends_an_invitation(
    owner_client, clinic_a, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/admin/accounts/membership/add/",
            {"email": "Nina@Asha.example", "first_name": "Nina", "last_name": "", "role": "nurse"},
        )
    assert response.status_code == 302, html(response)
    assert response["Location"] == "/admin/accounts/invitation/"
    with tenant_context(clinic_a):
        assert not Membership.objects.filter(user__email="nina@asha.example").exists()
        invitation = Invitation.objects.get(email="nina@asha.example")
    assert invitation.role == "nurse" and invitation.first_name == "Nina"
    assert [m.to for m in mailoutbox] == [["nina@asha.example"]]
    assert audit(clinic_a, action="membership.invited")


def test_owner_role_cannot_be_given_by_invitation(owner_client):
    page = html(owner_client.get("/admin/accounts/membership/add/"))
    assert 'value="owner"' not in page


def test_deactivating_a_member_from_the_admin_frees_the_doctor_seat(owner_client, clinic_a, bob):
    with tenant_context(clinic_a):
        doctor = build(Doctor, user=bob)
        membership = Membership.objects.get(user=bob)
    response = owner_client.post(
        "/admin/accounts/membership/",
        {"action": "deactivate", "_selected_action": [str(membership.pk)]},
    )
    assert response.status_code == 302
    with tenant_context(clinic_a):
        assert not Membership.objects.get(pk=membership.pk).is_active
        assert not Doctor.objects.get(pk=doctor.pk).is_active
    assert audit(clinic_a, action="membership.deactivated")


# --- reads of patient records -----------------------------------------------------------------


def test_opening_a_patient_record_is_audited_with_the_patient(owner_client, clinic_a, alice):
    with tenant_context(clinic_a):
        patient = build(Patient)
    assert owner_client.get(f"/admin/clinical/patient/{patient.pk}/change/").status_code == 200
    [event] = audit(clinic_a, action="admin.viewed")
    assert (event.patient_id, event.actor_id) == (patient.pk, alice.pk)


def test_an_objects_history_is_its_audit_trail(owner_client, clinic_a):
    with tenant_context(clinic_a):
        office = build(Office)
    response = owner_client.get(f"/admin/clinical/office/{office.pk}/history/")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/tenants/auditevent/?object_id={office.pk}"
    assert owner_client.get(response["Location"]).status_code == 200


def test_the_user_dropdown_of_a_clinic_form_lists_its_members_only(
    rf, clinic_a, alice, bob, charlie
):
    from django.contrib import admin

    request = rf.get("/admin/clinical/doctor/add/")
    request.user = staff(alice)
    request.tenant = clinic_a
    with tenant_context(clinic_a):
        request.membership = Membership.objects.get(user=alice)
        outsider = create_user("loner@example.com")
        field = admin.site.get_model_admin(Doctor).formfield_for_dbfield(
            Doctor._meta.get_field("user"), request
        )
        choices = set(field.queryset.values_list("pk", flat=True))
    assert choices == {alice.pk, bob.pk}
    assert charlie.pk not in choices and outsider.pk not in choices


def test_password_change_in_the_admin_uses_the_service(owner_client, clinic_a, alice):
    from accounts.testing import TEST_PASSWORD

    url = reverse("admin:password_change")
    weak = owner_client.post(
        url,
        {"old_password": TEST_PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )
    assert weak.status_code == 200
    response = owner_client.post(
        url,
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "Saffron-Kettle-8812",
            "new_password2": "Saffron-Kettle-8812",
        },
    )
    assert response.status_code == 302
    assert person_by_id(alice.pk).token_version == 2, "every token was revoked (accounts.services)"
    assert owner_client.get("/admin/").status_code == 200, "this session stays logged in"


def test_a_raw_id_input_never_names_another_clinics_row(rf, monkeypatch, clinic_a, alice, charlie):
    from django.contrib import admin

    doctor_admin = admin.site.get_model_admin(Doctor)
    monkeypatch.setattr(type(doctor_admin), "raw_id_fields", ("user",))
    request = rf.get("/admin/clinical/doctor/add/")
    request.user = staff(alice)
    request.tenant = clinic_a
    with tenant_context(clinic_a):
        request.membership = Membership.objects.get(user=alice)
        field = doctor_admin.formfield_for_dbfield(Doctor._meta.get_field("user"), request)
        foreign = field.widget.render("user", str(charlie.pk))
        own = field.widget.render("user", str(alice.pk))
        garbage = field.widget.render("user", "not-a-uuid")
    assert charlie.email not in foreign
    assert alice.email in own
    assert "not-a-uuid" in garbage
