"""A new operator's first steps work as the README writes them (issue 18, items 1-3 and 7):
commands without DEBUG or .env on the embedded database, a working .env.example, links to the
port `make run` serves, a bounded number of connections under runserver, and `make run`
installing only the runtime requirements."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from clinic_saas.tests.test_deploy import _database_env

ROOT = Path(settings.BASE_DIR)
embedded_only = pytest.mark.skipif(
    not settings.EMBEDDED_DATABASE, reason="the embedded database's defaults"
)


def _clean_env(**extra) -> dict[str, str]:
    """The environment of someone who typed the command: no DEBUG, no secrets, this run's
    database (the embedded server's data folder is kept)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DATABASE_", "EMBEDDED_DB", "DEBUG", "PYTEST", "DJANGO_", "SECRET", "TESTING")
        )
        and key not in ("ALLOWED_HOSTS", "SITE_URL", "HTTPS")
    }
    env.update(_database_env(), **extra)
    return env


def _manage(*args, env: dict[str, str], timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@embedded_only
@pytest.mark.parametrize("command", [["tenants", "--json"], ["check_rls"], ["check"]])
def test_readme_commands_run_without_debug_or_env_file(live_db, command):
    result = _manage(*command, env=_clean_env())
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "Traceback" not in result.stderr


def test_a_deployment_still_demands_a_secret_key():
    env = _clean_env(
        DATABASE_URL="postgres://clinic_app:x@db.invalid:5432/clinic_saas",
        DATABASE_OWNER_URL="postgres://clinic_owner:x@db.invalid:5432/clinic_saas",
        DATABASE_PLATFORM_URL="postgres://clinic_platform:x@db.invalid:5432/clinic_saas",
        ALLOWED_HOSTS="clinics.example.com",
    )
    env.pop("EMBEDDED_DB_NAME", None)
    result = _manage("check", env=env, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@embedded_only
def test_the_development_secret_is_generated_once_in_the_ignored_data_folder():
    from clinic_saas import embedded_db

    if os.environ.get("SECRET_KEY"):
        pytest.skip("SECRET_KEY is set in this environment")
    data_dir = Path(os.environ.get("EMBEDDED_PGDATA") or embedded_db.DEFAULT_DATA_DIR)
    path = data_dir.resolve() / embedded_db.SECRET_KEY_FILE
    assert settings.SECRET_KEY == embedded_db.development_secret_key() == path.read_text().strip()
    assert len(settings.SECRET_KEY) >= 50
    assert path.stat().st_mode & 0o077 == 0, "only the owner may read it"
    if shutil.which("git") and path.is_relative_to(ROOT):
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT)
        assert ignored.returncode == 0, "the development secret must never be committed"


@embedded_only
def test_env_example_is_a_working_local_setup(live_db):
    """`cp .env.example .env` must not break a local checkout: its active lines are local
    values (production ones are marked and commented out)."""
    values = dict(
        re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", (ROOT / ".env.example").read_text(), re.M)
    )
    assert "DATABASE_URL" not in values, "production-only settings stay commented out"
    env = _clean_env(**values)
    env.update(_database_env())  # this run's test database instead of EMBEDDED_DB_NAME's
    result = _manage("check", "--database", "default", env=env)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]


def _make_dry_run(*args) -> str:
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    result = subprocess.run(
        ["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_passes_its_port_to_links_and_runs_the_email_worker():
    out = _make_dry_run("run", "PORT=8303")
    for command in ("seed_demo", "send_outbox", "runserver 127.0.0.1:8303"):
        [line] = [line for line in out.splitlines() if command in line]
        assert "SITE_URL=http://127.0.0.1:8303" in line, line


def test_make_run_installs_only_the_runtime_requirements():
    out = _make_dry_run("-B", "run")  # -B: as from a fresh clone, every install step shown
    assert "-r requirements.txt" in out
    assert "requirements-dev.txt" not in out
    runtime = (ROOT / "requirements.txt").read_text().lower()
    assert "playwright" not in runtime and "pytest" not in runtime


def test_emailed_links_use_site_url(
    client, alice, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "http://127.0.0.1:8303"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password-reset/", {"email": alice.email})
    [message] = mailoutbox
    assert "http://127.0.0.1:8303/reset/" in message.body


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runtime_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND usename = current_user AND pid <> pg_backend_pid() "
            "AND application_name = 'clinic_saas'"
        )
        return cursor.fetchone()[0]


def test_runserver_holds_a_bounded_number_of_connections(live_db):
    """runserver serves each request on a new thread; before the fix every thread kept its
    connection (CONN_MAX_AGE=60) and one burst left 141 idle ones behind."""
    port = _free_port()
    env = _clean_env(DEBUG="1")
    if settings.EMBEDDED_DATABASE and os.environ.get("EMBEDDED_PGDATA"):
        env["EMBEDDED_PGDATA"] = os.environ["EMBEDDED_PGDATA"]
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/readyz"

    def get(_=None) -> int:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                get()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        with ThreadPoolExecutor(max_workers=16) as pool:
            for _ in range(3):
                statuses = list(pool.map(get, range(16)))
                assert set(statuses) <= {200, 503}, statuses
        time.sleep(1)
        # Each request closed its connection: none is left behind by the 48 threads.
        assert _runtime_connections() <= 1
    finally:
        server.terminate()
        server.communicate(timeout=30)
