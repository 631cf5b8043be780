"""The Django admin site for two audiences (the mixins are in accounts.admin_mixins, the
modes in accounts.admin_mode).

Who sees what (`admin_mode()` decides, on every request):

* **Clinic members** — every active member of the clinic bound to their browser session
  (`ClinicSessionMiddleware`, after the site's login page), whatever their role and with no
  staff flag: the membership decides. They work as the runtime role under the clinic's own
  tenant context, exactly like the pages and the API: every queryset, dropdown, filter,
  search, autocomplete and raw-id popup is that clinic's, and row-level security backs it.
  What each role sees and may change is the role matrix (docs/permissions.md, "In the
  admin"). Another clinic's object by URL answers 404, the same as a missing one. A person
  in several clinics chooses one, and switches, on the site's `switch-clinic/` page (the
  owner pages' `clinic_switch` service).
* **Platform operators** — active staff superusers with no clinic in their session. Each of
  their admin requests runs inside `platform_access(...)` (the BYPASSRLS `platform` alias,
  nothing else) and leaves an audit event: who, what (method, path, view) and, where the
  request names one, which clinic. They see clinics, people, memberships and the audit log;
  clinical records only through "act as clinic".
* **Support** — an operator who chose "act as clinic" with a stated reason (recorded, and
  visible to the clinic's owner in their audit log). Their requests run under that clinic's
  tenant context as the runtime role, read-only, and each one is audited in that clinic.

Anybody else (not logged in, or logged in with no clinic chosen) gets the no-access page,
which says the next step: log in, or choose one of their clinics. Permissions come from the
mode and the person's role in the session's clinic, never from Django's global per-user
permissions, which cannot say "in this clinic".
"""

from __future__ import annotations

import json
import uuid
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from accounts.admin_mixins import PlatformOnlyMixin, ScopedAdminMixin
from accounts.admin_mode import (
    ACT_AS_MAX_AGE,
    ACT_AS_REASON_KEY,
    ACT_AS_STARTED_KEY,
    ACT_AS_TENANT_KEY,
    CLINIC,
    NONE,
    PLATFORM,
    SUPPORT,
    AdminMode,
    act_as_clear,
    admin_mode,
)
from accounts.clinic_middleware import SESSION_BACKEND, SESSION_CLINIC_KEY
from accounts.selectors import memberships_of
from accounts.services import LockedOut, clinic_switch, operator_login, password_change
from accounts.two_factor import SESSION_VERIFIED_KEY, OTPSetupRequired
from accounts.two_factor_views import OPERATOR_DOOR, begin_second_step
from core.errors import ApplicationError
from tenants.audit import audit_record, client_ip
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.platform import platform_access


def _as_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _rendered(response):
    # Template responses render after the view returns, outside any block the view ran in;
    # render now, while the request's database scope (platform or clinic) is still open.
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    return response


def _request_details(request, view) -> dict:
    return {
        "method": request.method,
        "path": request.path,
        "query": request.META.get("QUERY_STRING", "")[:500],
        "view": getattr(view, "__qualname__", getattr(view, "__name__", "")),
    }


def _named_clinic(request, view, kwargs) -> uuid.UUID | None:
    """The clinic a platform request names: a clinic's own pages, or a list filtered to one."""

    model_admin = getattr(view, "__self__", None)
    if getattr(model_admin, "model", None) is Tenant and "object_id" in kwargs:
        return _as_uuid(kwargs["object_id"])
    if "tenant_id" in kwargs:
        return _as_uuid(kwargs["tenant_id"])
    return _as_uuid(request.GET.get("tenant__id__exact"))


class OperatorLoginForm(forms.Form):
    email = forms.EmailField(max_length=254)
    password = forms.CharField(max_length=128, strip=False, widget=forms.PasswordInput)
    # Platform operators must use two-factor sign-in (accounts.two_factor): the code travels
    # with the password, so a wrong one counts as a failed login like a wrong password.
    otp = forms.CharField(
        label="Two-factor code",
        max_length=64,
        required=False,
        help_text="The 6-digit code from your authenticator app, or a recovery code.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )


class ActAsForm(forms.Form):
    reason = forms.CharField(
        min_length=10,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why you need to look inside this clinic (ticket number, request from the "
        "owner). Recorded, and shown to the clinic's owner in their audit log.",
    )


class AuditedAutocompleteJsonView(AutocompleteJsonView):
    """The admin's autocomplete, with the searched model admin's `audit_autocomplete(request,
    ids, term)` hook: a search that names patients is a read of patient records, audited like
    the list (the API audits `GET patients/?search=` the same way)."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        audit = getattr(self.model_admin, "audit_autocomplete", None)
        if audit is not None and response.status_code == 200:
            ids = [row["id"] for row in json.loads(response.content)["results"]]
            audit(request, ids, self.term)
        return response


class ClinicAdminSite(admin.AdminSite):
    site_header = "Clinic SaaS administration"
    site_title = "Clinic SaaS admin"
    index_title = "Administration"
    site_url = "/"
    enable_nav_sidebar = False

    # --- who may enter, and in which scope ----------------------------------------------------

    def has_permission(self, request):
        return admin_mode(request).kind != NONE

    def admin_view(self, view, cacheable=False):
        return super().admin_view(self._scoped(view), cacheable)

    def _scoped(self, view):
        @wraps(view)
        def scoped(request, *args, **kwargs):
            mode = admin_mode(request)
            if mode.kind == PLATFORM and getattr(view, "__name__", "") != "i18n_javascript":
                with platform_access(
                    reason=f"admin: {request.method} {request.path}",
                    actor=request.user,
                    action="platform.admin",
                    tenant=_named_clinic(request, view, kwargs),
                    ip_address=client_ip(request),
                    details=_request_details(request, view),
                ):
                    return _rendered(view(request, *args, **kwargs))
            if mode.kind == SUPPORT:
                return self._as_support(request, mode, view, args, kwargs)
            return _rendered(view(request, *args, **kwargs))

        return scoped

    def _as_support(self, request, mode, view, args, kwargs):
        # Recorded through platform_access, whose event commits on its own: a request that
        # fails (404, 403, an error rolling the request back) stays on record too. The event
        # carries the clinic, so the clinic's owner reads it in their own audit log.
        with platform_access(
            reason=mode.reason,
            actor=request.user,
            action="platform.act_as_request",
            tenant=mode.tenant_id,
            ip_address=client_ip(request),
            details=_request_details(request, view),
        ):
            pass
        with tenant_context(mode.tenant_id, user=request.user):
            tenant = Tenant.objects.filter(pk=mode.tenant_id).first()
            if tenant is None:
                act_as_clear(request)
                return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
            request._admin_mode = AdminMode(
                SUPPORT, tenant_id=tenant.pk, tenant=tenant, reason=mode.reason
            )
            return _rendered(view(request, *args, **kwargs))

    def login(self, request, extra_context=None):
        """The admin has no login form of its own: people log in on the site's login page,
        which binds their clinic to the session."""
        target = self._safe_next(request)
        if request.user.is_authenticated:
            if self.has_permission(request):
                return HttpResponseRedirect(target)
            return self.no_access(request)
        return HttpResponseRedirect(f"{settings.LOGIN_URL}?{urlencode({'next': target})}")

    def password_change(self, request, extra_context=None):
        """Through accounts.services.password_change, like everywhere else: strength rules,
        every token revoked, audited. This session stays logged in."""
        from django.contrib.auth import update_session_auth_hash
        from django.contrib.auth.forms import PasswordChangeForm

        form = PasswordChangeForm(user=request.user, data=request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                password_change(
                    user=request.user,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password1"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                update_session_auth_hash(request, request.user)
                return HttpResponseRedirect(
                    reverse("admin:password_change_done", current_app=self.name)
                )
        context = {
            **self.each_context(request),
            "title": "Password change",
            "form": form,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "registration/password_change_form.html", context)

    @method_decorator(sensitive_post_parameters("password", "otp"))
    @method_decorator(csrf_protect)
    @method_decorator(never_cache)
    def operator_login(self, request):
        """Platform operators belong to no clinic, so the clinic login cannot let them in:
        they log in here (brute-force protected like every login, and audited)."""
        from django.contrib.auth import login as django_login

        form = OperatorLoginForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                user = operator_login(
                    request=request,
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"],
                    otp=form.cleaned_data["otp"] or None,
                )
            except OTPSetupRequired as exc:
                # Required and not set up yet: the login page's set-up step, then the admin.
                return begin_second_step(
                    request, exc, door=OPERATOR_DOOR, next_url=self._safe_next(request)
                )
            except LockedOut as exc:
                form.add_error(None, exc.detail)
            except ApplicationError as exc:
                # Answered, not raised: the failed attempt that django-axes counts must
                # commit with the request (a wrong password or a wrong code).
                form.add_error(None, exc.detail)
            else:
                django_login(request, user, backend=SESSION_BACKEND)
                request.session.pop(SESSION_CLINIC_KEY, None)
                if user.second_factor.verified:
                    request.session[SESSION_VERIFIED_KEY] = True
                return HttpResponseRedirect(self._safe_next(request))
        context = {
            **self.each_context(request),
            "title": "Platform operator login",
            "form": form,
            "next": self._safe_next(request),
            "login_url": settings.LOGIN_URL,
        }
        return TemplateResponse(request, "admin/operator_login.html", context)

    def _safe_next(self, request) -> str:
        index = reverse("admin:index", current_app=self.name)
        target = request.POST.get("next") or request.GET.get("next") or index
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return index
        return target

    def no_access(self, request):
        """Never a dead end: the page says the next step (log in, or choose one of the
        person's clinics right here) with its link or button."""
        why_not = admin_mode(request).why_not
        context = {
            **self.each_context(request),
            "title": "Choose a clinic" if why_not == "no_clinic" else "Log in to the workspace",
            "why_not": why_not,
            "login_url": settings.LOGIN_URL,
            "clinics": memberships_of(request.user) if why_not == "no_clinic" else [],
        }
        return TemplateResponse(request, "admin/no_access.html", context, status=403)

    @method_decorator(csrf_protect)
    @method_decorator(never_cache)
    def switch_clinic(self, request):
        """Choose the clinic to work in, or switch to another one: the owner pages' service
        (`accounts.services.clinic_switch`, which checks the membership), and the admin opens
        again in the chosen clinic. Not an admin view: a person with no clinic chosen yet
        has no admin mode, and this is where they get one."""
        if not request.user.is_authenticated:
            return self.login(request)
        if request.method != "POST":
            return self._clinic_choice(request)
        tenant_id = _as_uuid(request.POST.get("tenant_id"))
        try:
            if tenant_id is None:
                raise Http404("Unknown clinic.")
            membership = clinic_switch(user=request.user, tenant_id=tenant_id)
        except ApplicationError as exc:
            # Not a member, or no such clinic: the same answer for both.
            raise Http404(exc.detail) from exc
        act_as_clear(request)
        request.session[SESSION_CLINIC_KEY] = str(membership.tenant_id)
        messages.success(request, f"You are now working in {membership.tenant.name}.")
        return HttpResponseRedirect(reverse("admin:index", current_app=self.name))

    def _clinic_choice(self, request):
        mode = admin_mode(request)
        if mode.kind == NONE:
            return self.no_access(request)  # lists the person's clinics to choose from
        if mode.kind != CLINIC:
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "title": "Switch clinic",
            "clinics": memberships_of(request.user),
        }
        return TemplateResponse(request, "admin/switch_clinic.html", context)

    def autocomplete_view(self, request):
        return AuditedAutocompleteJsonView.as_view(admin_site=self)(request)

    def each_context(self, request):
        context = super().each_context(request)
        mode = admin_mode(request)
        context.update(admin_mode=mode, admin_clinic=mode.tenant)
        return context

    # --- act as clinic ------------------------------------------------------------------------

    def get_urls(self):
        return [
            path("operator-login/", self.operator_login, name="operator_login"),
            path("switch-clinic/", self.switch_clinic, name="switch_clinic"),
            path("act-as/stop/", self.admin_view(self.act_as_stop), name="act_as_stop"),
            path(
                "act-as/<uuid:tenant_id>/",
                self.admin_view(self.act_as_start),
                name="act_as_start",
            ),
            *super().get_urls(),
        ]

    def act_as_start(self, request, tenant_id):
        if admin_mode(request).kind != PLATFORM:
            raise PermissionDenied
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is None:
            raise Http404("No such clinic.")
        form = ActAsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            reason = form.cleaned_data["reason"].strip()
            # Recorded in the clinic's own log, so its owner sees who looked and why.
            audit_record(
                action="platform.act_as_started",
                actor=request.user,
                request=request,
                tenant=tenant,
                object=tenant,
                reason=reason,
            )
            request.session[ACT_AS_TENANT_KEY] = str(tenant.pk)
            request.session[ACT_AS_REASON_KEY] = reason
            request.session[ACT_AS_STARTED_KEY] = timezone.now().isoformat()
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "title": f"Act as {tenant.name}",
            "clinic": tenant,
            "form": form,
            "max_minutes": int(ACT_AS_MAX_AGE.total_seconds() // 60),
        }
        return TemplateResponse(request, "admin/act_as.html", context)

    def act_as_stop(self, request):
        mode = admin_mode(request)
        if request.method != "POST":
            raise PermissionDenied
        if mode.kind == SUPPORT:
            audit_record(
                action="platform.act_as_stopped",
                actor=request.user,
                request=request,
                reason=mode.reason,
            )
            act_as_clear(request)
            return HttpResponseRedirect(
                reverse("admin:tenants_tenant_change", args=[mode.tenant_id], current_app=self.name)
            )
        return HttpResponseRedirect(reverse("admin:index", current_app=self.name))

    # --- registration -------------------------------------------------------------------------

    def register(self, model_or_iterable, admin_class=None, **options):
        """Admins written without this module's mixins (third-party apps' own, or a plain
        ModelAdmin) are made platform-only: they know nothing about clinics."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, ScopedAdminMixin):
            admin_class = type(
                admin_class.__name__,
                (PlatformOnlyMixin, admin_class),
                {"__module__": admin_class.__module__},
            )
        return super().register(model_or_iterable, admin_class, **options)
