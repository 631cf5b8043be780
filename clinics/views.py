"""Clinic pages: signup, dashboard, plan and clinic settings (with the offices).

Thin views: they read through `clinics.selectors`, write through the services (the same as
the API), and act for the clinic of the browser session only (`accounts.pages.clinic_page`).
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts import two_factor
from accounts.clinic_middleware import start_clinic_session
from accounts.models import ADMIN_ROLES, OWNER_ONLY
from accounts.pages import call_service, clinic_page, is_owner, throttle_posts
from clinical.models import Office
from clinical.services import office_create, office_update
from clinics import charts, forms
from clinics.billing import selectors as billing_selectors
from clinics.billing.services import plan_request
from clinics.selectors import clinic_limits, clinic_weekly_activity
from clinics.services import clinic_register
from core.errors import ApplicationError
from tenants import plans
from tenants.services import tenant_update

CHART_SERIES = [
    charts.Series("patients", "New patients", "patients"),
    charts.Series("prescriptions", "Prescriptions", "prescriptions"),
]


# --- signup -------------------------------------------------------------------------------


@throttle_posts("signup")
@never_cache
@sensitive_post_parameters("password1", "password2")
def signup(request):
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = call_service(
            form, clinic_register, field_map=forms.SignupForm.FIELD_MAP, **form.service_kwargs()
        )
        if outcome.ok:
            tenant, _user, membership = outcome.value
            start_clinic_session(request, membership)
            messages.success(
                request,
                f"Welcome! {tenant.name} is ready, with a {plans.TRIAL_DAYS}-day free trial. "
                "We sent you a link to verify your e-mail address.",
            )
            return redirect("dashboard")
    return render(request, "tenants/signup.html", {"form": form})


# --- dashboard ----------------------------------------------------------------------------


def _usage(name: str, usage: dict) -> dict:
    maximum, current = usage["max"], usage["current"]
    percent = 0 if not maximum else min(100, round(100 * current / maximum))
    return {
        "name": name,
        "current": current,
        "max": maximum,
        "percent": percent,
        "full": maximum is not None and current >= maximum,
        "high": maximum is not None and percent >= 80,
    }


@clinic_page()
def dashboard(request):
    tenant = request.tenant
    limits = clinic_limits(tenant)
    activity = clinic_weekly_activity(tenant)
    return render(
        request,
        "tenants/dashboard.html",
        {
            "limits": limits,
            "plan": tenant.plan_info,
            "usage": [
                _usage("Doctors", limits["doctors"]),
                _usage("Patients", limits["patients"]),
            ],
            "doctors_full": not limits["doctors"]["can_add"] and limits["is_writable"],
            "chart": charts.weekly_bar_chart(activity, CHART_SERIES),
        },
    )


# --- plan ---------------------------------------------------------------------------------


@clinic_page(write_roles=OWNER_ONLY, allow_when_inactive=True)
def plan(request):
    tenant = request.tenant
    form = forms.PlanChangeForm(request.POST or None, initial={"plan": tenant.plan})
    refusal = None
    if request.method == "POST" and form.is_valid():
        outcome = call_service(
            form, plan_request, tenant=tenant, actor=request.user, plan=form.cleaned_data["plan"]
        )
        if outcome.ok:
            messages.success(request, outcome.value.message)
            return redirect("plan")
        refusal = outcome.error
    limits = clinic_limits(tenant)
    return render(
        request,
        "tenants/plan.html",
        {
            "form": form,
            "plans": [p for p in plans.PLANS.values() if p.code != plans.TRIAL],
            "current": tenant.plan_info,
            "limits": limits,
            "refusal": refusal,
            "can_change": is_owner(request),
            **billing_selectors.plan_page_billing(tenant),
        },
        status=400 if refusal else 200,
    )


# --- clinic settings and offices ----------------------------------------------------------


def _settings_page(
    request, *, clinic_form=None, office_form=None, status=200, two_factor_error=None
):
    return render(
        request,
        "tenants/settings.html",
        {
            "clinic_form": clinic_form or forms.ClinicForm.for_tenant(request.tenant),
            "office_form": office_form or forms.OfficeForm(),
            "offices": list(Office.objects.all()),
            # The owner's "require two-factor sign-in" switch (accounts.two_factor_views).
            "two_factor_error": two_factor_error,
        },
        status=status,
    )


@clinic_page(write_roles=ADMIN_ROLES)
def clinic_settings(request):
    if request.method != "POST":
        return _settings_page(request)
    form = forms.ClinicForm.for_tenant(request.tenant, request.POST)
    if form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        if not changes:
            messages.info(request, "Nothing to save: the details are unchanged.")
            return redirect("clinic-settings")
        outcome = call_service(
            form, tenant_update, tenant=request.tenant, actor=request.user, **changes
        )
        if outcome.ok:
            messages.success(request, "Clinic details saved.")
            return redirect("clinic-settings")
    return _settings_page(request, clinic_form=form, status=400)


@clinic_page(write_roles=ADMIN_ROLES)
def office_add(request):
    if request.method != "POST":
        return redirect("clinic-settings")
    form = forms.OfficeForm(request.POST)
    if form.is_valid():
        outcome = call_service(form, office_create, tenant=request.tenant, **form.cleaned_data)
        if outcome.ok:
            messages.success(request, f"Office {outcome.value.name} added.")
            return redirect("clinic-settings")
    return _settings_page(request, office_form=form, status=400)


@clinic_page(read_roles=ADMIN_ROLES, write_roles=ADMIN_ROLES)
def office_edit(request, pk):
    # The scoped manager only finds this clinic's offices: another clinic's id is a 404.
    office = get_object_or_404(Office, pk=pk)
    form = forms.OfficeForm.for_office(office, request.POST or None)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        outcome = call_service(form, office_update, tenant=request.tenant, office=office, **changes)
        if outcome.ok:
            messages.success(request, f"Office {outcome.value.name} saved.")
            return redirect("clinic-settings")
    return render(
        request,
        "tenants/office_edit.html",
        {"form": form, "office": office},
        status=400 if form.errors else 200,
    )


# --- the clinic's requirement (on the clinic settings page) -----------------------------------


@clinic_page(read_roles=None, write_roles=OWNER_ONLY)
def clinic_two_factor(request):
    """The owner's switch on /clinic/settings/: every member must use two-factor sign-in."""
    if request.method != "POST":
        return redirect("clinic-settings")
    required = request.POST.get("require_two_factor") in ("on", "true", "1")
    try:
        two_factor.tenant_two_factor_require(
            tenant=request.tenant,
            actor=request.user,
            membership=request.membership,
            required=required,
        )
    except ApplicationError as exc:
        return _settings_page(request, two_factor_error=exc.detail, status=exc.status_code)
    messages.success(
        request,
        "Every member must now use two-factor sign-in."
        if required
        else "Two-factor sign-in is now up to each member (owners and admins still need it).",
    )
    return redirect("clinic-settings")
