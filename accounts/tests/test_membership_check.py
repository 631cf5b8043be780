"""The per-request membership check through `clinic_membership_check()` (issue 17, part 3).

The check reads the person's active membership in the token's clinic, with the person and the
clinic, through a SECURITY INVOKER plpgsql function whose plan is cached per connection. It
must stay exactly as safe as the three-table statement it replaced: row-level security filters
what the function reads as it filtered the statement, so a clinic's context shows nothing of
another clinic even when the function is asked for it by id.
"""

from __future__ import annotations

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, User
from accounts.selectors import active_membership, as_person, membership_for_token
from accounts.testing import add_member, create_clinic, create_user
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.platform import platform_access

CALL = "SELECT (r.membership).id FROM clinic_membership_check(%s, %s) r"


@pytest.fixture
def personas(live_db):
    """alice owns clinic A, bob is a doctor of A, charlie owns clinic B (committed: the
    control test reads them through the platform role's own connection)."""
    a, b = create_clinic("Clinic A"), create_clinic("Clinic B")
    alice, bob, charlie = (create_user(f"{n}@example.com") for n in ("alice", "bob", "charlie"))
    add_member(a, user=alice, role="owner")
    add_member(a, user=bob, role="doctor")
    add_member(b, user=charlie, role="owner")
    return a, b, alice, bob, charlie


def _call(cursor, clinic, person) -> list:
    cursor.execute(CALL, [clinic.pk, person.pk])
    return cursor.fetchall()


def test_the_check_is_one_statement_through_the_function(personas):
    a, _b, _alice, bob, _charlie = personas
    with CaptureQueriesContext(connection) as captured:
        membership = membership_for_token(user_id=bob.pk, tenant_id=a.pk)
    assert membership is not None
    assert len(captured.captured_queries) == 1
    assert "clinic_membership_check(" in captured.captured_queries[0]["sql"]


def test_the_check_gives_what_the_orm_gives(personas):
    a, _b, _alice, bob, _charlie = personas
    with tenant_context(a):
        Tenant.objects.filter(pk=a.pk).update(settings={"letterhead": {"lines": ["Ward 3"]}})
    found = membership_for_token(user_id=bob.pk, tenant_id=a.pk)
    with tenant_context(a, user=bob):
        expected = Membership.objects.select_related("tenant", "user").get(user=bob)
    for got, want in ((found, expected), (found.tenant, expected.tenant)):
        for field in type(want)._meta.concrete_fields:
            assert getattr(got, field.attname) == getattr(want, field.attname), field.name
    for field in User._meta.concrete_fields:
        assert getattr(found.user, field.attname) == getattr(expected.user, field.attname)
    assert found.tenant.settings == {"letterhead": {"lines": ["Ward 3"]}}
    assert found.created_at.tzinfo is not None
    # The related rows are attached: reading them costs no further query.
    with CaptureQueriesContext(connection) as captured:
        assert (found.tenant.pk, found.user.pk) == (a.pk, bob.pk)
    assert captured.captured_queries == []


def test_outsider_context_reads_nothing_through_the_function(personas):
    """In clinic B's context, asking the function for A's membership by id finds nothing:
    row-level security hides A's membership, A's row and A's people from B."""
    a, b, _alice, bob, charlie = personas
    with tenant_context(b, user=charlie), connection.cursor() as cursor:
        assert _call(cursor, a, bob) == []
    with tenant_context(a, user=bob), connection.cursor() as cursor:
        assert len(_call(cursor, a, bob)) == 1


def test_without_row_level_security_the_same_call_finds_the_row(personas):
    """The control for the test above: the platform role (BYPASSRLS) in clinic B's context
    gets A's membership from the same call, so the empty answer above is row-level
    security's doing, not the function's WHERE clause."""
    a, b, _alice, bob, charlie = personas
    with tenant_context(b, user=charlie):
        with platform_access(reason="test: the check without row-level security"):
            with connections["platform"].cursor() as cursor:
                assert len(_call(cursor, a, bob)) == 1


def test_the_function_runs_as_the_caller(personas):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prosecdef, proconfig FROM pg_proc WHERE proname = 'clinic_membership_check'"
        )
        definer, config = cursor.fetchone()
    assert definer is False
    assert "plan_cache_mode=force_generic_plan" in config


@pytest.mark.parametrize("change", ["membership_inactive", "person_inactive", "clinic_cancelled"])
def test_the_check_refuses_what_invariant_7_refuses(personas, change):
    a, _b, _alice, bob, _charlie = personas
    assert membership_for_token(user_id=bob.pk, tenant_id=a.pk) is not None
    if change == "membership_inactive":
        with tenant_context(a):
            Membership.objects.filter(user=bob).update(is_active=False)
    elif change == "person_inactive":
        with as_person(bob):
            User.objects.filter(pk=bob.pk).update(is_active=False)
    else:
        with tenant_context(a):
            Tenant.objects.filter(pk=a.pk).update(status=Tenant.Status.CANCELLED)
    assert membership_for_token(user_id=bob.pk, tenant_id=a.pk) is None
    # `bob` is the object loaded before the change: the database's answer is what counts.
    assert active_membership(user=bob, tenant_id=a.pk) is None


def _scans(node):
    if "Scan" in node["Node Type"]:
        yield node
    for child in node.get("Plans", []):
        yield from _scans(child)


def test_the_checks_cached_plan_reads_each_table_by_key(personas):
    """The function's statement as PostgreSQL caches it (the generic plan: the clinic and the
    person unknown): each of the three tables is read through an index with a condition, never
    scanned, so the one plan serves a clinic of any size. Sequential scans are priced out, as
    in the plan checks, so one that remains means no index can serve the statement."""
    from tenants.people_sql import INVOKER_FUNCTIONS

    a, _b, _alice, bob, _charlie = personas
    body = INVOKER_FUNCTIONS["clinic_membership_check"][3]
    statement = body.removeprefix("BEGIN RETURN QUERY ").removesuffix("; END")
    statement = statement.replace("p_tenant", "$1").replace("p_user", "$2")
    with tenant_context(a, user=bob), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"PREPARE membership_check_plan(uuid, uuid) AS {statement}")
        try:
            cursor.execute(
                "EXPLAIN (FORMAT JSON) EXECUTE membership_check_plan(%s, %s)", [a.pk, bob.pk]
            )
            [root] = cursor.fetchone()[0]
        finally:
            cursor.execute("DEALLOCATE membership_check_plan")
    scans = {scan["Relation Name"]: scan for scan in _scans(root["Plan"])}
    assert set(scans) == {"accounts_membership", "accounts_user", "tenants_tenant"}
    for table, scan in scans.items():
        assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), (table, scan)
        assert "$" in scan["Index Cond"], (table, scan["Index Cond"])
