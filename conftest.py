"""Test-suite wiring: a throw-away database on real PostgreSQL, used as the runtime role.

pytest-django would create the test database with the `default` connection and migrate it
through that connection. Here the runtime role may neither create databases nor tables, so
this file creates it with the admin (superuser) URL, owned by the owner role, migrates it as
the owner and points every alias at it. Tests then run as the runtime role, exactly like the
application (design invariant 5).

Fixtures:
* `db` (pytest-django): the test runs in a transaction that is rolled back.
* `live_db`: data really commits (threads, several connections, DDL through the owner
  role); every table is emptied afterwards, by the owner role.
* Personas, as in healthchecks' tests: `clinic_a` with its owner `alice` and doctor `bob`,
  and `clinic_b` whose owner `charlie` is the outsider.
"""

from __future__ import annotations

import os

import pytest

from tenants.testing import add_member, create_clinic


def _test_database_name(base: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"test_{base}" + (f"_{worker}" if worker else "")


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from tenants import dbroles

    admin_url = settings.DATABASE_ADMIN_URL
    if not admin_url:
        pytest.exit("Tests need DATABASE_ADMIN_URL (a superuser URL) to create their database.")
    admin = dbroles.conninfo_from_url(admin_url)
    name = _test_database_name(settings.DATABASES["default"]["NAME"])

    def role(alias):
        config = settings.DATABASES[alias]
        return dbroles.Role(config["USER"], config.get("PASSWORD") or None)

    spec = dbroles.RoleSpec(name, role("owner"), role("default"), role("platform"))
    reuse = request.config.getvalue("reuse_db")
    with django_db_blocker.unblock():
        for connection in connections.all():
            connection.close()
        dbroles.ensure_roles(admin, spec)
        if not reuse:
            dbroles.drop_database(admin, name)
        dbroles.ensure_database(admin, spec, name)
        for alias in settings.DATABASES:
            settings.DATABASES[alias]["NAME"] = name
            connections[alias].settings_dict["NAME"] = name
        call_command("migrate", database="owner", verbosity=0, interactive=False)
    yield
    with django_db_blocker.unblock():
        for connection in connections.all():
            connection.close()
        if not reuse:
            dbroles.drop_database(admin, name)


def _truncate_everything():
    from django.apps import apps
    from django.db import connections

    tables = [
        m._meta.db_table
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed
        and not m._meta.proxy
        and m._meta.app_label not in ("contenttypes", "auth")
    ]
    tables += ["auth_group", "auth_group_permissions"]
    owner = connections["owner"]
    with owner.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in sorted(set(tables))) + " CASCADE")
    owner.close()


@pytest.fixture
def live_db(django_db_setup, django_db_blocker):
    """Committed data; tables are emptied (by the owner role) after the test."""
    with django_db_blocker.unblock():
        try:
            yield
        finally:
            _truncate_everything()


@pytest.fixture
def clinic_a(db):
    return create_clinic("Asha Dental Care", owner_email="alice@asha.example")


@pytest.fixture
def clinic_b(db):
    return create_clinic("Bharat Family Clinic", owner_email="charlie@bharat.example")


@pytest.fixture
def alice(clinic_a):
    """Owner of clinic A."""
    return clinic_a.owner


@pytest.fixture
def bob(clinic_a):
    """A doctor of clinic A."""
    return add_member(clinic_a, email="bob@asha.example", role="doctor").user


@pytest.fixture
def charlie(clinic_b):
    """Owner of clinic B: the outsider for everything of clinic A."""
    return clinic_b.owner


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttles and lockouts live in the cache; every test starts without any."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()
