"""Account pages: log in and out, passwords, invitations, e-mail verification, choosing a
clinic. Every write goes through `accounts.services`, the same functions as the API.

A browser session acts for one clinic at a time: its id is stored in the session under
`SESSION_CLINIC_KEY` when the person logs in, accepts an invitation or switches clinic, and
`ClinicSessionMiddleware` re-checks the membership on every request.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout as django_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import forms, services, two_factor
from accounts.clinic_middleware import SESSION_CLINIC_KEY, start_session
from accounts.pages import call_service, throttle_posts
from accounts.selectors import memberships_of
from accounts.two_factor_views import CLINIC_DOOR, begin_second_step
from core.errors import ApplicationError, PermissionDeniedError

# The password was checked by `auth_login` (through django-axes); Django's login() only
# needs to know which backend can load the person again on the next request.
PASSWORD_FIELDS = {"password": "password1", "new_password": "password1"}


def _next_url(request, default: str = "/clinic/") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    # A path on this site only: redirect() reads anything else without a slash as a view
    # name to reverse, and an unknown one was a 500 (found by clinic_saas' form fuzz test).
    if candidate.startswith("/") and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    return redirect("login")


# --- log in and out ---------------------------------------------------------------------------


@throttle_posts("auth")
@never_cache
@sensitive_post_parameters("password")
def login_view(request):
    if request.method == "GET" and getattr(request, "membership", None) is not None:
        return redirect(_next_url(request))
    form = forms.LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            signed_in = services.auth_login(
                request=request,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                invitations_only=True,
            )
        except services.LockedOut as exc:
            return render(request, "accounts/locked_out.html", {"detail": exc.detail}, status=429)
        except (two_factor.OTPRequired, two_factor.OTPSetupRequired) as exc:
            # The password was right: the second step asks for the code (or sets one up).
            return begin_second_step(
                request, exc, door=CLINIC_DOOR, next_url=_next_url(request, default="")
            )
        except (services.InvalidCredentials, PermissionDeniedError) as exc:
            # Answered, not raised: the request's transaction must commit the failed attempt
            # that django-axes counts (the same reason the API answers instead of raising).
            form.add_error(None, exc.detail)
        else:
            default = start_session(request, signed_in)
            if signed_in.second_factor.verified:
                request.session[two_factor.SESSION_VERIFIED_KEY] = True
            return redirect(_next_url(request, default=default))
    return render(
        request, "accounts/login.html", {"form": form, "next": _next_url(request, default="")}
    )


@require_POST
def logout_view(request):
    django_logout(request)
    messages.info(request, "You are logged out.")
    return redirect("login")


# --- choosing a clinic --------------------------------------------------------------------


@login_required
def choose_clinic(request):
    """Where a session without a usable clinic lands (removed from it, clinic cancelled),
    and the list of all the person's clinics."""
    return render(request, "accounts/choose_clinic.html", {"clinics": memberships_of(request.user)})


@login_required
@require_POST
def switch_clinic(request):
    form = forms.ClinicChoiceForm(request.POST)
    if not form.is_valid():
        raise Http404("Unknown clinic.")
    try:
        membership = services.clinic_switch(
            user=request.user, tenant_id=form.cleaned_data["tenant_id"]
        )
    except ApplicationError as exc:
        # Not a member, or no such clinic: the same answer for both.
        raise Http404(exc.detail) from exc
    request.session[SESSION_CLINIC_KEY] = str(membership.tenant_id)
    messages.success(request, f"You are now working in {membership.tenant.name}.")
    # Back to the page the switch was made from (a path on this site only), else the
    # dashboard: the same page of the other clinic.
    return redirect(_next_url(request))


# --- passwords ----------------------------------------------------------------------------


@throttle_posts("auth")
@never_cache
def password_reset_request(request):
    form = forms.PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_reset_request(email=form.cleaned_data["email"])
        # The same answer whether or not the account exists.
        return redirect("forgot-password-sent")
    return render(request, "accounts/password_reset.html", {"form": form})


def password_reset_sent(request):
    return render(request, "accounts/password_reset_sent.html")


@throttle_posts("auth")
@never_cache
@sensitive_post_parameters("password1", "password2")
def password_reset_confirm(request, uid: str, token: str):
    if not services.password_reset_link_valid(uid=uid, token=token):
        return render(
            request, "accounts/password_reset_confirm.html", {"invalid": True}, status=400
        )
    form = forms.SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = call_service(
            form,
            services.password_reset_confirm,
            field_map=PASSWORD_FIELDS,
            uid=uid,
            token=token,
            new_password=form.cleaned_data["password1"],
        )
        if outcome.ok:
            messages.success(request, "Your password is changed. Log in with the new password.")
            return redirect("login")
    return render(request, "accounts/password_reset_confirm.html", {"form": form})


@login_required
@sensitive_post_parameters("old_password", "password1", "password2")
def account(request):
    form = forms.PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = call_service(
            form,
            services.password_change,
            field_map=PASSWORD_FIELDS,
            user=request.user,
            old_password=form.cleaned_data["old_password"],
            new_password=form.cleaned_data["password1"],
        )
        if outcome.ok:
            # Other sessions end (their stored password hash no longer matches); this one
            # stays logged in.
            update_session_auth_hash(request, request.user)
            messages.success(
                request, "Password changed. Your other sessions and apps are logged out."
            )
            return redirect("account")
    return render(
        request,
        "accounts/account.html",
        {"form": form, "clinics": memberships_of(request.user)},
    )


# --- e-mail verification --------------------------------------------------------------------


@never_cache
def verify_email(request, token: str):
    try:
        user = services.email_verification_confirm(token=token)
    except ApplicationError as exc:
        return render(request, "accounts/verify_email.html", {"error": exc.detail}, status=400)
    if request.user.is_authenticated and request.user.pk == user.pk:
        request.user.email_verified_at = user.email_verified_at
    return render(request, "accounts/verify_email.html", {"verified_user": user})


@throttle_posts("auth")
@login_required
@require_POST
def verify_email_resend(request):
    if request.user.email_verified_at is None:
        services.email_verification_send(user=request.user)
        messages.success(request, f"We sent a new verification link to {request.user.email}.")
    else:
        messages.info(request, "Your e-mail address is already verified.")
    return redirect(_next_url(request))
