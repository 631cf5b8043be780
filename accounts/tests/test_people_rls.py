"""People under row-level security (issue 12, item 5, its last part).

The runtime role sees a person only when acting as that person, or in the context of a clinic
the person has a membership in; only the person writes their own row. Logins, resets and
sign-ups find a person by e-mail through one key-checked function that answers a single id
for one exact address; sessions and tokens load their person in that person's own context.
Every statement here runs as the runtime role, through the application's own connection.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.authentication import PersonBackend
from accounts.credentials import credentials_key
from accounts.models import Invitation, Membership
from accounts.selectors import as_person, person_by_email
from accounts.services import invitation_create
from accounts.testing import TEST_PASSWORD, add_member, bearer, create_clinic, create_user
from tenants import people_sql
from tenants.context import no_tenant, tenant_context
from tenants.tests.test_guards import owner_sql

TOKEN = "/api/v1/auth/token"


def emails_visible(sql: str = "SELECT email FROM accounts_user", params=None) -> set[str]:
    """The people a raw statement of the runtime role returns in the current context."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == settings.DATABASES["default"]["USER"]
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def by_email_function(email, *, key: str | None = "app"):
    """Call the by-e-mail function as the application does (the key as a bound parameter of
    a server-side prepared statement), or with a guessed key."""
    key = credentials_key() if key == "app" else key
    connection.ensure_connection()
    with (
        transaction.atomic(),
        connection.wrap_database_errors,
        psycopg.Cursor(connection.connection) as cursor,
    ):
        cursor.execute("SELECT clinic_person_by_email(%s, %s)", [key, email])
        return cursor.fetchone()[0]


# --- nobody in context --------------------------------------------------------------------


def test_with_nobody_in_context_the_runtime_role_reads_no_person(api, client, clinic_a, alice):
    add_member(clinic_a, email="bob@asha.example")
    with no_tenant():
        assert emails_visible() == set()
        assert emails_visible("SELECT count(*)::text FROM accounts_user") == {"0"}
        # After a transaction that set a person, the emptied setting ('') reads as nobody too.
        with as_person(alice):
            assert emails_visible() == {alice.email}
        assert emails_visible() == set()
        # Writing needs the person's own context as well: nothing is changed or removed.
        assert emails_visible("UPDATE accounts_user SET first_name = 'X' RETURNING email") == set()
        assert emails_visible("DELETE FROM accounts_user RETURNING email") == set()
    # Logging in still works, on the API and on the login page.
    answer = api.post(TOKEN, {"email": alice.email, "password": TEST_PASSWORD}, format="json")
    assert answer.status_code == 200, answer.json()
    page = client.post("/login/", {"email": "ALICE@asha.example ", "password": TEST_PASSWORD})
    assert page.status_code == 302 and page["Location"] == "/clinic/"
    wrong = api.post(TOKEN, {"email": alice.email, "password": "Wrong-Horse-42"}, format="json")
    assert wrong.status_code == 401


def test_a_new_person_can_be_inserted_only_as_themself(db):
    new_id = uuid.uuid4()
    insert = (
        "INSERT INTO accounts_user (id, email, first_name, last_name, phone, is_active, "
        "is_staff, is_superuser, token_version, date_joined) VALUES "
        "(%s, 'new.person@example.com', '', '', '', true, false, false, 1, now()) "
        "RETURNING email"
    )
    with no_tenant(), pytest.raises(DatabaseError, match="row-level security"):
        emails_visible(insert, [new_id])
    clinic = create_clinic()
    with tenant_context(clinic), pytest.raises(DatabaseError, match="row-level security"):
        emails_visible(insert, [new_id])
    # Sign-up does it as the new person (User.save), which the policy allows.
    person = create_user("new.person@example.com")
    assert person_by_email("new.person@example.com").pk == person.pk


# --- two clinics ------------------------------------------------------------------------------


@pytest.fixture
def two_staffs(clinic_a, alice, clinic_b, charlie):
    """Clinic A: alice (owner), bob, and dora (deactivated). Clinic B: charlie (owner) and
    erin. Sam works at both. Ivan has an account (at B) and an open invitation from A."""
    bob = add_member(clinic_a, email="bob@asha.example").user
    dora = add_member(clinic_a, email="dora@asha.example", is_active=False).user
    erin = add_member(clinic_b, email="erin@bharat.example", role="nurse").user
    sam = add_member(clinic_a, email="sam@both.example").user
    add_member(clinic_b, user=sam, role="doctor")
    ivan = add_member(clinic_b, email="ivan@bharat.example", role="nurse").user
    invitation_create(tenant=clinic_a, actor=alice, email=ivan.email, role="nurse")
    return {"bob": bob, "dora": dora, "erin": erin, "sam": sam, "ivan": ivan}


def test_a_clinic_sees_its_own_members_and_never_another_clinics_staff(
    clinic_a, alice, clinic_b, charlie, two_staffs
):
    with tenant_context(clinic_a):
        seen_by_a = emails_visible()
    with tenant_context(clinic_b):
        seen_by_b = emails_visible()
    # Members active or not (a deactivated member stays on the team page and on the records
    # they wrote); the person in both clinics is visible to both.
    assert seen_by_a == {alice.email, "bob@asha.example", "dora@asha.example", "sam@both.example"}
    assert seen_by_b == {
        charlie.email,
        "erin@bharat.example",
        "sam@both.example",
        "ivan@bharat.example",
    }
    # An invitee is not a member: until they accept, clinic A sees only what it typed, so the
    # database must not tell it that the address has an account (issue 12, item 1).
    with tenant_context(clinic_a):
        assert (
            emails_visible(
                "SELECT email FROM accounts_user WHERE email = %s", ["ivan@bharat.example"]
            )
            == set()
        )
        # By id, by e-mail or by a join: clinic B's staff stays out of sight.
        assert (
            emails_visible(
                "SELECT u.email FROM accounts_user u WHERE u.id = ANY(%s)",
                [[charlie.pk, two_staffs["erin"].pk]],
            )
            == set()
        )


def test_the_signed_in_person_is_visible_in_their_clinic_and_in_no_other(
    clinic_a, alice, clinic_b, charlie, two_staffs
):
    # A clinic's context plus the signed-in person: charlie acting in clinic A (say, through
    # a bug) sees himself and clinic A's members, never clinic B's staff.
    with tenant_context(clinic_a, user=charlie):
        seen = emails_visible()
    assert charlie.email in seen and "erin@bharat.example" not in seen
    assert "bob@asha.example" in seen


def test_a_clinic_cannot_change_or_remove_its_members(clinic_a, alice, two_staffs):
    bob = two_staffs["bob"]
    with tenant_context(clinic_a, user=alice):
        # A person's name and e-mail are theirs, shared with every clinic they work at.
        assert (
            emails_visible(
                "UPDATE accounts_user SET email = 'taken@over.example' WHERE id = %s "
                "RETURNING email",
                [bob.pk],
            )
            == set()
        )
        assert (
            emails_visible("DELETE FROM accounts_user WHERE id = %s RETURNING email", [bob.pk])
            == set()
        )
    assert person_by_email("bob@asha.example").pk == bob.pk
    # The person themself may change their own row.
    with as_person(bob):
        assert emails_visible(
            "UPDATE accounts_user SET first_name = 'Robert' WHERE id = %s RETURNING email",
            [bob.pk],
        ) == {"bob@asha.example"}


def test_the_team_list_reads_people_by_index_and_in_one_query(clinic_a, alice, clinic_b):
    """The people policy's membership sub-select must not turn the members list into a scan
    of every person on the platform, or into one query per member."""
    for n in range(300):
        add_member(clinic_b, email=f"other{n}@bharat.example", role="nurse")
    for n in range(5):
        add_member(clinic_a, email=f"staff{n}@asha.example", role="nurse")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_user")
        cursor.execute("ANALYZE accounts_membership")
    with tenant_context(clinic_a, user=alice), CaptureQueriesContext(connection) as queries:
        members = list(Membership.objects.select_related("user").order_by("created_at"))
        names = [member.user.email for member in members]
    assert len(names) == 6 and len(queries) == 1
    # With sequential scans priced out (as the query-plan checks do), a Seq Scan left in the
    # plan means no index can serve the query; a tiny table's statistics left by other tests
    # would otherwise make a scan of it the cheapest plan, and say nothing about the policy.
    with tenant_context(clinic_a, user=alice), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = (
            Membership.objects.select_related("user").order_by("created_at").query.sql_with_params()
        )
        cursor.execute("EXPLAIN (VERBOSE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0][0]["Plan"]
    scans = list(_nodes(plan))
    assert not any(
        node["Node Type"] == "Seq Scan" and node.get("Relation Name") == "accounts_user"
        for node in scans
    ), plan
    # The members come from clinic_member_ids() once per statement (an InitPlan), never once
    # per person or per loop.
    assert "SubPlan" not in str(plan), plan
    assert any(
        node.get("Parent Relationship") == "InitPlan"
        and any("clinic_member_ids()" in str(n.get("Output")) for n in _nodes(node))
        for node in scans
    ), plan
    # And the function's own query reads the memberships of one clinic by index.
    body = people_sql.INVOKER_FUNCTIONS["clinic_member_ids"][3]
    query = body.removeprefix("BEGIN RETURN ARRAY(").removesuffix("); END")
    with tenant_context(clinic_a, user=alice), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + query)
        member_plan = cursor.fetchone()[0][0]["Plan"]
    assert not any(
        node["Node Type"] == "Seq Scan" and node.get("Relation Name") == "accounts_membership"
        for node in _nodes(member_plan)
    ), member_plan


def member_ids() -> set:
    """What clinic_member_ids() answers the runtime role in the current context."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT clinic_member_ids()")
        return set(cursor.fetchone()[0])


def test_the_member_function_answers_nothing_outside_a_clinic_and_its_own_members_inside(
    clinic_a, alice, clinic_b, charlie, two_staffs
):
    staff = {name: person.pk for name, person in two_staffs.items()}
    with no_tenant():
        assert member_ids() == set()
    # Acting as a person is not a clinic's context: their own memberships elsewhere are not
    # a clinic's members.
    with as_person(two_staffs["sam"]):
        assert member_ids() == set()
    with tenant_context(clinic_a, user=alice):
        assert member_ids() == {alice.pk, staff["bob"], staff["dora"], staff["sam"]}
    with tenant_context(clinic_b, user=charlie):
        assert member_ids() == {charlie.pk, staff["erin"], staff["sam"], staff["ivan"]}
    # A person of clinic B acting in clinic A's context still gets clinic A's members only.
    with tenant_context(clinic_a, user=charlie):
        assert member_ids() == {alice.pk, staff["bob"], staff["dora"], staff["sam"]}


def test_the_member_function_runs_as_the_caller_and_only_the_runtime_role_may_call_it(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.prosecdef, p.provolatile, p.proowner::regrole::text, "
            "has_function_privilege('public', p.oid, 'EXECUTE'), "
            "has_function_privilege(%s, p.oid, 'EXECUTE') "
            "FROM pg_proc p WHERE p.oid = 'clinic_member_ids()'::regprocedure",
            [settings.DATABASES["default"]["USER"]],
        )
        definer, volatility, owner, public, runtime = cursor.fetchone()
        cursor.execute(
            "SELECT relowner::regrole::text FROM pg_class WHERE relname = 'accounts_user'"
        )
        table_owner = cursor.fetchone()[0]
    assert (definer, volatility, public, runtime) == (False, "s", False, True)
    assert owner == table_owner


def _clinic_a_sees_none_of_clinic_b(clinic_a, clinic_b):
    with tenant_context(clinic_a):
        seen = emails_visible()
    assert clinic_a.owner.email in seen
    assert clinic_b.owner.email not in seen, seen


def test_a_clinic_sees_another_clinics_people_once_the_member_branch_lets_everyone_through(
    live_db,
):
    """The two-clinic check above depends on the member branch: with `true` in its place,
    clinic A sees clinic B's owner and the check fails."""
    from accounts.models import User
    from tenants import rls

    clinic_a, clinic_b = create_clinic(), create_clinic()
    _clinic_a_sees_none_of_clinic_b(clinic_a, clinic_b)
    owner = settings.DATABASES["owner"]["USER"]
    members = "id = ANY ((SELECT clinic_member_ids())::uuid[])"
    weakened = [
        f'ALTER POLICY "{p.name}" ON accounts_user USING ({p.using.replace(members, "true")})'
        for p in rls.policies_for("people", owner=owner)
        if p.using and members in p.using
    ]
    assert len(weakened) == 2
    with owner_sql(*weakened, restore=rls.enable_sql(User._meta.db_table, "people")):
        with pytest.raises(AssertionError):
            _clinic_a_sees_none_of_clinic_b(clinic_a, clinic_b)
    _clinic_a_sees_none_of_clinic_b(clinic_a, clinic_b)


def _nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


# --- the narrow by-e-mail path ---------------------------------------------------------------


def test_the_by_email_function_answers_one_id_for_an_exact_address_only(clinic_a, alice):
    add_member(clinic_a, email="alina@asha.example")
    with no_tenant():
        assert by_email_function("alice@asha.example") == alice.pk
        assert by_email_function("Alice@Asha.Example") == alice.pk  # addresses ignore case
        for probe in (
            "alice@",
            "alice",
            "ali%",
            "%",
            "_lice@asha.example",
            "alice@asha.example%",
            "%@asha.example",
            ".*",
            "",
            None,
        ):
            assert by_email_function(probe) is None, probe
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.proretset, p.prorettype::regtype::text FROM pg_proc p "
            "WHERE p.proname = 'clinic_person_by_email'"
        )
        # One value, an id: never a set of rows, never a person's details.
        assert cursor.fetchall() == [(False, "uuid")]


def test_the_by_email_function_needs_the_application_key(clinic_a, alice):
    for key in ("guessed-key", "", None):
        with pytest.raises(DatabaseError, match="credentials key"):
            by_email_function(alice.email, key=key)
    # The look-up flag the function raises for itself opens nothing to the runtime role.
    with no_tenant(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.people_lookup', 'on', true)")
        cursor.execute("SELECT email FROM accounts_user")
        assert cursor.fetchall() == []


def test_every_look_up_by_email_sends_the_same_statements_for_known_and_unknown(clinic_a, alice):
    with CaptureQueriesContext(connection) as known:
        assert person_by_email(alice.email).pk == alice.pk
    with CaptureQueriesContext(connection) as unknown:
        assert person_by_email("nobody@asha.example") is None
    assert len(known) == len(unknown) == 1


# --- the signed-in person, loaded as themself ---------------------------------------------------


def test_the_session_person_is_loaded_in_their_own_context(client, clinic_a, alice):
    with no_tenant(), CaptureQueriesContext(connection) as queries:
        loaded = PersonBackend().get_user(str(alice.pk))
    assert loaded.pk == alice.pk
    assert f"SET LOCAL app.user_id = '{alice.pk}'" in queries[0]["sql"]
    assert PersonBackend().get_user("not-a-uuid") is None
    assert PersonBackend().get_user(str(uuid.uuid4())) is None
    # Through the whole stack: a page and the account page know who is signed in.
    answer = client.post("/login/", {"email": alice.email, "password": TEST_PASSWORD})
    assert answer.status_code == 302
    assert client.get("/clinic/").status_code == 200
    assert alice.email in client.get("/account/").content.decode()


def test_the_token_person_is_loaded_in_their_own_context(api, clinic_a, alice, clinic_b):
    headers = bearer(alice, clinic_a)
    me = api.get("/api/v1/auth/me", **headers)
    assert me.status_code == 200 and me.json()["user"]["email"] == alice.email
    # A removed member's token says so (the person is read as themself to tell why).
    with tenant_context(clinic_a):
        bob = add_member(clinic_a, email="bob@asha.example").user
    bob_headers = bearer(bob, clinic_a)
    with tenant_context(clinic_a):
        Membership.objects.filter(user=bob).update(is_active=False)
    refused = api.get("/api/v1/auth/me", **bob_headers)
    assert refused.status_code == 401 and refused.json()["code"] == "membership_inactive"


def test_last_login_is_written_as_the_person(client, clinic_a, alice):
    assert (
        client.post("/login/", {"email": alice.email, "password": TEST_PASSWORD})["Location"]
        == "/clinic/"
    )
    assert person_by_email(alice.email).last_login is not None


# --- a person with no clinic yet ----------------------------------------------------------------


@pytest.fixture
def nina(clinic_a, alice, mailoutbox, django_capture_on_commit_callbacks):
    """Nina has an account but no active clinic; clinic A invites her."""
    nina = create_user("nina@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(tenant=clinic_a, actor=alice, email=nina.email, role="nurse")
    nina.link = f"/invite/{invitation.link_token}/"
    return nina


def test_a_person_in_no_clinic_signs_in_and_accepts_an_invitation_by_link(client, clinic_a, nina):
    page = client.get(nina.link).content.decode()
    assert "Log in to accept" in page
    login = client.post(
        "/login/", {"email": nina.email, "password": TEST_PASSWORD, "next": nina.link}
    )
    assert login.status_code == 302 and login["Location"] == nina.link
    # Signed in without a clinic: the clinic pages turn the session away.
    assert client.get("/clinic/").status_code != 200
    assert "Join" in client.get(nina.link).content.decode()
    accepted = client.post(nina.link)
    assert accepted.status_code == 302 and accepted["Location"] == "/clinic/"
    assert client.get("/clinic/").status_code == 200
    with tenant_context(clinic_a):
        assert Membership.objects.get(user=nina).is_active


def test_a_person_in_no_clinic_lands_on_their_invitations_and_accepts(client, clinic_a, nina):
    login = client.post("/login/", {"email": nina.email, "password": TEST_PASSWORD})
    assert login.status_code == 302 and login["Location"] == "/invitations/"
    listed = client.get("/invitations/").content.decode()
    assert clinic_a.name in listed
    with tenant_context(clinic_a):
        [invitation] = Invitation.objects.filter(email=nina.email)
    accepted = client.post(f"/invitations/{invitation.pk}/accept/")
    assert accepted.status_code == 302 and accepted["Location"] == "/clinic/"
    assert client.get("/clinic/").status_code == 200


def test_a_person_in_no_clinic_with_two_factor_gives_the_code_and_lands_on_invitations(
    client, clinic_a, nina
):
    from accounts.tests.two_factor_helpers import enable_two_factor, fresh_code

    enable_two_factor(nina)
    login = client.post("/login/", {"email": nina.email, "password": TEST_PASSWORD})
    assert login.status_code == 302 and login["Location"] == "/login/two-factor/"
    assert "_auth_user_id" not in client.session, "no session before the code"
    done = client.post("/login/two-factor/", {"code": fresh_code(nina)})
    assert done.status_code == 302 and done["Location"] == "/invitations/"
    assert clinic_a.name in client.get("/invitations/").content.decode()


def test_a_person_in_no_clinic_and_with_no_invitation_is_still_refused(api, client, db):
    person = create_user("loner@example.com")
    page = client.post("/login/", {"email": person.email, "password": TEST_PASSWORD})
    assert page.status_code == 200
    assert "does not belong to any active clinic" in page.content.decode()
    answer = api.post(TOKEN, {"email": person.email, "password": TEST_PASSWORD}, format="json")
    assert answer.status_code == 403 and answer.json()["code"] == "no_clinic"
