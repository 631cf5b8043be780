"""Errors that services raise and every surface (API, pages, admin, commands) understands.

A service never raises an HTTP exception; it raises an `ApplicationError` with a stable
`code` and a human `detail`. The API's exception handler turns it into JSON with the right
status, pages show the detail as a message, commands print it.
"""

from __future__ import annotations


class ApplicationError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        extra: dict | None = None,
        field_errors: dict | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.extra = extra or {}
        self.field_errors = field_errors or {}


class NotFoundError(ApplicationError):
    status_code = 404
    code = "not_found"


class PermissionDeniedError(ApplicationError):
    status_code = 403
    code = "permission_denied"


class ConflictError(ApplicationError):
    status_code = 409
    code = "conflict"


class PlanLimitReached(ApplicationError):
    status_code = 403
    code = "plan_limit_reached"


class SubscriptionInactive(ApplicationError):
    status_code = 402
    code = "subscription_inactive"


class Throttled(ApplicationError):
    """Too many requests of one kind: answered 429 with a `Retry-After` header."""

    status_code = 429
    code = "throttled"

    def __init__(self, detail: str, *, retry_after: int, **kwargs):
        super().__init__(detail, **kwargs)
        self.retry_after = max(1, int(retry_after))
        self.extra = {"retry_after": self.retry_after, **self.extra}
