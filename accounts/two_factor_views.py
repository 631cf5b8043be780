"""Two-factor pages: the login's second step (a code, or setting a device up when it is
required and missing) and the account page where anybody turns it on or off and renews their
recovery codes. The decisions are in accounts.two_factor and accounts.services; these views
only keep who is half-way through a sign-in in the session (never the password).
"""

from __future__ import annotations

from datetime import timedelta

import segno
from django.contrib import messages
from django.contrib.auth import login as django_login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts import recovery_codes, services, two_factor
from accounts.clinic_middleware import SESSION_BACKEND, SESSION_CLINIC_KEY, start_session
from accounts.forms import OTPForm
from accounts.models import User
from accounts.pages import throttle_posts
from core.errors import ApplicationError
from tenants.context import user_context

PENDING_KEY = "two_factor_pending"
# How long a correct password keeps the second step open.
PENDING_MAX_AGE = timedelta(minutes=5)
CLINIC_DOOR = "clinic"
OPERATOR_DOOR = "admin"


def begin_second_step(request, exc: two_factor.TwoFactorError, *, door: str, next_url: str):
    """After a correct password: remember who (not the password) and go on to the code, or to
    setting a device up when one is required and missing."""
    membership = exc.membership
    request.session[PENDING_KEY] = {
        "user": str(exc.user.pk),
        "email": exc.user.email,
        "tenant": str(membership.tenant_id) if membership is not None else "",
        "door": door,
        "next": next_url,
        "at": timezone.now().isoformat(),
    }
    if isinstance(exc, two_factor.OTPSetupRequired):
        return redirect("login-two-factor-setup")
    return redirect("login-two-factor")


def _pending(request) -> dict | None:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    started = parse_datetime(str(pending.get("at", "")))
    if started is None or timezone.now() - started > PENDING_MAX_AGE:
        request.session.pop(PENDING_KEY, None)
        return None
    return pending


def _start_over(request):
    messages.info(request, "Your sign-in timed out. Log in again.")
    return redirect("login")


def _finish(request, pending: dict, *, otp=None, setup_code=None):
    """Complete the sign-in of the pending person; answers the signed-in person and the new
    recovery codes (when a device was just set up)."""
    if pending["door"] == OPERATOR_DOOR:
        user = services.operator_login_second_step(
            request=request, user_id=pending["user"], otp=otp, setup_code=setup_code
        )
        request.session.pop(PENDING_KEY, None)
        django_login(request, user, backend=SESSION_BACKEND)
        request.session.pop(SESSION_CLINIC_KEY, None)
        codes = getattr(user, "new_recovery_codes", None)
    else:
        signed_in = services.auth_login_second_step(
            request=request,
            user_id=pending["user"],
            tenant_id=pending["tenant"],
            otp=otp,
            setup_code=setup_code,
        )
        request.session.pop(PENDING_KEY, None)
        default = start_session(request, signed_in)
        # Signed in for their invitations only (no clinic yet): go there, not to the clinic.
        pending["next"] = pending.get("next") or default
        user = getattr(signed_in, "user", signed_in)
        codes = getattr(signed_in, "new_recovery_codes", None)
    request.session[two_factor.SESSION_VERIFIED_KEY] = True
    return user, codes


def _next(pending: dict) -> str:
    return pending.get("next") or ("/admin/" if pending["door"] == OPERATOR_DOOR else "/clinic/")


@throttle_posts("auth")
@never_cache
@sensitive_post_parameters("code")
def login_code(request):
    """The login's second step: a code from the authenticator app, or a recovery code."""
    pending = _pending(request)
    if pending is None:
        return _start_over(request)
    form = OTPForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _finish(request, pending, otp=form.cleaned_data["code"])
        except services.LockedOut as exc:
            request.session.pop(PENDING_KEY, None)
            return render(request, "accounts/locked_out.html", {"detail": exc.detail}, status=429)
        except ApplicationError as exc:
            # Answered, not raised: the failed attempt django-axes counts must commit.
            form.add_error("code", exc.detail)
        else:
            return redirect(_next(pending))
    return render(
        request,
        "accounts/login_code.html",
        {"form": form, "email": pending["email"]},
        status=400 if form.errors else 200,
    )


def _qr(device) -> dict:
    url = device.config_url
    return {
        "qr_data_uri": segno.make(url, error="m").svg_data_uri(scale=5, border=2),
        "secret": _grouped(device),
        "otpauth_url": url,
    }


def _grouped(device) -> str:
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _user_of(pending: dict):
    with user_context(pending["user"]):
        return User.objects.filter(pk=pending["user"], is_active=True).first()


@throttle_posts("auth")
@never_cache
@sensitive_post_parameters("code")
def login_setup(request):
    """Two-factor sign-in is required and the person has no device yet: set one up as part of
    this sign-in (after the correct password)."""
    pending = _pending(request)
    user = _user_of(pending) if pending else None
    if user is None:
        return _start_over(request)
    form = OTPForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _, codes = _finish(request, pending, setup_code=form.cleaned_data["code"])
        except ApplicationError as exc:
            form.add_error("code", exc.detail)
        else:
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "continue_url": _next(pending)},
            )
    device = two_factor.two_factor_setup_start(user=user)
    return render(
        request,
        "accounts/two_factor_setup.html",
        {"form": form, "required": True, "action": request.path, **_qr(device)},
        status=400 if form.errors else 200,
    )


# --- the account page -----------------------------------------------------------------------


@login_required
@never_cache
@sensitive_post_parameters("code")
def account_two_factor(request):
    """Turn two-factor sign-in on (scan, confirm a code), off (with a code), or renew the
    recovery codes (with a code)."""
    user = request.user
    membership = getattr(request, "membership", None)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    form = OTPForm(request.POST or None)
    if action and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            if action == "confirm":
                codes = two_factor.two_factor_setup_confirm(user=user, code=code, request=request)
                request.session[two_factor.SESSION_VERIFIED_KEY] = True
                messages.success(request, "Two-factor sign-in is on.")
            elif action == "regenerate":
                codes = two_factor.recovery_codes_regenerate(user=user, code=code, request=request)
                messages.success(request, "New recovery codes: the old ones no longer work.")
            elif action == "disable":
                two_factor.two_factor_disable(
                    user=user, membership=membership, code=code, request=request
                )
                request.session.pop(two_factor.SESSION_VERIFIED_KEY, None)
                messages.success(request, "Two-factor sign-in is off.")
                return redirect("account-two-factor")
            else:
                return redirect("account-two-factor")
        except ApplicationError as exc:
            form.add_error("code", exc.detail)
        else:
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "continue_url": "/account/two-factor/"},
            )
    status = two_factor.two_factor_status(user=user, membership=membership)
    context = {"status": status, "form": form, "action_name": action}
    if not status.enabled and (action == "confirm" or request.GET.get("setup")):
        device = two_factor.two_factor_setup_start(user=user)
        context.update(setting_up=True, action=request.path, **_qr(device))
    if status.enabled:
        context["codes_left"] = recovery_codes.recovery_codes_left(user=user)
    return render(request, "accounts/two_factor.html", context, status=400 if form.errors else 200)
