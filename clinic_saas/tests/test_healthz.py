"""Liveness, readiness and metrics (issue 18, item 6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from clinic_saas import views
from tenants import rls
from tenants.models import OutboxEmail


@pytest.fixture(autouse=True)
def _fresh_readiness():
    views.clear_ready_cache()
    yield
    views.clear_ready_cache()


def test_healthz_answers_liveness_with_the_version(client, settings):
    settings.APP_VERSION = ""
    views.version.cache_clear()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["version"] == views.version()
    import subprocess

    commit = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    if commit.returncode == 0:
        assert body["version"] == commit.stdout.strip()
    settings.APP_VERSION = "2026.12.1"
    views.version.cache_clear()
    assert client.get("/healthz").json()["version"] == "2026.12.1"
    views.version.cache_clear()


def test_readyz_is_ready_when_every_check_passes(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ready" and body["version"]
    assert set(body["checks"]) == {"database", "migrations", "row_level_security", "email_outbox"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.fixture
def database_down(live_db):
    """Point the runtime connection at a socket where nothing listens."""
    connection.close()
    original = connection.settings_dict["HOST"]
    connection.settings_dict["HOST"] = "/nonexistent-socket-dir"
    yield
    connection.close()
    connection.settings_dict["HOST"] = original


def test_healthz_stays_alive_and_readyz_answers_503_when_the_database_is_down(
    client, database_down
):
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": {"ok": False, "detail": "unreachable"}}


def _as_owner(*statements):
    owner = connections["owner"]
    with owner.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    owner.close()


def test_readyz_turns_unready_when_row_level_security_is_broken(client, live_db):
    assert client.get("/readyz").status_code == 200
    views.clear_ready_cache()
    _as_owner('DROP POLICY "clinic_isolation" ON "clinical_patient"')
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        check = response.json()["checks"]["row_level_security"]
        assert check["ok"] is False and check["problems"] >= 1
    finally:
        _as_owner(*rls.enable_sql("clinical_patient", "tenant"))
    views.clear_ready_cache()
    assert client.get("/readyz").status_code == 200


def test_readyz_turns_unready_when_a_migration_is_not_applied(client, live_db):
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT app, name, applied FROM django_migrations WHERE app = 'tenants' "
            "ORDER BY name DESC LIMIT 1"
        )
        app, name, applied = cursor.fetchone()
    _as_owner(f"DELETE FROM django_migrations WHERE app = '{app}' AND name = '{name}'")
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["migrations"] == {"ok": False, "pending": 1}
    finally:
        with connections["owner"].cursor() as cursor:
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)",
                [app, name, applied],
            )
        connections["owner"].close()


def test_readyz_turns_unready_when_the_email_outbox_is_stuck(client, db, settings):
    settings.OUTBOX_READY_MAX_AGE = 3600
    OutboxEmail(
        template="invitation",
        recipient="nina@example.com",
        subject="s",
        created_at=timezone.now() - timedelta(hours=2),
    ).save(force_insert=True)
    response = client.get("/readyz")
    assert response.status_code == 503
    outbox = response.json()["checks"]["email_outbox"]
    assert outbox["ok"] is False and outbox["pending"] == 1
    assert outbox["oldest_pending_seconds"] >= 7200
    settings.OUTBOX_READY_MAX_AGE = 0  # operators may switch this check off
    assert client.get("/readyz").status_code == 200


def test_metrics_need_the_operator_token(client, db, settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False
    assert client.get("/metrics").status_code == 404  # not configured: not public
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert ok.status_code == 200 and ok["Content-Type"].startswith("text/plain")


def test_metrics_count_requests_queries_and_the_outbox(client, db, settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    client.get("/readyz")
    client.get("/api/v1/patients/")  # 401: counted under its URL pattern
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").content.decode()
    assert 'clinic_http_requests_total{endpoint="/readyz",method="GET",status="200"}' in text
    assert 'endpoint="/api/v1/patients/' in text and 'status="401"' in text
    assert 'clinic_http_request_duration_seconds_bucket{endpoint="/readyz"' in text
    assert 'clinic_http_request_db_queries_count{endpoint="/readyz"}' in text
    assert 'clinic_email_outbox{status="pending"}' in text
    assert "clinic_email_outbox_oldest_pending_seconds" in text
    assert f'clinic_build_info{{version="{views.version()}"}} 1.0' in text
