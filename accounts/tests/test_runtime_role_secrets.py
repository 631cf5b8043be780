"""The runtime role cannot rewrite identities or read secrets (issue 12, item 5).

Each statement below is what a foothold in the runtime database role (SQL injection, say)
would try. They run as the runtime role itself, through the application's own connection,
with no clinic in context (and, where it could help the attacker, as the victim). Before this
change every one of them succeeded.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from accounts.selectors import as_person, person_by_id
from accounts.sessions import key_digest
from accounts.testing import TEST_PASSWORD, create_user
from tenants.context import no_tenant
from tenants.tests.test_guards import assert_drift_reported

TOKEN = "/api/v1/auth/token"


def as_runtime_role(sql: str, params=None):
    """Run one statement as the runtime role with no clinic in context (its own savepoint,
    so a refusal leaves the test's transaction usable). Returns the rows, if any."""
    with no_tenant(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_setting('app.tenant_id', true)")
        role, tenant = cursor.fetchone()
        assert role == settings.DATABASES["default"]["USER"] and not tenant
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def refused(sql: str, params=None) -> str:
    with pytest.raises(DatabaseError) as excinfo:
        as_runtime_role(sql, params)
    return str(excinfo.value)


# --- identities ---------------------------------------------------------------------------


def test_it_cannot_make_anyone_an_operator_or_admin(alice):
    # With nobody in context the person is not even visible (people's row-level security).
    assert (
        as_runtime_role(
            "UPDATE accounts_user SET is_superuser = true WHERE id = %s RETURNING id", [alice.pk]
        )
        == []
    )
    # Acting as the victim, who may write their own row, the flags are still refused.
    for column in ("is_superuser", "is_staff"):
        message = refused(
            "SELECT set_config('app.user_id', %s, true); "
            f"UPDATE accounts_user SET {column} = true WHERE id = %s",
            [str(alice.pk), alice.pk],
        )
        assert "change only through the platform role" in message
    # Nor can it create an operator of its own.
    new_id = "6d0c2a4e-0000-4000-8000-000000000001"
    message = refused(
        "SELECT set_config('app.user_id', %s, true); "
        "INSERT INTO accounts_user (id, email, first_name, last_name, phone, is_active, "
        "is_staff, is_superuser, token_version, date_joined) VALUES (%s, "
        "'mallory@example.com', '', '', '', true, true, true, 1, now())",
        [new_id, new_id],
    )
    assert "change only through the platform role" in message
    with as_person(alice):
        alice.refresh_from_db()
    assert (alice.is_staff, alice.is_superuser) == (False, False)


def test_the_application_still_grants_admin_access_through_its_narrow_path(alice):
    from accounts.services import user_staff_set

    operator = create_user("ops@platform.example", is_staff=True, is_superuser=True)
    user_staff_set(user=alice, actor=operator, is_staff=True)
    assert person_by_id(alice.pk).is_staff is True
    assert person_by_id(operator.pk).is_superuser is True
    # The function behind it needs the application's key, which the database never holds.
    message = refused("SELECT clinic_user_flags_set(%s, %s, true, true)", ["guessed-key", alice.pk])
    assert "credentials key" in message


def test_it_can_neither_read_nor_write_password_hashes(api, clinic_a, alice):
    refused("SELECT password FROM accounts_user")
    assert "permission denied" in refused("SELECT * FROM accounts_password")
    assert "permission denied" in refused(
        "UPDATE accounts_password SET password = 'argon2$forged' WHERE user_id = %s", [alice.pk]
    )
    assert "permission denied" in refused(
        "INSERT INTO accounts_password (user_id, password) VALUES (%s, 'x') "
        "ON CONFLICT (user_id) DO UPDATE SET password = 'x'",
        [alice.pk],
    )
    for sql, params in (
        ("SELECT clinic_password_hash(%s, %s)", ["guessed-key", alice.pk]),
        ("SELECT clinic_password_set(%s, %s, 'argon2$forged')", ["guessed-key", alice.pk]),
        ("SELECT clinic_password_hash(NULL, %s)", [alice.pk]),
    ):
        assert "credentials key" in refused(sql, params)
    # The application itself still signs people in with their password.
    answer = api.post(TOKEN, {"email": alice.email, "password": TEST_PASSWORD}, format="json")
    assert answer.status_code == 200


# --- bearer secrets -----------------------------------------------------------------------


def test_outstanding_refresh_tokens_are_stored_as_digests(api, clinic_a, alice):
    pair = api.post(TOKEN, {"email": alice.email, "password": TEST_PASSWORD}, format="json")
    refresh = pair.json()["refresh"]
    stored = [
        row[0] for row in as_runtime_role("SELECT token FROM token_blacklist_outstandingtoken")
    ]
    # simplejwt writes the token as it was before our claims were added; either way only a
    # SHA-256 digest reaches the table, never anything that decodes as a JWT.
    [value] = stored
    assert value.startswith("sha256:") and len(value) == len("sha256:") + 64
    assert refresh not in stored and "eyJ" not in value
    # Rotation and blacklisting work by jti, as before.
    rotated = api.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json")
    assert rotated.status_code == 200
    replay = api.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json")
    assert replay.status_code == 401
    stored = [
        row[0] for row in as_runtime_role("SELECT token FROM token_blacklist_outstandingtoken")
    ]
    assert len(stored) == 2 and all(value.startswith("sha256:") for value in stored)


def test_sessions_are_stored_by_a_digest_of_their_key(client, clinic_a, alice):
    answer = client.post("/login/", {"email": alice.email, "password": TEST_PASSWORD})
    assert answer.status_code == 302
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    stored = [row[0] for row in as_runtime_role("SELECT session_key FROM django_session")]
    assert cookie not in stored
    assert key_digest(cookie) in stored
    # The cookie still works, and logging out removes the row.
    assert client.get("/clinic/").status_code == 200
    client.post("/logout/")
    assert key_digest(cookie) not in [
        row[0] for row in as_runtime_role("SELECT session_key FROM django_session")
    ]


# --- failed logins ------------------------------------------------------------------------


def test_it_cannot_delete_failed_login_records(api, client, clinic_a, alice):
    def fail():
        api.post(TOKEN, {"email": alice.email, "password": "Wrong-Password-99"}, format="json")

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        fail()
    assert "permission denied" in refused("DELETE FROM axes_accessattempt")
    assert "credentials key" in refused(
        "SELECT clinic_axes_reset(%s, %s, NULL)", ["guessed-key", alice.email]
    )
    assert "credentials key" in refused("SELECT clinic_axes_expire('guessed-key', now())")
    # The records are all still there...
    [(failures,)] = as_runtime_role("SELECT sum(failures_since_start) FROM axes_accessattempt")
    assert failures == settings.AXES_FAILURE_LIMIT - 1
    # ...and the application's own reset after a successful login still works (django-axes
    # resets on Django's login signal, which the sign-in page sends).
    ok = client.post("/login/", {"email": alice.email, "password": TEST_PASSWORD})
    assert ok.status_code == 302
    assert as_runtime_role("SELECT count(*) FROM axes_accessattempt") == [(0,)]


# --- drift is caught ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "restore", "expected"),
    [
        (
            "GRANT SELECT ON accounts_password TO clinic_app",
            "REVOKE SELECT ON accounts_password FROM clinic_app",
            "role clinic_app has SELECT on accounts_password",
        ),
        (
            "GRANT DELETE ON axes_accessattempt TO clinic_app",
            "REVOKE DELETE ON axes_accessattempt FROM clinic_app",
            "runtime role clinic_app may DELETE axes_accessattempt",
        ),
        (
            'ALTER TABLE accounts_user DISABLE TRIGGER "accounts_user_flags_guard"',
            'ALTER TABLE accounts_user ENABLE TRIGGER "accounts_user_flags_guard"',
            "accounts_user: trigger accounts_user_flags_guard is missing or disabled",
        ),
        (
            "ALTER TABLE token_blacklist_outstandingtoken "
            'DISABLE TRIGGER "token_blacklist_outstandingtoken_digest"',
            "ALTER TABLE token_blacklist_outstandingtoken "
            'ENABLE TRIGGER "token_blacklist_outstandingtoken_digest"',
            "trigger token_blacklist_outstandingtoken_digest is missing or disabled",
        ),
        (
            "GRANT EXECUTE ON FUNCTION clinic_password_hash(text, uuid) TO PUBLIC",
            "REVOKE EXECUTE ON FUNCTION clinic_password_hash(text, uuid) FROM PUBLIC",
            "clinic_password_hash(): PUBLIC may execute it",
        ),
    ],
    ids=[
        "hash-grant",
        "axes-delete",
        "flags-trigger",
        "token-trigger",
        "public-execute",
    ],
)
def test_check_rls_and_the_startup_check_report_drift(live_db, statement, restore, expected):
    if settings.DATABASES["default"]["USER"] != "clinic_app":
        pytest.skip("the statements name the default runtime role")
    assert_drift_reported(statement, restore=[restore], expected=expected)
