"""Password hashes, admin flags and failed-login records, through the database's narrow path.

The runtime role has no privilege on `accounts_password` and cannot change `is_staff` or
`is_superuser` or delete django-axes' records (tenants.dbroles, issue 12 item 5). The
application does these through SECURITY DEFINER functions that check the *credentials key*
first: a secret derived from SECRET_KEY, which the database keeps only as a digest. So the
code of this application can do them, and a foothold in the runtime role's SQL cannot.

The key is sent as a bound parameter of a server-side prepared statement (psycopg's plain
cursor, not Django's client-side binding), so it never appears in the query text that
`pg_stat_activity` shows to other sessions of the same role.
"""

from __future__ import annotations

import functools

import psycopg
from django.conf import settings
from django.db import connections, router

from tenants import people_sql
from tenants.backend.base import PlatformAccessRequired
from tenants.context import current


@functools.cache
def _key_for(secret_key: str) -> str:
    return people_sql.credentials_key(secret_key)


def credentials_key() -> str:
    return _key_for(settings.SECRET_KEY)


def _call(model, query: str, params: list, *, write: bool):
    """Run one function call on the connection the ORM would use for `model` (so inside
    platform_access() it is the platform role's, and it joins the current transaction)."""
    alias = (router.db_for_write if write else router.db_for_read)(model)
    connection = connections[alias or "default"]
    # Keep the platform alias' guard: it is usable only inside platform_access().
    if connection.settings_dict.get("CLINIC_ROLE") == "platform" and not current().platform:
        raise PlatformAccessRequired("The platform alias is usable only in platform_access().")
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, [credentials_key(), *params])
        return cursor.fetchone()[0] if cursor.description else None


def password_hash(user) -> str | None:
    """The person's password hash, or None when they never chose one."""
    # type(user) routes like the ORM would for the person's model; this module imports no
    # model, so accounts.models can import it.
    return _call(type(user), "SELECT clinic_password_hash(%s, %s)", [user.pk], write=False)


def password_hash_store(user, encoded: str) -> None:
    _call(type(user), "SELECT clinic_password_set(%s, %s, %s)", [user.pk, encoded], write=True)


def user_flags_store(user, *, is_staff: bool, is_superuser: bool) -> None:
    _call(
        type(user),
        "SELECT clinic_user_flags_set(%s, %s, %s, %s)",
        [user.pk, is_staff, is_superuser],
        write=True,
    )


def person_id_by_email(email: str):
    """The id of the person whose e-mail is exactly this address (case-insensitive), or None.

    People are under row-level security, and a login or a password reset has nobody to act
    as yet: this is the one narrow way to find a person by e-mail (one id for one address,
    never a list, never by prefix). accounts.selectors.person_by_email then reads the row in
    that person's own context.
    """
    from accounts.models import User

    return _call(User, "SELECT clinic_person_by_email(%s, %s)", [email], write=False)


def failed_logins_reset(*, username: str | None, ip_address: str | None) -> int:
    from axes.models import AccessAttempt

    return _call(
        AccessAttempt,
        "SELECT clinic_axes_reset(%s, %s, %s)",
        [username, ip_address],
        write=True,
    )


def failed_logins_expire(*, before) -> int:
    from axes.models import AccessAttempt

    return _call(AccessAttempt, "SELECT clinic_axes_expire(%s, %s)", [before], write=True)
