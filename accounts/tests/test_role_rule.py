"""Issue 12, item 3: one rule for roles, in the membership service.

Only an owner grants or removes the owner role (and manages another owner); nobody changes
their own role or deactivates themself; a clinic always keeps an active owner. The admin,
the pages, the API and the commands all go through the service, and the admin offers only
the roles the signed-in person may give.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.models import Membership, Role
from accounts.services import invitation_create
from accounts.testing import add_member, create_clinic
from clinics.services import (
    invitation_revoke,
    membership_deactivate,
    membership_reactivate,
    membership_role_change,
)
from clinics.tests.admin_helpers import log_in, staff
from core.errors import ApplicationError, PermissionDeniedError
from tenants.context import tenant_context


def member(clinic, user) -> Membership:
    with tenant_context(clinic):
        return Membership.objects.select_related("user").get(user=user)


@pytest.fixture
def admin_user(clinic_a):
    return add_member(clinic_a, email="admin@asha.example", role="admin").user


# --- in the admin (where main let an admin take over the clinic) -----------------------------


def test_an_admin_cannot_make_themself_owner_in_the_admin(client, clinic_a, alice, admin_user):
    log_in(client, staff(admin_user), clinic_a)
    mine = member(clinic_a, admin_user)
    client.post(f"/admin/accounts/membership/{mine.pk}/change/", {"role": "owner"})
    assert member(clinic_a, admin_user).role == Role.ADMIN


def test_an_admin_cannot_demote_the_owner_in_the_admin(client, clinic_a, alice, admin_user):
    log_in(client, staff(admin_user), clinic_a)
    owner = member(clinic_a, alice)
    client.post(f"/admin/accounts/membership/{owner.pk}/change/", {"role": "nurse"})
    client.post(
        "/admin/accounts/membership/",
        {"action": "deactivate", "_selected_action": [str(owner.pk)]},
    )
    owner = member(clinic_a, alice)
    assert owner.role == Role.OWNER and owner.is_active


def test_the_admin_offers_an_admin_only_the_roles_they_may_give(
    client, clinic_a, alice, admin_user
):
    nurse = add_member(clinic_a, email="n@asha.example", role="nurse")
    log_in(client, staff(admin_user), clinic_a)
    for url in (
        f"/admin/accounts/membership/{nurse.pk}/change/",
        "/admin/accounts/membership/add/",
    ):
        page = client.get(url).content.decode()
        assert 'value="admin"' in page and 'value="owner"' not in page, url
    log_in(client, staff(alice), clinic_a)
    page = client.get(f"/admin/accounts/membership/{nurse.pk}/change/").content.decode()
    assert 'value="owner"' in page, "an owner may hand out ownership"


# --- the service itself, whoever calls it --------------------------------------------------------


def test_only_an_owner_grants_or_removes_the_owner_role(clinic_a, alice, admin_user):
    nurse = add_member(clinic_a, email="n@asha.example", role="nurse")
    with pytest.raises(PermissionDeniedError) as excinfo:
        membership_role_change(tenant=clinic_a, actor=admin_user, membership=nurse, role="owner")
    assert excinfo.value.code == "owner_only"
    for service, extra in (
        (membership_role_change, {"role": "nurse"}),
        (membership_deactivate, {}),
    ):
        with pytest.raises(PermissionDeniedError):
            service(tenant=clinic_a, actor=admin_user, membership=member(clinic_a, alice), **extra)
    membership_role_change(tenant=clinic_a, actor=alice, membership=nurse, role="owner")
    assert member(clinic_a, nurse.user).role == Role.OWNER
    membership_role_change(tenant=clinic_a, actor=alice, membership=nurse, role="admin")
    assert member(clinic_a, nurse.user).role == Role.ADMIN


@pytest.mark.parametrize(
    ("service", "extra"),
    [
        (membership_role_change, {"role": "admin"}),
        (membership_deactivate, {}),
        (membership_reactivate, {}),
    ],
    ids=["role", "deactivate", "reactivate"],
)
def test_nobody_changes_their_own_membership(clinic_a, alice, admin_user, service, extra):
    for person in (alice, admin_user):
        with pytest.raises(PermissionDeniedError) as excinfo:
            service(tenant=clinic_a, actor=person, membership=member(clinic_a, person), **extra)
        assert excinfo.value.code == "self_change"
    assert member(clinic_a, alice).role == Role.OWNER and member(clinic_a, alice).is_active


def test_a_clinic_always_keeps_an_active_owner(clinic_a, alice):
    second = add_member(clinic_a, email="second.owner@asha.example", role="owner")
    membership_role_change(
        tenant=clinic_a, actor=second.user, membership=member(clinic_a, alice), role="admin"
    )
    with pytest.raises(ApplicationError) as excinfo:
        # The only owner left cannot be removed by anybody, not even by a platform command.
        membership_deactivate(tenant=clinic_a, actor=None, membership=second)
    assert excinfo.value.code == "last_owner"
    assert member(clinic_a, second.user).is_active


def test_members_who_are_not_admins_change_nothing(clinic_a, alice, bob):
    nurse = add_member(clinic_a, email="n@asha.example", role="nurse")
    with pytest.raises(PermissionDeniedError) as excinfo:
        membership_deactivate(tenant=clinic_a, actor=bob, membership=nurse)
    assert excinfo.value.code == "not_team_manager"
    with pytest.raises(PermissionDeniedError):
        invitation_create(tenant=clinic_a, actor=bob, email="x@example.com", role="nurse")


def test_an_admin_cannot_touch_an_invitation_to_become_owner(clinic_a, alice, admin_user):
    invitation = invitation_create(
        tenant=clinic_a, actor=None, email="co.owner@example.com", role="owner", allow_owner=True
    )
    with pytest.raises(PermissionDeniedError):
        invitation_revoke(tenant=clinic_a, actor=admin_user, invitation=invitation)
    invitation_revoke(tenant=clinic_a, actor=alice, invitation=invitation)


def test_two_owners_demoting_each_other_at_once_leave_one_owner(live_db):
    clinic = create_clinic("Twin Owners Clinic")
    first = clinic.owner
    second = add_member(clinic, email="twin@example.com", role="owner").user
    barrier = threading.Barrier(2)
    errors = []

    def demote(actor, target):
        try:
            barrier.wait()
            membership_role_change(
                tenant=clinic, actor=actor, membership=member(clinic, target), role="admin"
            )
        except ApplicationError as exc:
            errors.append(exc.code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=demote, args=(first, second)),
        threading.Thread(target=demote, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with tenant_context(clinic):
        owners = Membership.objects.filter(role=Role.OWNER, is_active=True).count()
    assert owners == 1 and len(errors) == 1
