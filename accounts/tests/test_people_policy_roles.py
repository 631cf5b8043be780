"""The people policies by role (accounts/0013, tenants.rls kind "people").

The definer gate of the owner's credentials functions is addressed to the owner role alone,
so the runtime role's statements never carry it; each of the two roles has a restrictive
policy that is exactly its own permissive set; and a restrictive policy for PUBLIC keeps
every other role from reading a person, so a permissive policy added by mistake widens
nothing for any role.
"""

from __future__ import annotations

import contextlib

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg import sql

from accounts.models import User
from accounts.testing import add_member, create_clinic, create_user
from tenants import dbroles, rls
from tenants.context import tenant_context
from tenants.tests.test_guards import owner_sql

OTHER_ROLE = "clinic_people_probe"


def _plan_of_people_read(clinic) -> str:
    with tenant_context(clinic), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (VERBOSE) SELECT email FROM accounts_user")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_runtime_roles_reads_of_people_carry_no_definer_gate(live_db):
    clinic = create_clinic()
    plan = _plan_of_people_read(clinic)
    assert "clinic_member_ids()" in plan  # the members' branch is there ...
    assert rls.PEOPLE_LOOKUP_FLAG not in plan  # ... and the owner's gate is not


def test_with_the_policies_of_accounts_0010_the_gate_was_in_every_read(live_db):
    """The control of the test above: with every people policy for PUBLIC, as accounts/0010
    installed them, the runtime role's plan carries the gate."""
    clinic = create_clinic()
    table = User._meta.db_table
    with owner_sql(*rls.enable_sql(table, "people_0010"), restore=rls.enable_sql(table, "people")):
        assert rls.PEOPLE_LOOKUP_FLAG in _plan_of_people_read(clinic)


@contextlib.contextmanager
def _other_role():
    """A role that is neither the runtime role nor the owner, allowed to read people and
    memberships, on an administrator's connection acting as it (SET ROLE)."""
    admin = dbroles.conninfo_from_url(settings.DATABASE_ADMIN_URL)
    database = settings.DATABASES["default"]["NAME"]
    role = sql.Identifier(OTHER_ROLE)
    with psycopg.connect(admin, dbname=database, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(role))
        try:
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role))
            for table in ("accounts_user", "accounts_membership"):
                conn.execute(
                    sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(table), role)
                )
            conn.execute(
                sql.SQL("GRANT EXECUTE ON FUNCTION clinic_member_ids() TO {}").format(role)
            )
            yield conn
        finally:
            conn.execute("RESET ROLE")
            conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
            conn.execute(sql.SQL("DROP ROLE {}").format(role))


def _people_seen(conn, clinic, person) -> int:
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(OTHER_ROLE)))
        conn.execute(
            "SELECT set_config('app.tenant_id', %s, true), set_config('app.user_id', %s, true)",
            [str(clinic.pk), str(person.pk)],
        )
        return conn.execute("SELECT count(*) FROM accounts_user").fetchone()[0]


@pytest.fixture
def clinic_with_people(live_db):
    clinic = create_clinic()
    person = create_user("member.of.a@example.com")
    add_member(clinic, user=person, role="doctor")
    return clinic, person


def test_a_role_that_is_neither_runtime_nor_owner_reads_no_person(clinic_with_people):
    clinic, person = clinic_with_people
    with _other_role() as conn:
        assert _people_seen(conn, clinic, person) == 0


def test_without_the_public_bound_that_role_reads_the_clinics_people(clinic_with_people):
    """The control: with the PUBLIC restrictive policy dropped (in a transaction rolled back),
    the same role reads the person in context and the clinic's members through the
    permissive policies, so the zero above is that policy's doing."""
    clinic, person = clinic_with_people
    with _other_role() as conn:
        with pytest.raises(psycopg.errors.Error, match="rolled back"):
            with conn.transaction():
                conn.execute('DROP POLICY "clinic_readers" ON accounts_user')
                assert _people_seen(conn, clinic, person) >= 2
                raise psycopg.errors.Error("rolled back")
        assert _people_seen(conn, clinic, person) == 0
