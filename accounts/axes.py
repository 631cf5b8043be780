"""django-axes hooks: who the client is, how a login's username is read, and what a
locked-out client sees."""

from __future__ import annotations

import math

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_parameters, get_client_username
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import JsonResponse
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle

from accounts import credentials as credential_store
from accounts.models import normalize_email


def client_ip(request) -> str | None:
    """The client's address, as DRF's throttles see it (AXES_CLIENT_IP_CALLABLE).

    DRF reads X-Forwarded-For only when NUM_PROXIES (= TRUSTED_PROXY_COUNT) is above zero,
    and then takes the entry that many hops from the right: what the nearest trusted proxy
    saw. Entries further left were written by the client and are ignored. Using DRF's own
    function means the rate limits and the login lockouts can never disagree about who the
    client is.
    """
    return BaseThrottle().get_ident(getattr(request, "_request", request)) or None


def username_from(request, credentials) -> str:
    """Lockouts are keyed by (e-mail, IP); the e-mail is compared case-insensitively."""
    credentials = credentials or {}
    raw = credentials.get("username") or credentials.get("email")
    if raw is None and request is not None:
        raw = request.POST.get("email") or request.POST.get("username")
    return normalize_email(raw or "")


def lockout_retry_after() -> int:
    """Seconds until a lockout ends at the latest: the whole cool-off (every failed attempt
    starts it again), so a client that waits this long is never refused again for it."""
    return max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds()))


def lockout_response(request, original_response=None, credentials=None):
    # django-axes' middleware answers every request that ended in a lockout with this, so the
    # API, the pages and the admin login all carry Retry-After like any other 429.
    detail = "Too many failed attempts. Try again later or reset your password."
    if request.path.startswith("/api/"):
        response = JsonResponse({"code": "locked_out", "detail": detail}, status=429)
    else:
        response = render(request, "accounts/locked_out.html", {"detail": detail}, status=429)
    response["Retry-After"] = str(lockout_retry_after())
    return response


class DatabaseHandler(AxesDatabaseHandler):
    """django-axes' database handler, except that it never deletes rows itself.

    The runtime role may not DELETE from axes_accessattempt (issue 12, item 5): a foothold in
    it must not be able to lift lockouts or erase the trace of an attack. Resetting a
    person's failures after a successful login, and removing expired records, go through the
    credentials functions, which check the application's key (accounts.credentials).
    """

    def reset_user_attempts(self, request, credentials=None) -> int:
        username = get_client_username(request, credentials)
        count = 0
        for parameters in get_client_parameters(
            username, request.axes_ip_address, request.axes_user_agent, request, credentials
        ):
            if set(parameters) - {"username", "ip_address"}:
                # Only the lockout parameters this project uses are supported by the function.
                raise ImproperlyConfigured(
                    "accounts.axes.DatabaseHandler supports lockouts by username and IP only."
                )
            count += credential_store.failed_logins_reset(
                username=parameters.get("username"), ip_address=parameters.get("ip_address")
            )
        return count

    def clean_expired_user_attempts(self, request=None, credentials=None) -> int:
        if settings.AXES_COOLOFF_TIME is None:
            return 0
        return credential_store.failed_logins_expire(before=get_cool_off_threshold(request))
