"""Request logs and metrics: one line per request, and Prometheus counters.

`RequestObservabilityMiddleware` (first in MIDDLEWARE) gives every request an id (returned as
`X-Request-ID`; an incoming one is kept only from a trusted proxy), counts its database
queries, and when the response is ready writes one log line and updates the metrics:

    timestamp, level, request id, clinic id, user id, method, path template, status,
    duration, queries

The path is the URL pattern that matched (`api/v1/patients/families/<str:mobile>/`), never the
raw path, which can hold a patient's mobile number; query strings (searches by name) are never
logged. Every other line logged during the request carries the same request id, clinic and
person (`RequestContextFilter`), so a request's lines can be followed by its id.

Formats: JSON, one object per line, in production; a readable line in development (DEBUG), or
as LOG_FORMAT says. Django's own request warnings ("Not Found: /raw/path") are rewritten to
the path template, and database error details ("Key (mobile)=(...)") are cut from logged
exceptions, so no log line carries a patient's name, mobile or clinical text.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextlib import ExitStack
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connections
from django.utils.functional import empty
from prometheus_client import Counter, Histogram

from tenants.context import current

REQUEST_LOGGER = logging.getLogger("clinic_saas.request")
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass
class RequestInfo:
    request_id: str
    tenant_id: str | None = None
    user_id: str | None = None


_request: ContextVar[RequestInfo | None] = ContextVar("clinic_request_info", default=None)


def current_request_id() -> str | None:
    info = _request.get()
    return info.request_id if info else None


# --- metrics ------------------------------------------------------------------------------------

REQUESTS = Counter(
    "clinic_http_requests_total",
    "HTTP requests by endpoint (URL pattern), method and status.",
    ["endpoint", "method", "status"],
)
DURATION = Histogram(
    "clinic_http_request_duration_seconds",
    "Time to answer a request, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUERIES = Histogram(
    "clinic_http_request_db_queries",
    "Database statements per request, by endpoint.",
    ["endpoint"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89),
)


class _QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


# --- the middleware -------------------------------------------------------------------------------


def _endpoint(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return "/" + (match.route or match.view_name or "").lstrip("^").rstrip("$")


def _ids(request) -> tuple[str | None, str | None]:
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)
    # An unevaluated lazy user stays unevaluated: logging must not query the session.
    if user is None or getattr(user, "_wrapped", None) is empty:
        user_id = None
    else:
        user_id = str(user.pk) if getattr(user, "is_authenticated", False) else None
    return (str(tenant.pk) if tenant is not None else None), user_id


class RequestObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def _request_id(self, request) -> str:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        # Only a proxy we trust may name the request (TRUSTED_PROXY_COUNT); anybody else
        # could fill the logs with ids of their choosing.
        if (
            incoming
            and getattr(settings, "TRUSTED_PROXY_COUNT", 0)
            and _INCOMING_ID.match(incoming)
        ):
            return incoming
        return uuid.uuid4().hex

    def __call__(self, request):
        info = RequestInfo(self._request_id(request))
        request.request_id = info.request_id
        token = _request.set(info)
        counter = _QueryCounter()
        start = time.perf_counter()
        status = 500
        try:
            with ExitStack() as stack:
                for alias in ("default", "platform"):
                    stack.enter_context(connections[alias].execute_wrapper(counter))
                response = self.get_response(request)
            status = response.status_code
            response["X-Request-ID"] = info.request_id
            return response
        finally:
            duration = time.perf_counter() - start
            info.tenant_id, info.user_id = _ids(request)
            endpoint = _endpoint(request)
            REQUESTS.labels(endpoint, request.method, str(status)).inc()
            DURATION.labels(endpoint).observe(duration)
            QUERIES.labels(endpoint).observe(counter.count)
            REQUEST_LOGGER.info(
                "%s %s %s",
                request.method,
                endpoint,
                status,
                extra={
                    "http": {
                        "method": request.method,
                        "path": endpoint,
                        "status": status,
                        "duration_ms": round(duration * 1000, 1),
                        "db_queries": counter.count,
                    }
                },
            )
            _request.reset(token)


# --- logging --------------------------------------------------------------------------------------


class RequestContextFilter(logging.Filter):
    """Adds the request id, clinic and person to every record logged during a request, and
    rewrites Django's request warnings to the path template (the raw path can hold PHI)."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = _request.get()
        if not hasattr(record, "request_id"):
            record.request_id = info.request_id if info else None
        if not hasattr(record, "clinic_id") or not hasattr(record, "user_id"):
            tenant_id = user_id = None
            if info is not None:
                ctx = current()
                tenant_id = info.tenant_id or (str(ctx.tenant_id) if ctx.tenant_id else None)
                user_id = info.user_id or (str(ctx.user_id) if ctx.user_id else None)
            record.clinic_id, record.user_id = tenant_id, user_id
        request = getattr(record, "request", None)
        if record.name.startswith(("django.request", "django.security")) and request is not None:
            status = getattr(record, "status_code", "")
            record.msg = "%s %s %s"
            record.args = (getattr(request, "method", ""), _endpoint(request), status)
        return True


_DETAIL = re.compile(r"^\s*DETAIL:.*$", re.M)


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    if not record.exc_info:
        return ""
    # PostgreSQL's DETAIL lines quote the row's values (a duplicate mobile number, say).
    return _DETAIL.sub("  DETAIL: (values omitted)", formatter.formatException(record.exc_info))


class JSONFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "clinic_id": getattr(record, "clinic_id", None),
            "user_id": getattr(record, "user_id", None),
        }
        entry.update(getattr(record, "http", None) or {})
        exception = _exception_text(self, record)
        if exception:
            entry["exception"] = exception
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """A readable line for a developer's terminal."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        parts = [stamp, f"{record.levelname:<7}"]
        request_id = getattr(record, "request_id", None)
        if request_id:
            parts.append(f"[{request_id[:8]}]")
        http = getattr(record, "http", None)
        if http:
            parts.append(
                f"{http['method']} {http['path']} {http['status']} "
                f"{http['duration_ms']}ms {http['db_queries']}q"
            )
        else:
            parts.append(f"{record.name}: {record.getMessage()}")
        for key in ("clinic_id", "user_id"):
            value = getattr(record, key, None)
            if value:
                parts.append(f"{key.split('_')[0]}={value[:8]}")
        line = " ".join(parts)
        exception = _exception_text(self, record)
        return f"{line}\n{exception}" if exception else line
