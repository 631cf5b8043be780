"""People under row-level security: `check_rls` and the start-up check report every way the
people table's protection can drift (its policies, its gate, the member function, the
runtime role's privileges). The behaviour itself is tested in test_people_rls.py.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from tenants import people_sql
from tenants.checks import inspect_database
from tenants.tests.test_guards import assert_drift_reported, owner_sql

TOKEN = "/api/v1/auth/token"


# --- drift is caught ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "restore", "expected"),
    [
        (
            "ALTER TABLE accounts_user NO FORCE ROW LEVEL SECURITY",
            "ALTER TABLE accounts_user FORCE ROW LEVEL SECURITY",
            "accounts_user: row-level security is not forced",
        ),
        (
            'DROP POLICY "clinic_members" ON accounts_user',
            None,
            "accounts_user: policy clinic_members is missing",
        ),
        (
            "REVOKE EXECUTE ON FUNCTION clinic_person_by_email(text, text) FROM clinic_app",
            "GRANT EXECUTE ON FUNCTION clinic_person_by_email(text, text) TO clinic_app",
            "clinic_person_by_email(): role clinic_app may not execute it",
        ),
        (
            "GRANT EXECUTE ON FUNCTION clinic_person_by_email(text, text) TO PUBLIC",
            "REVOKE EXECUTE ON FUNCTION clinic_person_by_email(text, text) FROM PUBLIC",
            "clinic_person_by_email(): PUBLIC may execute it",
        ),
        (
            "CREATE OR REPLACE FUNCTION clinic_person_by_email(p_key text, p_email text) "
            "RETURNS uuid LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public "
            "AS $$ SELECT NULL::uuid $$",
            None,
            "clinic_person_by_email(): its body differs from tenants.dbroles",
        ),
        (
            "CREATE OR REPLACE FUNCTION clinic_member_ids() RETURNS uuid[] LANGUAGE plpgsql "
            "STABLE SECURITY INVOKER SET search_path = pg_catalog, public "
            "AS $$BEGIN RETURN ARRAY(SELECT m.user_id FROM accounts_membership m); END$$",
            None,
            "clinic_member_ids(): its body differs from tenants.dbroles",
        ),
        (
            "ALTER FUNCTION clinic_member_ids() SECURITY DEFINER",
            "ALTER FUNCTION clinic_member_ids() SECURITY INVOKER",
            "clinic_member_ids(): SECURITY DEFINER",
        ),
        (
            "GRANT EXECUTE ON FUNCTION clinic_member_ids() TO PUBLIC",
            "REVOKE EXECUTE ON FUNCTION clinic_member_ids() FROM PUBLIC",
            "clinic_member_ids(): PUBLIC may execute it",
        ),
        (
            "REVOKE EXECUTE ON FUNCTION clinic_member_ids() FROM clinic_app",
            "GRANT EXECUTE ON FUNCTION clinic_member_ids() TO clinic_app",
            "clinic_member_ids(): role clinic_app may not execute it",
        ),
        (
            # The membership check without its person: any member's id would pass.
            "CREATE OR REPLACE FUNCTION clinic_membership_check(p_tenant uuid, p_user uuid) "
            "RETURNS TABLE (membership accounts_membership, person accounts_user, "
            "clinic tenants_tenant) LANGUAGE plpgsql STABLE SECURITY INVOKER "
            "SET search_path = pg_catalog, public AS $$BEGIN RETURN QUERY SELECT m, u, t "
            "FROM accounts_membership m JOIN accounts_user u ON u.id = m.user_id "
            "JOIN tenants_tenant t ON t.id = m.tenant_id WHERE m.tenant_id = p_tenant; END$$",
            None,
            "clinic_membership_check(): its body differs from tenants.dbroles",
        ),
        (
            "ALTER FUNCTION clinic_membership_check(uuid, uuid) SECURITY DEFINER",
            "ALTER FUNCTION clinic_membership_check(uuid, uuid) SECURITY INVOKER",
            "clinic_membership_check(): SECURITY DEFINER",
        ),
        (
            "GRANT EXECUTE ON FUNCTION clinic_membership_check(uuid, uuid) TO PUBLIC",
            "REVOKE EXECUTE ON FUNCTION clinic_membership_check(uuid, uuid) FROM PUBLIC",
            "clinic_membership_check(): PUBLIC may execute it",
        ),
    ],
    ids=[
        "no-force",
        "policy-dropped",
        "runtime-grant",
        "public-execute",
        "body-changed",
        "members-body-changed",
        "members-definer",
        "members-public",
        "members-runtime-grant",
        "check-body-changed",
        "check-definer",
        "check-public",
    ],
)
def test_check_rls_and_the_startup_check_report_people_drift(live_db, statement, restore, expected):
    from accounts.models import User
    from tenants import rls

    if settings.DATABASES["default"]["USER"] != "clinic_app":
        pytest.skip("the statements name the default runtime role")
    if restore is None:
        # Put the people's policies and functions back as the migration installs them.
        roles = {"runtime": "clinic_app", "platform": settings.DATABASES["platform"]["USER"]}
        restore = [
            *rls.enable_sql(User._meta.db_table, "people"),
            *people_sql.people_rls_sql(**roles),
            *people_sql.member_functions_sql(names=people_sql.INVOKER_FUNCTIONS, **roles),
        ]
    else:
        restore = [restore]
    assert_drift_reported(statement, restore=restore, expected=expected)


@pytest.mark.parametrize(
    "role_sql",
    [
        "'clinic_app'",
        "(SELECT pg_get_userbyid(c.relowner) FROM pg_class c "
        "WHERE c.oid = 'accounts_user'::regclass)",
    ],
    ids=["another-role", "catalogue-sub-select"],
)
def test_check_rls_reports_a_people_gate_that_does_not_name_the_owner(live_db, role_sql):
    """The definer gate names the table's owner as a literal; a gate naming the runtime role
    (which could then raise the flag and read everybody) is drift, and so is the old form."""
    from accounts.models import User
    from tenants import rls

    gate = f"(current_setting('app.people_lookup', true) = 'on' AND current_user = {role_sql})"
    assert inspect_database() == []
    with owner_sql(
        f'ALTER POLICY "clinic_people_lookup" ON accounts_user USING ({gate}) WITH CHECK ({gate})',
        restore=rls.enable_sql(User._meta.db_table, "people"),
    ):
        problems = inspect_database()
        assert any(
            "accounts_user: policy clinic_people_lookup has drifted" in p for p in problems
        ), problems
        with pytest.raises(CommandError):
            call_command("check_rls")
    assert inspect_database() == []
