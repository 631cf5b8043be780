"""The invited person's pages: the e-mailed link, and the list of their open invitations.

A clinic only ever offers; the person decides (issue 12, item 1). Through the link a new
person chooses a password (their account is made then, never before), while a person who
already has an account signs in as that address first, so their lockouts and second factor
apply, and accepts or declines here or from their list of invitations. Every write goes
through `accounts.services`, the same functions as the API.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import forms, selectors
from accounts.clinic_middleware import SESSION_CLINIC_KEY, start_clinic_session
from accounts.pages import call_service, throttle_posts
from accounts.selectors import invitations_for_person, person_by_email
from accounts.views import PASSWORD_FIELDS
from clinics import services as clinic_services
from core.errors import ApplicationError

TEMPLATE = "accounts/invitation_accept.html"


def _joined(request, membership):
    """The person works in the clinic they just joined (as the clinic switcher does)."""
    request.session[SESSION_CLINIC_KEY] = str(membership.tenant_id)
    messages.success(request, f"Welcome to {membership.tenant.name}!")
    return redirect("dashboard")


def _declined(request, outcome, clinic_name: str):
    if outcome.ok:
        return render(request, TEMPLATE, {"declined": clinic_name})
    return render(request, TEMPLATE, {"error": outcome.error.detail}, status=400)


@throttle_posts("auth")
@never_cache
@sensitive_post_parameters("password1", "password2")
def invitation_link(request, token: str):
    try:
        invitation = selectors.invitation_preview(token=token)
    except ApplicationError as exc:
        return render(request, TEMPLATE, {"error": exc.detail}, status=400)
    clinic_name = invitation.tenant.name
    if request.method == "POST" and request.POST.get("action") == "decline":
        outcome = call_service(None, clinic_services.invitation_decline, token=token)
        return _declined(request, outcome, clinic_name)

    signed_in = request.user.is_authenticated
    if signed_in and request.user.email == invitation.email:
        if request.method == "POST":
            outcome = call_service(
                None,
                clinic_services.invitation_accept_signed_in,
                user=request.user,
                invitation_id=invitation.pk,
            )
            if outcome.ok:
                return _joined(request, outcome.value)
            messages.error(request, outcome.error.detail)
        return render(request, TEMPLATE, {"invitation": invitation, "mode": "confirm"})

    # Only the holder of this secret link learns whether the address has an account.
    if person_by_email(invitation.email) is not None:
        login = reverse("login") + "?" + urlencode({"next": request.path})
        return render(
            request,
            TEMPLATE,
            {
                "invitation": invitation,
                "mode": "sign_in",
                "login_url": login,
                "signed_in_as": request.user.email if signed_in else "",
            },
        )

    form = forms.InvitationAcceptForm(
        request.POST or None,
        initial={"first_name": invitation.first_name, "last_name": invitation.last_name},
    )
    if request.method == "POST" and form.is_valid():
        outcome = call_service(
            form,
            clinic_services.invitation_accept,
            field_map=PASSWORD_FIELDS,
            token=token,
            password=form.cleaned_data["password1"],
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
        )
        if outcome.ok:
            membership = outcome.value
            start_clinic_session(request, membership)
            messages.success(request, f"Welcome to {membership.tenant.name}!")
            return redirect("dashboard")
    return render(request, TEMPLATE, {"form": form, "invitation": invitation, "mode": "new"})


@login_required
@never_cache
def invitation_list(request):
    """The signed-in person's open invitations, from every clinic."""
    return render(
        request,
        "accounts/invitations.html",
        {"invitations": invitations_for_person(user=request.user)},
    )


@login_required
@require_POST
def invitation_accept(request, pk):
    outcome = call_service(
        None, clinic_services.invitation_accept_signed_in, user=request.user, invitation_id=pk
    )
    if outcome.ok:
        return _joined(request, outcome.value)
    messages.error(request, outcome.error.detail)
    return redirect("invitations")


@login_required
@require_POST
def invitation_decline(request, pk):
    outcome = call_service(
        None, clinic_services.invitation_decline_signed_in, user=request.user, invitation_id=pk
    )
    if outcome.ok:
        messages.info(request, "Invitation declined.")
    else:
        messages.error(request, outcome.error.detail)
    return redirect("invitations")
