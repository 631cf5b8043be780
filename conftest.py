"""Test-suite wiring: a throw-away database on real PostgreSQL, used as the runtime role.

pytest-django would create the test database with the `default` connection and migrate it
through that connection. Here the runtime role may neither create databases nor tables, so
this file creates it with the admin (superuser) URL, owned by the owner role, migrates it as
the owner and points every alias at it. Tests then run as the runtime role, exactly like the
application (design invariant 5).

Fixtures:
* `db` (pytest-django): the test runs in a transaction that is rolled back.
* `live_db`: data really commits (threads, several connections, DDL through the owner
  role); every table is emptied afterwards, by the owner role. pytest-django's
  `transactional_db` (and so its `live_server`) is the same fixture here.
* `browser_page`: a Playwright page in headless Debian Chromium, on pytest-django's
  `live_server`; tests marked `browser` are skipped, with the reason, without Chromium.
* Personas, as in healthchecks' tests: `clinic_a` with its owner `alice` and doctor `bob`,
  and `clinic_b` whose owner `charlie` is the outsider.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from accounts.testing import add_member, create_clinic


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
def transactional_db(live_db):
    """pytest-django's own version empties the tables with `flush` as the runtime role, which
    may not TRUNCATE (it owns nothing: design invariant 5). Here it is `live_db`: committed
    data, emptied by the owner role afterwards. pytest-django's `live_server` asks for this
    fixture, so the live server and the test see the same committed rows. Do not combine it
    with `db` (or a persona built on it): that one would wrap the test in a transaction the
    server thread cannot see."""


# --- browser tests (Playwright on Debian's Chromium) -----------------------------------------

CHROMIUM = "/usr/bin/chromium"
# Headless, offline: no sandbox (CI runs as root), no GPU, nothing fetched in the background.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not os.path.exists(CHROMIUM):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -r requirements-dev.txt)"
    return None


def pytest_report_header(config):
    reason = browser_unavailable()
    return f"browser tests: {'SKIPPED, ' + reason if reason else 'Chromium at ' + CHROMIUM}"


def pytest_collection_modifyitems(config, items):
    reason = browser_unavailable()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"browser test skipped: {reason}")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    reason = browser_unavailable()
    ran = any(
        report.keywords.get("browser")
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
    )
    if reason and not ran:
        terminalreporter.write_line(
            f"Browser tests were SKIPPED: {reason}.", yellow=True, bold=True
        )


@pytest.fixture
def browser_page(live_server):
    """A fresh browser (no cookies) on the live server; closed before the tables are emptied.

    While Playwright runs, its event loop is the thread's running loop, so Django refuses
    ORM calls from the test body (SynchronousOnlyOperation): create the test's rows in
    fixtures listed before this one, and check results through the pages.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.fixture
def screenshot(browser_page):
    """`screenshot(name)` saves the page as artifacts/screenshots/<name>.png (git-ignored)."""

    def save(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        browser_page.screenshot(path=str(path), full_page=True)
        return path

    return save


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
