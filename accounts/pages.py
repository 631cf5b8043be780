"""What every server-rendered clinic page shares: who may see it, who may change the clinic
through it, and how a service's refusal reaches the person as a readable message.

The pages act for the clinic of the browser session, which `ClinicSessionMiddleware` has
already checked against an active membership (and set as the tenant context). So a page
never takes a clinic from its URL: an object of another clinic is simply not found by the
scoped managers and answers 404, like a missing one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, NamedTuple

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ADMIN_ROLES, Role
from core.errors import ApplicationError

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def clinic_page(
    *,
    read_roles: Iterable[str] | None = None,
    write_roles: Iterable[str] | None = None,
    allow_when_inactive: bool = False,
):
    """Decorate a page view of the session's clinic.

    * Not logged in: to the login page (and back afterwards).
    * Logged in without a usable clinic (removed, deactivated, cancelled): to the clinic
      chooser, which explains.
    * A role outside `read_roles` (GET) or `write_roles` (POST): 403.
    * A write while the clinic is read-only (trial ended, suspended): 402 with what to do,
      unless `allow_when_inactive` (choosing a plan must work precisely then).
    """
    read_roles = frozenset(read_roles) if read_roles is not None else None
    write_roles = frozenset(write_roles) if write_roles is not None else None

    def decorator(view: Callable):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if getattr(request, "membership", None) is None:
                return redirect("choose-clinic")
            safe = request.method in SAFE_METHODS
            roles = read_roles if safe else write_roles
            if roles is not None and request.membership.role not in roles:
                raise PermissionDenied("Your role in this clinic does not allow this.")
            if not safe and not allow_when_inactive and not request.tenant.is_writable:
                return read_only_response(request)
            return view(request, *args, **kwargs)

        wrapper.clinic_page = True
        return wrapper

    return decorator


def read_only_response(request):
    return render(request, "tenants/read_only.html", status=402)


def is_admin(request) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and membership.role in ADMIN_ROLES


def is_owner(request) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and membership.role == Role.OWNER


class Outcome(NamedTuple):
    ok: bool
    value: Any = None
    error: ApplicationError | None = None


def call_service(form: forms.Form | None, service: Callable, /, *, field_map=None, **kwargs):
    """Run a write service and return an `Outcome`; on refusal, put the service's message on
    the form (without a form the caller shows `outcome.error.detail`).

    The call runs in its own savepoint, so a service that wrote something before refusing
    leaves nothing behind (and its after-commit e-mails are dropped with it), while the
    request's transaction still commits what must survive, such as a failed-login record.
    `field_map` renames the service's field names to the form's (`email` →
    `owner_email`); errors on fields the form does not have become form-wide errors.
    """
    try:
        with transaction.atomic():
            return Outcome(True, service(**kwargs))
    except ApplicationError as exc:
        if form is not None:
            add_service_error(form, exc, field_map=field_map)
        return Outcome(False, error=exc)


def add_service_error(form: forms.Form, exc: ApplicationError, *, field_map=None) -> None:
    field_map = field_map or {}
    # The detail sums the refusal up at the top of the form; field errors sit by their field.
    form.add_error(None, exc.detail)
    for name, messages in (exc.field_errors or {}).items():
        target = field_map.get(name, name)
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            if target in form.fields:
                form.add_error(target, str(message))
            elif str(message) != exc.detail:
                form.add_error(None, str(message))


class PageRateThrottle(SimpleRateThrottle):
    """The API's anonymous rate limits (`signup`, `auth`), applied to the page forms that do
    the same work. The cache key is the one DRF's ScopedRateThrottle uses for an anonymous
    client, so a client shares one budget between the pages and the API."""

    cache_format = "throttle_%(scope)s_%(ident)s"

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def throttle_posts(scope: str):
    """Refuse POSTs beyond the scope's rate with a 429 page that says when to retry."""

    def decorator(view: Callable):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method == "POST":
                throttle = PageRateThrottle(scope)
                if not throttle.allow_request(request, None):
                    wait = math.ceil(throttle.wait() or 60)
                    response = render(request, "throttled.html", {"wait": wait}, status=429)
                    response["Retry-After"] = str(wait)
                    return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
