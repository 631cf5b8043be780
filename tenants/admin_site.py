"""The Django admin for two audiences, and the mixins every registered admin is built from.

Who sees what (`admin_mode()` decides, on every request):

* **Clinic admins** — staff-flagged owners and admins of the clinic bound to their browser
  session (`TenantSessionMiddleware`). They work as the runtime role under the clinic's own
  tenant context, exactly like the pages and the API: every queryset, dropdown, filter,
  search, autocomplete and raw-id popup is that clinic's, and row-level security backs it.
  Another clinic's object by URL answers 404, the same as a missing one.
* **Platform operators** — active staff superusers with no clinic in their session. Each of
  their admin requests runs inside `platform_access(...)` (the BYPASSRLS `platform` alias,
  nothing else) and leaves an audit event: who, what (method, path, view) and, where the
  request names one, which clinic. They see clinics, people, memberships and the audit log;
  clinical records only through "act as clinic".
* **Support** — an operator who chose "act as clinic" with a stated reason (recorded, and
  visible to the clinic's owner in their audit log). Their requests run under that clinic's
  tenant context as the runtime role, read-only, and each one is audited in that clinic.

Anybody else (a doctor, a person without a clinic, a staff flag without an admin role)
gets no admin at all. Permissions come from the mode and the person's role in the session's
clinic, never from Django's global per-user permissions, which cannot say "in this clinic".
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from clinic_saas.errors import ApplicationError
from tenants.audit import audit_record, client_ip
from tenants.context import tenant_context
from tenants.platform import platform_access

PLATFORM = "platform"
CLINIC = "clinic"
SUPPORT = "support"
NONE = "none"

# "Act as clinic" lives in the operator's session for at most this long.
ACT_AS_MAX_AGE = timedelta(hours=1)
ACT_AS_TENANT_KEY = "admin_act_as_tenant_id"
ACT_AS_REASON_KEY = "admin_act_as_reason"
ACT_AS_STARTED_KEY = "admin_act_as_started_at"
_ACT_AS_KEYS = (ACT_AS_TENANT_KEY, ACT_AS_REASON_KEY, ACT_AS_STARTED_KEY)

CLINIC_SCOPED_KINDS = ("tenant", "catalog", "membership", "audit", "tenant_root")


@dataclass(frozen=True)
class AdminMode:
    kind: str
    tenant_id: uuid.UUID | None = None
    tenant: object = None  # the Tenant (clinic mode: from the session's verified membership)
    membership: object = None
    reason: str = ""  # support mode: why the operator looks inside the clinic
    why_not: str = ""  # mode NONE: what the no-access page explains

    @property
    def clinic_scoped(self) -> bool:
        return self.kind in (CLINIC, SUPPORT)


def admin_mode(request) -> AdminMode:
    mode = getattr(request, "_admin_mode", None)
    if mode is None:
        mode = _compute_mode(request)
        request._admin_mode = mode
    return mode


def _compute_mode(request) -> AdminMode:
    from accounts.models import ADMIN_ROLES

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return AdminMode(NONE, why_not="anonymous")
    if not user.is_staff:
        return AdminMode(NONE, why_not="not_staff")
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    if tenant is not None:
        # A session bound to a clinic acts for that clinic only, even for a superuser.
        if membership is not None and membership.role in ADMIN_ROLES:
            return AdminMode(CLINIC, tenant_id=tenant.pk, tenant=tenant, membership=membership)
        return AdminMode(NONE, why_not="role")
    if not user.is_superuser:
        return AdminMode(NONE, why_not="no_clinic")
    acting = _acting_as(request)
    if acting is not None:
        return AdminMode(SUPPORT, tenant_id=acting[0], reason=acting[1])
    return AdminMode(PLATFORM)


def _acting_as(request) -> tuple[uuid.UUID, str] | None:
    session = getattr(request, "session", None)
    if session is None or ACT_AS_TENANT_KEY not in session:
        return None
    try:
        tenant_id = uuid.UUID(str(session[ACT_AS_TENANT_KEY]))
        started = parse_datetime(str(session.get(ACT_AS_STARTED_KEY, "")))
    except (TypeError, ValueError):
        started = None
    if started is None or timezone.now() - started > ACT_AS_MAX_AGE:
        act_as_clear(request)
        return None
    return tenant_id, str(session.get(ACT_AS_REASON_KEY, ""))


def act_as_clear(request) -> None:
    for key in _ACT_AS_KEYS:
        request.session.pop(key, None)
    request._admin_mode = None


def clinic_of(obj) -> uuid.UUID | None:
    """The clinic an object belongs to (a clinic is its own), or None for global rows."""
    from tenants.models import Tenant

    if isinstance(obj, Tenant):
        return obj.pk
    return getattr(obj, "tenant_id", None)


def patient_of(obj) -> uuid.UUID | None:
    """The patient a record is about, so admin reads and changes are findable by patient."""
    if obj._meta.label == "clinical.Patient":
        return obj.pk
    if obj._meta.label == "tenants.AuditEvent":
        return None
    return getattr(obj, "patient_id", None)


def _is_clinic_scoped(model) -> bool:
    return getattr(model, "rls_kind", None) in CLINIC_SCOPED_KINDS


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
    from tenants.models import Tenant

    model_admin = getattr(view, "__self__", None)
    if getattr(model_admin, "model", None) is Tenant and "object_id" in kwargs:
        return _as_uuid(kwargs["object_id"])
    if "tenant_id" in kwargs:
        return _as_uuid(kwargs["tenant_id"])
    return _as_uuid(request.GET.get("tenant__id__exact"))


class OperatorLoginForm(forms.Form):
    email = forms.EmailField(max_length=254)
    password = forms.CharField(max_length=128, strip=False, widget=forms.PasswordInput)


class ActAsForm(forms.Form):
    reason = forms.CharField(
        min_length=10,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why you need to look inside this clinic (ticket number, request from the "
        "owner). Recorded, and shown to the clinic's owner in their audit log.",
    )


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
        from tenants.models import Tenant

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

        from accounts.services import password_change

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

    @method_decorator(sensitive_post_parameters("password"))
    @method_decorator(csrf_protect)
    @method_decorator(never_cache)
    def operator_login(self, request):
        """Platform operators belong to no clinic, so the clinic login cannot let them in:
        they log in here (brute-force protected like every login, and audited)."""
        from django.contrib.auth import login as django_login

        from accounts.services import LockedOut, operator_login
        from tenants.middleware import SESSION_TENANT_KEY

        form = OperatorLoginForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                user = operator_login(
                    request=request,
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"],
                )
            except LockedOut as exc:
                form.add_error(None, exc.detail)
            except ApplicationError as exc:
                # Answered, not raised: the failed attempt that django-axes counts must
                # commit with the request.
                form.add_error(None, exc.detail)
            else:
                django_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                request.session.pop(SESSION_TENANT_KEY, None)
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
        context = {
            **self.each_context(request),
            "title": "No admin access",
            "why_not": admin_mode(request).why_not,
            "login_url": settings.LOGIN_URL,
        }
        return TemplateResponse(request, "admin/no_access.html", context, status=403)

    def each_context(self, request):
        context = super().each_context(request)
        mode = admin_mode(request)
        context.update(admin_mode=mode, admin_clinic=mode.tenant)
        return context

    # --- act as clinic ------------------------------------------------------------------------

    def get_urls(self):
        return [
            path("operator-login/", self.operator_login, name="operator_login"),
            path("act-as/stop/", self.admin_view(self.act_as_stop), name="act_as_stop"),
            path(
                "act-as/<uuid:tenant_id>/",
                self.admin_view(self.act_as_start),
                name="act_as_start",
            ),
            *super().get_urls(),
        ]

    def act_as_start(self, request, tenant_id):
        from tenants.models import Tenant

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


# --- the mixins -------------------------------------------------------------------------------


def _audit_details(message) -> dict:
    if not message:
        return {}
    # Change messages hold lazy translation strings; store plain JSON.
    return {"changes": json.loads(json.dumps(message, default=str))}


class ScopedAdminMixin:
    """Permissions by mode and role, clinic-scoped choices everywhere, 404 for objects that
    are not visible, and the audit log instead of Django's unscoped LogEntry table.

    Declare what each audience may do with the sets below. Permission names are Django's
    (`view`, `add`, `change`, `delete`) plus `operate` for actions that call a service.
    Writes must call the app's services (override `save_model`); a model without a service
    stays view-only.
    """

    platform_permissions: frozenset[str] = frozenset()
    clinic_permissions: frozenset[str] = frozenset({"view"})
    # Roles that see this admin in clinic mode (owner and admin unless narrowed).
    clinic_roles: frozenset[str] | None = None

    def mode_allows(self, request, permission: str) -> bool:
        from accounts.models import ADMIN_ROLES

        mode = admin_mode(request)
        if mode.kind == PLATFORM:
            return permission in self.platform_permissions
        if mode.kind == SUPPORT:
            # Support looks; it never changes a clinic's records.
            return permission == "view" and bool(self.clinic_permissions)
        if mode.kind == CLINIC:
            if mode.membership.role not in (self.clinic_roles or ADMIN_ROLES):
                return False
            if permission != "view" and not mode.tenant.is_writable:
                return False  # suspended clinic or ended trial: read-only here too
            return permission in self.clinic_permissions
        return False

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.mode_allows(request, "view") or self.mode_allows(request, "change")

    def has_add_permission(self, request, *args):
        return self.mode_allows(request, "add")

    def has_change_permission(self, request, obj=None):
        return self.mode_allows(request, "change")

    def has_delete_permission(self, request, obj=None):
        return self.mode_allows(request, "delete")

    def has_operate_permission(self, request):
        return self.mode_allows(request, "operate")

    # --- every choice is the clinic's ---------------------------------------------------------

    def get_field_queryset(self, db, db_field, request):
        queryset = super().get_field_queryset(db, db_field, request)
        if queryset is None:
            queryset = db_field.remote_field.model._default_manager.using(db).all()
        return scoped_choices(request, queryset)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and isinstance(formfield.widget, ForeignKeyRawIdWidget):
            formfield.widget = ScopedRawIdWidget(
                db_field.remote_field,
                self.admin_site,
                formfield.queryset,
                using=kwargs.get("using"),
            )
        return formfield

    def get_list_filter(self, request):
        # A filter on a relation lists only the values present in this (scoped) list, never
        # every row of the related table: users, for one, are global.
        filters = []
        for item in super().get_list_filter(request):
            if isinstance(item, str):
                field = get_fields_from_path(self.model, item)[-1]
                if field.is_relation:
                    item = (item, admin.RelatedOnlyFieldListFilter)
            filters.append(item)
        return filters

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and request.method == "GET":
            self._audit_object_read(request, obj)
        return obj

    def _audit_object_read(self, request, obj) -> None:
        mode = admin_mode(request)
        patient = patient_of(obj)
        clinic = clinic_of(obj)
        names_clinic = (
            mode.kind == PLATFORM
            and clinic
            and obj._meta.label
            not in (
                "tenants.Tenant",
                "tenants.AuditEvent",
            )
        )
        if patient or names_clinic:
            audit_record(
                action="admin.viewed",
                actor=request.user,
                request=request,
                object=obj,
                tenant=clinic,
                patient_id=patient,
            )

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects with "does not exist"; another clinic's object and a missing one
        # must give the same plain 404 (design invariant 10).
        raise Http404(f"No {opts.verbose_name} matches the given query.")

    # --- service errors and the audit log -----------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            # The service refused (plan limit, duplicate, read-only clinic): nothing was
            # written (the form's transaction rolled back); say why on the same page.
            self.message_user(request, exc.detail, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def _audit_admin(self, request, action, obj, message=None) -> None:
        audit_record(
            action=action,
            actor=request.user,
            request=request,
            object=obj,
            tenant=clinic_of(obj),
            patient_id=patient_of(obj),
            details=_audit_details(message),
        )

    def log_addition(self, request, obj, message):
        self._audit_admin(request, "admin.added", obj, message)

    def log_change(self, request, obj, message):
        self._audit_admin(request, "admin.changed", obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit_admin(request, "admin.deleted", obj)

    def history_view(self, request, object_id, extra_context=None):
        """An object's history is its audit trail."""
        from tenants.models import AuditEvent

        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("Not found.")
        audit_admin = self.admin_site.get_model_admin(AuditEvent)
        if not audit_admin.has_view_permission(request):
            raise PermissionDenied
        url = reverse("admin:tenants_auditevent_changelist", current_app=self.admin_site.name)
        return HttpResponseRedirect(f"{url}?{urlencode({'object_id': str(obj.pk)})}")


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """A raw-id input labels its value only when it is one of the allowed choices: a
    re-displayed form must not turn a pasted id of another clinic's row into its name."""

    def __init__(self, rel, admin_site, queryset, **kwargs):
        super().__init__(rel, admin_site, **kwargs)
        self.queryset = queryset

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            allowed = self.queryset.filter(**{key: value}).exists()
        except (ValueError, TypeError, ValidationError):
            allowed = False
        return super().label_and_url_for_value(value) if allowed else ("", "")


def scoped_choices(request, queryset):
    """Limit a queryset of choices to what the request's clinic may reference."""
    from accounts.models import User

    mode = admin_mode(request)
    if not mode.clinic_scoped:
        return queryset
    model = queryset.model
    if issubclass(model, User):
        # People are global; a clinic may only pick its own members.
        return queryset.filter(memberships__tenant_id=mode.tenant_id)
    if _is_clinic_scoped(model):
        return queryset  # the scoped manager and row-level security already hold
    return queryset.none()  # any other global table: nothing to pick from a clinic


class ClinicOwnedAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """For clinic-owned models. Operators who may see them get the clinic as a column, a
    filter and a search field; in clinic mode the `tenant` field never appears (it is not
    editable, and the model takes it from the context)."""

    platform_tenant_filter = True

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if admin_mode(request).kind == PLATFORM:
            columns.insert(1, "tenant")
        return columns

    def get_list_select_related(self, request):
        related = super().get_list_select_related(request)
        if admin_mode(request).kind == PLATFORM and related is not True:
            return (*(related or ()), "tenant")
        return related

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if admin_mode(request).kind == PLATFORM and self.platform_tenant_filter:
            filters = [("tenant", admin.RelatedOnlyFieldListFilter), *filters]
        return filters

    def get_search_fields(self, request):
        fields = list(super().get_search_fields(request))
        if admin_mode(request).kind == PLATFORM and fields:
            fields += ["tenant__name", "=tenant__code"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if admin_mode(request).kind == PLATFORM:
            fields.insert(0, "tenant")
        return fields

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or ())
        if admin_mode(request).kind != PLATFORM:
            exclude.append("tenant")
        return exclude

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deletes go through services, one by one
        return actions

    def get_inlines(self, request, obj):
        # A new object has no related rows yet to show.
        return super().get_inlines(request, obj) if obj is not None else ()


class ReadOnlyFieldsMixin:
    """Every field read-only (for admins whose changes happen only through actions)."""

    def get_readonly_fields(self, request, obj=None):
        # The clinic is never shown to a clinic (operators get it from ClinicOwnedAdmin).
        names = [f.name for f in self.model._meta.fields if f.name not in ("id", "tenant")]
        return list(dict.fromkeys([*super().get_readonly_fields(request, obj), *names]))


class ClinicTabularInline(ScopedAdminMixin, admin.TabularInline):
    extra = 0
    show_change_link = True


class PlatformOnlyMixin(ScopedAdminMixin):
    """Wraps admins that know nothing of clinics: visible to platform operators only, with
    whatever that admin allows them (Django's permissions; operators are superusers)."""

    def mode_allows(self, request, permission: str) -> bool:
        return admin_mode(request).kind == PLATFORM

    def has_view_permission(self, request, obj=None):
        return self.mode_allows(request, "view") and super(
            ScopedAdminMixin, self
        ).has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self.mode_allows(request, "add") and super(
            ScopedAdminMixin, self
        ).has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self.mode_allows(request, "change") and super(
            ScopedAdminMixin, self
        ).has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.mode_allows(request, "delete") and super(
            ScopedAdminMixin, self
        ).has_delete_permission(request, obj)


# --- actions with a small form (days, plan, reason) -------------------------------------------


def form_action(*, name: str, form_class, description: str, apply, permissions=("operate",)):
    """An admin action that first asks for its parameters, then calls `apply(modeladmin,
    request, obj, cleaned_data)` (a service call) for each selected object; refusals are
    reported per object and change nothing for that object."""

    @admin.action(description=description, permissions=list(permissions))
    def action(modeladmin, request, queryset):
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for obj in queryset:
                try:
                    apply(modeladmin, request, obj, form.cleaned_data)
                    done += 1
                except ApplicationError as exc:
                    modeladmin.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)
            if done:
                modeladmin.message_user(
                    request, f"{description}: done for {done} of {len(queryset)}.", messages.SUCCESS
                )
            return None
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": description,
            "form": form,
            "queryset": queryset,
            "opts": modeladmin.model._meta,
            "action_name": action.__name__,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/action_form.html", context)

    action.__name__ = action.__qualname__ = name
    return action
