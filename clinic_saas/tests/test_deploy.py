"""`manage.py check --deploy` is clean with production settings (catalogue item 13)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings


def _database_env() -> dict[str, str]:
    """Point a child process at the same PostgreSQL (and test database) as this run."""
    name = settings.DATABASES["default"]["NAME"]
    if settings.EMBEDDED_DATABASE:
        return {"EMBEDDED_DB_NAME": name}

    def url(alias):
        config = settings.DATABASES[alias]
        password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
        return (
            f"postgres://{config['USER']}{password}@{config['HOST']}:{config['PORT'] or 5432}"
            f"/{name}"
        )

    return {
        "DATABASE_URL": url("default"),
        "DATABASE_OWNER_URL": url("owner"),
        "DATABASE_PLATFORM_URL": url("platform"),
    }


def test_check_deploy_passes_with_production_settings(db):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "EMBEDDED_", "DEBUG", "PYTEST", "DJANGO_", "TESTING"))
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="clinics.example.com",
        **_database_env(),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout, result.stdout
