"""The admin for platform operators: every clinic through the audited platform role, and
"act as clinic" for support, read-only and recorded in the clinic's own log.

Platform requests use a second database connection (the platform role), so these tests
commit their data (`live_db`).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.admin_mode import ACT_AS_STARTED_KEY
from accounts.models import Membership
from accounts.selectors import person_by_id
from accounts.testing import TEST_PASSWORD, add_member, create_clinic, create_user
from clinical.models import Doctor, Patient
from clinics.tests.admin_helpers import AllQueries, log_in, staff
from tenants import plans
from tenants.context import tenant_context
from tenants.models import AuditEvent, Tenant
from tenants.testing import audit_events, build

REASON = "Ticket 4711: owner cannot find a patient"


@pytest.fixture
def clinics(live_db):
    a = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    b = create_clinic("Bharat Family Clinic", owner_email="charlie@bharat.example", plan="basic")
    return a, b


@pytest.fixture
def operator(live_db):
    return create_user("ops@platform.example", is_staff=True, is_superuser=True)


@pytest.fixture
def ops(operator):
    return log_in(Client(), operator)


def platform_events(**filters) -> list:
    # The clinics' events and the platform's own (an operator's request may name no clinic).
    return audit_events(**filters)


def clinic_events(tenant, **filters) -> list[AuditEvent]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(**filters).order_by("created_at"))


def reload(tenant) -> Tenant:
    with tenant_context(tenant):
        return Tenant.objects.get(pk=tenant.pk)


def page(response) -> str:
    return response.content.decode()


# --- every request through the platform role, audited -----------------------------------------


def test_operator_requests_run_on_the_platform_role_and_are_audited(clinics, operator, ops):
    a, b = clinics
    with AllQueries("default", "platform") as queries:
        response = ops.get("/admin/tenants/tenant/")
    assert response.status_code == 200
    assert a.name in page(response) and b.name in page(response)
    runtime = queries._contexts[0].captured_queries
    # The runtime connection only loaded the session, the person and the person's own
    # two-factor state (accounts.middleware, under "personal" row-level security); all data
    # came through the platform role.
    own = ("django_session", "accounts_user", "otp_totp_totpdevice", "accounts_twofactorstate")
    touched = [
        q["sql"]
        for q in runtime
        if q["sql"] not in ("BEGIN", "COMMIT") and "SAVEPOINT" not in q["sql"]
    ]
    assert all(any(table in sql for table in own) for sql in touched), touched
    [event] = platform_events(action="platform.admin")
    assert (event.actor_id, event.actor_email) == (operator.pk, operator.email)
    assert event.details["path"] == "/admin/tenants/tenant/"
    assert event.details["method"] == "GET"


def test_the_audit_event_names_the_clinic_a_request_is_about(clinics, ops):
    a, b = clinics
    assert ops.get(f"/admin/tenants/tenant/{a.pk}/change/").status_code == 200
    assert ops.get(f"/admin/accounts/membership/?tenant__id__exact={b.pk}").status_code == 200
    with tenant_context(b):
        membership = Membership.objects.get()
    assert ops.get(f"/admin/accounts/membership/{membership.pk}/change/").status_code == 200
    requests = platform_events(action="platform.admin")
    assert [e.tenant_id for e in requests] == [a.pk, b.pk, None]
    [read] = platform_events(action="admin.viewed")
    assert (read.tenant_id, read.object_id) == (b.pk, str(membership.pk))


def test_a_request_that_fails_is_still_on_record(clinics, ops):
    assert (
        ops.get("/admin/tenants/tenant/00000000-0000-0000-0000-000000000000/change/").status_code
        == 404
    )
    [event] = platform_events(action="platform.admin")
    assert "/change/" in event.details["path"]


def test_staff_without_superuser_or_clinic_gets_no_admin(clinics):
    person = create_user("helpdesk@platform.example", is_staff=True)
    response = log_in(Client(), person).get("/admin/tenants/tenant/")
    assert response.status_code == 302
    assert platform_events(action="platform.admin") == []


def test_a_superuser_logged_into_a_clinic_is_that_clinics_admin_only(clinics, operator):
    a, b = clinics
    add_member(a, user=operator, role="owner")
    client = log_in(Client(), operator, a)
    assert client.get("/admin/tenants/tenant/").status_code == 403
    with tenant_context(b):
        foreign = build(Patient)
    assert client.get(f"/admin/clinical/patient/{foreign.pk}/change/").status_code == 404
    assert platform_events(action="platform.admin") == []


def test_every_admin_page_an_operator_may_see_renders(clinics, ops):
    from django.contrib import admin

    index = page(ops.get("/admin/"))
    shown = 0
    for model in admin.site._registry:
        opts = model._meta
        listing = f"/admin/{opts.app_label}/{opts.model_name}/"
        response = ops.get(listing)
        if listing in index:
            assert response.status_code == 200, listing
            shown += 1
        else:
            assert response.status_code == 403, listing
    assert shown >= 6  # clinics, plan changes, audit log, people, memberships, lockouts


# --- the clinics list -------------------------------------------------------------------------


def test_clinics_list_shows_plan_status_trial_and_usage_against_limits(clinics, ops):
    a, b = clinics
    with tenant_context(a):
        for _ in range(2):
            build(Doctor)
        for _ in range(3):
            build(Patient)
        gone = build(Patient)
        Patient.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    text = page(ops.get("/admin/tenants/tenant/"))
    assert "2 / 5" in text and "3 / 1,000" in text  # doctors, patients of the trial
    assert "0 / 20" in text and "0 / 10,000" in text  # clinic B, basic plan
    assert "Trial" in text and "Basic" in text


def test_clinics_can_be_searched_and_filtered(clinics, ops):
    a, b = clinics
    found = page(ops.get("/admin/tenants/tenant/", {"q": "bharat"}))
    assert b.name in found and a.name not in found
    basic = page(ops.get("/admin/tenants/tenant/", {"plan__exact": "basic"}))
    assert b.name in basic and a.name not in basic
    with tenant_context(a):
        Tenant.objects.filter(pk=a.pk).update(trial_ends_at=timezone.now() + timedelta(days=2))
    ending = page(ops.get("/admin/tenants/tenant/", {"trial": "ending"}))
    assert a.name in ending and b.name not in ending


def test_clinics_list_runs_a_constant_number_of_queries(clinics, ops):
    ops.get("/admin/tenants/tenant/")
    with AllQueries("default", "platform") as few:
        ops.get("/admin/tenants/tenant/")
    for _ in range(4):
        clinic = create_clinic()
        with tenant_context(clinic):
            build(Patient)
    with AllQueries("default", "platform") as many:
        ops.get("/admin/tenants/tenant/")
    assert many.count == few.count, many.statements


@pytest.mark.parametrize(
    "path",
    [
        "/admin/accounts/user/",
        "/admin/accounts/membership/",
        "/admin/tenants/auditevent/",
        "/admin/tenants/platformauditevent/",
    ],
)
def test_platform_lists_run_a_constant_number_of_queries(clinics, ops, path):
    ops.get(path)
    with AllQueries("default", "platform") as few:
        assert ops.get(path).status_code == 200
    for _ in range(4):
        clinic = create_clinic()
        add_member(clinic, role="doctor")
    with AllQueries("default", "platform") as many:
        assert ops.get(path).status_code == 200
    assert many.count == few.count, many.statements


# --- actions through the services -------------------------------------------------------------


def run_action(ops, action, tenants, **fields):
    data = {"action": action, "_selected_action": [str(t.pk) for t in tenants], **fields}
    return ops.post("/admin/tenants/tenant/", data)


def test_suspend_asks_for_a_reason_then_uses_the_service(clinics, operator, ops):
    a, b = clinics
    form = run_action(ops, "suspend", [a])
    assert form.status_code == 200 and 'name="reason"' in page(form)
    assert reload(a).status == Tenant.Status.ACTIVE, "asking changes nothing"
    done = run_action(ops, "suspend", [a], apply="1", reason="Invoice 2026-114 unpaid")
    assert done.status_code == 302
    assert reload(a).status == Tenant.Status.SUSPENDED
    assert reload(b).status == Tenant.Status.ACTIVE
    [event] = clinic_events(a, action="tenant.suspended")
    assert (event.actor_id, event.reason) == (operator.pk, "Invoice 2026-114 unpaid")


def test_reactivate_extend_trial_and_change_plan(clinics, ops):
    a, b = clinics
    end = reload(a).trial_ends_at
    run_action(ops, "suspend", [a], apply="1", reason="abuse report")
    run_action(ops, "reactivate", [a], apply="1", reason="resolved")
    run_action(ops, "extend_trial", [a], apply="1", days="10", reason="")
    run_action(ops, "change_plan", [b], apply="1", plan="premium", reason="Agreed by phone")
    a, b = reload(a), reload(b)
    assert a.status == Tenant.Status.ACTIVE and a.trial_ends_at == end + timedelta(days=10)
    assert b.plan == plans.PREMIUM
    assert [e.action for e in clinic_events(b, action__startswith="tenant.")] == [
        "tenant.plan_changed"
    ]


def test_change_plan_below_usage_is_refused_with_the_numbers(clinics, ops):
    a, b = clinics
    with tenant_context(b):
        Tenant.objects.filter(pk=b.pk).update(trial_ends_at=timezone.now() + timedelta(days=9))
        for _ in range(6):
            build(Doctor)
    response = run_action(ops, "change_plan", [b], apply="1", plan="trial", reason="Goodwill")
    assert response.status_code == 302
    assert reload(b).plan == plans.BASIC
    messages = page(ops.get("/admin/tenants/tenant/"))
    assert "allows 5 doctors; this clinic has 6" in messages


def test_invalid_action_input_changes_nothing(clinics, ops):
    a, _ = clinics
    end = reload(a).trial_ends_at
    response = run_action(ops, "extend_trial", [a], apply="1", days="1000")
    assert response.status_code == 200 and "errorlist" in page(response)
    assert reload(a).trial_ends_at == end


def test_editing_a_clinics_contact_details_uses_the_service(clinics, operator, ops):
    a, _ = clinics
    response = ops.post(
        f"/admin/tenants/tenant/{a.pk}/change/",
        {
            "name": "Asha Dental & Implants",
            "email": "desk@asha.example",
            "phone": "",
            "address": "",
            "code": "hijacked",
            "plan": "enterprise",
            "status": "active",
        },
    )
    assert response.status_code == 302, page(response)
    tenant = reload(a)
    assert tenant.name == "Asha Dental & Implants"
    assert (tenant.code, tenant.plan) == (a.code, "trial"), "read-only fields stay"
    [event] = clinic_events(a, action="tenant.updated")
    assert event.actor_id == operator.pk


def test_clinics_cannot_be_deleted_in_the_admin(clinics, ops):
    a, _ = clinics
    assert ops.get(f"/admin/tenants/tenant/{a.pk}/delete/").status_code == 403


# --- people, memberships, the audit log -------------------------------------------------------


def test_operators_see_people_and_memberships_of_every_clinic(clinics, ops):
    a, b = clinics
    people = page(ops.get("/admin/accounts/user/"))
    assert a.owner.email in people and b.owner.email in people
    members = page(ops.get("/admin/accounts/membership/"))
    assert a.name in members and b.name in members


def test_operators_do_not_browse_clinical_records(clinics, ops):
    a, _ = clinics
    with tenant_context(a):
        patient = build(Patient)
    assert ops.get("/admin/clinical/patient/").status_code == 403
    assert ops.get(f"/admin/clinical/patient/{patient.pk}/change/").status_code == 403
    assert "/admin/clinical/" not in page(ops.get("/admin/"))


def test_granting_admin_access_is_an_audited_action(clinics, operator, ops):
    a, _ = clinics
    response = ops.post(
        "/admin/accounts/user/",
        {"action": "grant_admin_access", "_selected_action": [str(a.owner.pk)]},
    )
    assert response.status_code == 302
    assert person_by_id(a.owner.pk).is_staff
    [event] = platform_events(action="user.staff_granted")
    assert (event.actor_id, event.object_id) == (operator.pk, str(a.owner.pk))


def test_operators_cannot_lock_themselves_out(clinics, operator, ops):
    ops.post(
        "/admin/accounts/user/",
        {"action": "lock_accounts", "_selected_action": [str(operator.pk)]},
    )
    assert person_by_id(operator.pk).is_active


def test_the_platform_audit_log_lists_every_clinic_and_is_read_only(clinics, ops):
    a, b = clinics
    with tenant_context(a):
        own = AuditEvent.objects.create(tenant_id=a.pk, action="patient.read")
    with tenant_context(b):
        other = AuditEvent.objects.create(tenant_id=b.pk, action="patient.read")
    text = page(ops.get("/admin/tenants/auditevent/"))
    assert str(own.pk) in text and str(other.pk) in text
    only_a = page(ops.get(f"/admin/tenants/auditevent/?tenant__id__exact={a.pk}"))
    assert str(own.pk) in only_a and str(other.pk) not in only_a
    assert ops.get(f"/admin/tenants/auditevent/{own.pk}/delete/").status_code == 403
    assert ops.post(f"/admin/tenants/auditevent/{own.pk}/change/", {}).status_code == 403


# --- act as clinic ----------------------------------------------------------------------------


def act_as(ops, tenant, reason=REASON):
    return ops.post(f"/admin/act-as/{tenant.pk}/", {"reason": reason})


def test_acting_as_a_clinic_needs_a_stated_reason(clinics, ops):
    a, _ = clinics
    response = act_as(ops, a, reason="because")
    assert response.status_code == 200 and "errorlist" in page(response)
    assert ops.get("/admin/clinical/patient/").status_code == 403
    assert clinic_events(a, action="platform.act_as_started") == []


def test_acting_as_shows_that_clinic_only_read_only_and_records_every_page_for_its_owner(
    clinics, operator, ops
):
    a, b = clinics
    with tenant_context(a):
        mine = build(Patient)
    with tenant_context(b):
        foreign = build(Patient)
    assert act_as(ops, a).status_code == 302

    listing = ops.get("/admin/clinical/patient/")
    assert listing.status_code == 200
    assert str(mine.pk) in page(listing) and str(foreign.pk) not in page(listing)
    assert "Acting as <strong>Asha Dental Care</strong>" in page(listing)
    assert ops.get(f"/admin/clinical/patient/{foreign.pk}/change/").status_code == 404
    assert ops.get("/admin/clinical/office/add/").status_code == 403, "read-only"
    assert ops.get("/admin/tenants/tenant/").status_code == 403, "one clinic at a time"

    started = clinic_events(a, action="platform.act_as_started")
    requests = clinic_events(a, action="platform.act_as_request")
    assert [(e.actor_id, e.reason) for e in started] == [(operator.pk, REASON)]
    assert len(requests) == 4 and {e.reason for e in requests} == {REASON}
    assert clinic_events(b, action__startswith="platform.") == []


def test_the_clinic_owner_reads_who_looked_and_why_in_their_audit_log(clinics, ops):
    a, _ = clinics
    act_as(ops, a)
    ops.get("/admin/clinical/patient/")
    owner = log_in(Client(), staff(a.owner), a)
    log = page(
        owner.get("/admin/tenants/auditevent/", {"action__exact": "platform.act_as_started"})
    )
    assert "ops@platform.example" in log and REASON in log


def test_stopping_returns_to_the_platform_and_is_recorded(clinics, ops):
    a, _ = clinics
    act_as(ops, a)
    response = ops.post("/admin/act-as/stop/")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/tenants/tenant/{a.pk}/change/"
    assert ops.get("/admin/clinical/patient/").status_code == 403
    assert ops.get("/admin/tenants/tenant/").status_code == 200
    assert len(clinic_events(a, action="platform.act_as_stopped")) == 1


def test_acting_as_ends_by_itself_after_an_hour(clinics, ops):
    a, _ = clinics
    act_as(ops, a)
    session = ops.session
    session[ACT_AS_STARTED_KEY] = (timezone.now() - timedelta(minutes=61)).isoformat()
    session.save()
    assert ops.get("/admin/clinical/patient/").status_code == 403
    assert ops.get("/admin/tenants/tenant/").status_code == 200


def test_a_clinic_admin_cannot_start_acting_as(clinics):
    a, b = clinics
    owner = log_in(Client(), staff(a.owner), a)
    assert act_as(owner, b).status_code == 403
    assert clinic_events(b, action="platform.act_as_started") == []


# --- operators log in at the admin's own door -------------------------------------------------


def operator_login(client, email, password=TEST_PASSWORD, next_url="/admin/tenants/tenant/"):
    return client.post(
        "/admin/operator-login/", {"email": email, "password": password, "next": next_url}
    )


def test_an_operator_logs_in_without_a_clinic_and_is_audited(clinics, operator):
    client = Client()
    response = operator_login(client, "OPS@platform.example")
    assert response.status_code == 302 and response["Location"] == "/admin/tenants/tenant/"
    assert client.get("/admin/tenants/tenant/").status_code == 200
    [event] = platform_events(action="auth.operator_login")
    assert event.actor_id == operator.pk and event.tenant_id is None


def test_the_operator_door_refuses_everybody_else_like_a_wrong_password(clinics):
    a, _ = clinics
    staff(a.owner)
    right = operator_login(Client(), a.owner.email)
    wrong = operator_login(Client(), a.owner.email, "Not-The-Password-9")
    nobody = operator_login(Client(), "nobody@example.com")
    for response in (right, wrong, nobody):
        assert response.status_code == 200
        assert "E-mail or password is incorrect." in page(response)
    assert len(platform_events(action="auth.login_failed")) == 3
    assert platform_events(action="auth.operator_login") == []


def test_the_operator_door_never_redirects_off_site(clinics, operator):
    response = operator_login(Client(), operator.email, next_url="https://evil.example/")
    assert response["Location"] == "/admin/"


def test_operators_read_the_platforms_own_events_read_only(clinics, ops):
    from tenants.audit import audit_record

    event = audit_record(action="auth.login_failed", details={"email": "x@y.example"})
    listed = page(ops.get("/admin/tenants/platformauditevent/"))
    assert "auth.login_failed" in listed
    assert ops.get(f"/admin/tenants/platformauditevent/{event.pk}/change/").status_code == 200
    assert ops.get(f"/admin/tenants/platformauditevent/{event.pk}/delete/").status_code == 403
    assert ops.get("/admin/tenants/platformauditevent/add/").status_code == 403
