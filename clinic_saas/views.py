"""Health and metrics for operators and load balancers.

* `/healthz`: liveness: the process answers (no database), with the version.
* `/readyz`: readiness: the database answers, every migration is applied, row-level security
  is intact (`check_rls`), and the e-mail outbox is not stuck; 503 with the failing check
  otherwise. The migration and row-level security checks are slow, so their result is reused
  for READYZ_CACHE_SECONDS.
* `/metrics`: Prometheus text format, for a scraper holding METRICS_TOKEN.
"""

from __future__ import annotations

import hmac
import logging
import subprocess
import time
from functools import cache

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import REGISTRY, GaugeMetricFamily

from tenants.checks import inspect_database
from tenants.outbox import outbox_backlog

logger = logging.getLogger(__name__)


@cache
def version() -> str:
    """APP_VERSION, else the checkout's git commit, else "unknown"."""
    if settings.APP_VERSION:
        return settings.APP_VERSION
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "unknown"


@never_cache
@require_GET
@transaction.non_atomic_requests
def healthz(request):
    """Liveness: the process serves requests. Restarting it would not fix the database, so
    the database is /readyz's business."""
    return JsonResponse({"status": "ok", "version": version()})


# --- readiness ----------------------------------------------------------------------------------

_cached: dict[str, tuple[float, object]] = {}


def clear_ready_cache() -> None:
    _cached.clear()


def _cached_check(name: str, compute):
    now = time.monotonic()
    hit = _cached.get(name)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = compute()
    _cached[name] = (now + settings.READYZ_CACHE_SECONDS, value)
    return value


def _pending_migrations() -> int:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections["default"])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _rls_problems() -> list[str]:
    return inspect_database("default")


def _readiness() -> tuple[bool, dict]:
    checks: dict[str, dict] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return False, {"database": {"ok": False, "detail": "unreachable"}}
    checks["database"] = {"ok": True}

    try:
        pending = _cached_check("migrations", _pending_migrations)
        checks["migrations"] = {"ok": pending == 0, "pending": pending}
        problems = _cached_check("rls", _rls_problems)
        if problems:
            # The details name tables and policies: they go to the log, not to the caller.
            logger.error("Row-level security check failed: %s", "; ".join(problems))
        checks["row_level_security"] = {"ok": not problems, "problems": len(problems)}

        backlog = outbox_backlog()
        age = backlog.oldest_pending_seconds
        limit = settings.OUTBOX_READY_MAX_AGE
        checks["email_outbox"] = {
            "ok": not (limit and age > limit),
            "pending": backlog.pending,
            "failed": backlog.failed,
            "oldest_pending_seconds": round(age),
        }
    except DatabaseError as exc:
        logger.error("Readiness check failed: %s", exc)
        checks["database"] = {"ok": False, "detail": "error during checks"}
    return all(check["ok"] for check in checks.values()), checks


@never_cache
@require_GET
@transaction.non_atomic_requests
def readyz(request):
    ready, checks = _readiness()
    body = {"status": "ready" if ready else "unavailable", "version": version(), "checks": checks}
    return JsonResponse(body, status=200 if ready else 503)


# --- metrics ------------------------------------------------------------------------------------


class _OutboxCollector:
    """The e-mail backlog, read at scrape time (progress columns only: the runtime role)."""

    def collect(self):
        try:
            backlog = outbox_backlog()
        except DatabaseError:
            return
        pending = GaugeMetricFamily(
            "clinic_email_outbox", "E-mails in the outbox, by status.", labels=["status"]
        )
        pending.add_metric(["pending"], backlog.pending)
        pending.add_metric(["failed"], backlog.failed)
        yield pending
        yield GaugeMetricFamily(
            "clinic_email_outbox_oldest_pending_seconds",
            "Age of the oldest e-mail waiting to be sent.",
            value=backlog.oldest_pending_seconds,
        )


@cache
def _register_collectors() -> None:
    REGISTRY.register(_OutboxCollector())
    info = GaugeMetricFamily("clinic_build_info", "The running version.", labels=["version"])
    info.add_metric([version()], 1)

    class _Info:
        def collect(self):
            yield info

    REGISTRY.register(_Info())


@never_cache
@require_GET
@transaction.non_atomic_requests
def metrics(request):
    token = settings.METRICS_TOKEN
    if token:
        sent = request.META.get("HTTP_AUTHORIZATION", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return JsonResponse(
                {"code": "not_authenticated", "detail": "Send Authorization: Bearer <token>."},
                status=401,
            )
    elif not (settings.DEBUG and request.META.get("REMOTE_ADDR") in ("127.0.0.1", "::1")):
        # No token configured: a deployment answers 404 rather than exposing its numbers;
        # a developer's own machine (DEBUG on) may look.
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    _register_collectors()
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
