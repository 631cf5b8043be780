"""A person's clinics without the clinics table's member sub-select (issue 17, part 3).

The clinics table shows a clinic's row only in that clinic's context (tenants.rls, kind
"tenant_root"). The per-request membership check reads it in the token's clinic context, and
the lists of a person's clinics (login's choice, the switcher, /me) read each clinic in its
own context, for the active memberships the person can see. These tests pin the two-clinic
cases down: nobody reads another clinic's row, and the lists stay exactly the person's active,
non-cancelled clinics.
"""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import Membership
from accounts.selectors import active_membership, membership_for_token, memberships_of
from accounts.testing import add_member, bearer, create_clinic, create_user
from tenants.context import no_tenant, tenant_context, user_context
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def _visible_clinic_ids() -> set:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenants_tenant")
        return {row[0] for row in cursor.fetchall()}


def _deactivate(membership: Membership) -> None:
    with tenant_context(membership.tenant_id):
        Membership.objects.filter(pk=membership.pk).update(is_active=False)


@pytest.fixture
def two_clinics():
    a, b = create_clinic("Clinic A"), create_clinic("Clinic B")
    person = create_user("person.of.a@example.com")
    add_member(a, user=person, role="doctor")
    return a, b, person


def test_a_person_of_a_never_reads_clinic_b_row(two_clinics):
    a, b, person = two_clinics
    with no_tenant():
        assert _visible_clinic_ids() == set(), "no context: no clinic at all"
    with user_context(person):
        assert _visible_clinic_ids() == set(), "only the person's id: no clinic row either"
        assert not Tenant.visible.filter(pk=b.pk).exists()
    with tenant_context(a, user=person):
        assert _visible_clinic_ids() == {a.pk}, "A's context: A's row only"
        assert not Tenant.visible.filter(pk=b.pk).exists()


def test_the_membership_check_refuses_a_clinic_the_person_is_not_in(two_clinics):
    a, b, person = two_clinics
    assert membership_for_token(user_id=person.pk, tenant_id=b.pk) is None
    assert active_membership(user=person, tenant_id=b.pk) is None
    found = membership_for_token(user_id=person.pk, tenant_id=a.pk)
    assert found is not None and found.tenant.pk == a.pk and found.user.pk == person.pk
    assert active_membership(user=person, tenant_id=a.pk).tenant.pk == a.pk


def test_the_membership_check_leaves_no_clinic_behind(two_clinics):
    a, _b, person = two_clinics
    with user_context(person):
        assert membership_for_token(user_id=person.pk, tenant_id=a.pk) is not None
        # The clinic was named for that one read only: the person's context is back.
        assert _visible_clinic_ids() == set()


def test_memberships_of_lists_exactly_the_active_clinics(two_clinics):
    a, b, person = two_clinics
    c, gone, cancelled = create_clinic("Clinic C"), create_clinic("Left"), create_clinic("Shut")
    add_member(c, user=person, role="nurse")
    left = add_member(gone, user=person, role="owner")
    add_member(cancelled, user=person, role="doctor")
    _deactivate(left)
    with tenant_context(cancelled):
        Tenant.objects.filter(pk=cancelled.pk).update(status=Tenant.Status.CANCELLED)
    listed = memberships_of(person)
    assert {m.tenant_id for m in listed} == {a.pk, c.pk}
    assert all(m.tenant.pk == m.tenant_id and m.user == person for m in listed)
    assert b.pk not in {m.tenant_id for m in listed}
    assert {m.tenant_id for m in memberships_of(person, roles=["nurse"])} == {c.pk}


def test_a_deactivated_membership_drops_the_clinic(two_clinics):
    a, b, person = two_clinics
    in_b = add_member(b, user=person, role="doctor")
    assert {m.tenant_id for m in memberships_of(person)} == {a.pk, b.pk}
    _deactivate(in_b)
    assert {m.tenant_id for m in memberships_of(person)} == {a.pk}
    assert membership_for_token(user_id=person.pk, tenant_id=b.pk) is None


def test_me_and_the_switch_list_exactly_the_person_clinics(api, two_clinics):
    a, b, person = two_clinics
    c = create_clinic("Clinic C")
    in_c = add_member(c, user=person, role="nurse")
    body = api.get("/api/v1/auth/me", **bearer(person, a)).json()
    assert {x["tenant_id"] for x in body["clinics"]} == {str(a.pk), str(c.pk)}
    _deactivate(in_c)
    body = api.get("/api/v1/auth/me", **bearer(person, a)).json()
    assert [x["tenant_id"] for x in body["clinics"]] == [str(a.pk)]


def test_an_admin_of_another_clinic_stays_privileged(two_clinics):
    # Two-factor's "owns or runs any clinic" reads the clinics' status through the selector:
    # with the member sub-select gone from the policy, a join to the clinics table as the
    # person alone would find nothing and silently drop the requirement.
    from accounts.two_factor import _privileged_reason

    a, b, person = two_clinics
    add_member(b, user=person, role="owner")
    as_doctor = membership_for_token(user_id=person.pk, tenant_id=a.pk)
    with user_context(person):
        assert _privileged_reason(person, as_doctor) == "role"
