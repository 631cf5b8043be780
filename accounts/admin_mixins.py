"""The mixins every registered admin is built from (see clinics.admin_site for the site).

`ScopedAdminMixin` gives permissions by mode and role, clinic-scoped choices in every form
field, filter and raw-id input, a plain 404 for objects that are not visible, a service's
refusal as errors on the form it came from (`RefusalFormMixin`), and the audit log instead
of Django's unscoped LogEntry table.
`ClinicOwnedAdmin` adds what operators need for clinic-owned models (the clinic as a column,
filter and search field) and keeps the clinic field away from clinics.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.admin_mode import (
    CLINIC,
    PLATFORM,
    SUPPORT,
    admin_mode,
    clinic_of,
    is_clinic_scoped,
    patient_of,
)
from accounts.models import ADMIN_ROLES, User
from core.errors import ApplicationError
from tenants.audit import audit_record
from tenants.models import AuditEvent


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
    # What this admin implements for a clinic (a model without a write service stays view-only).
    clinic_permissions: frozenset[str] = frozenset({"view"})
    # Roles that see this admin in clinic mode (owner and admin unless narrowed). Clinical
    # records decide by the role matrix instead (clinical.admin.common.ClinicalAdmin).
    clinic_roles: frozenset[str] | None = None

    def mode_allows(self, request, permission: str) -> bool:
        mode = admin_mode(request)
        if mode.kind == PLATFORM:
            return permission in self.platform_permissions
        if mode.kind == SUPPORT:
            # Support looks; it never changes a clinic's records.
            return permission == "view" and bool(self.clinic_permissions)
        if mode.kind == CLINIC:
            if permission != "view" and not mode.tenant.is_writable:
                return False  # suspended clinic or ended trial: read-only here too
            if permission not in self.clinic_permissions:
                return False
            return self.role_allows(request, mode.membership, permission)
        return False

    def role_allows(self, request, membership, permission: str) -> bool:
        """Whether the member's role may use `permission` here (clinic mode). By default,
        owners and admins (or `clinic_roles`); subclasses may decide by a finer rule."""
        return membership.role in (self.clinic_roles or ADMIN_ROLES)

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
            # The service refused (plan limit, overlap, bad tooth number, read-only clinic):
            # nothing was written, because the form's transaction rolled back. The form is
            # shown again as it was typed, with the refusal on its fields (RefusalFormMixin).
            if request.method != "POST" or hasattr(request, "_admin_refusal"):
                self.message_user(request, exc.detail, messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
            request._admin_refusal = exc
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "_admin_refusal", None)
        if refusal is None:
            return form
        return type(form.__name__, (RefusalFormMixin, form), {"refusal": refusal})

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ApplicationError as exc:
            # A refused deletion deletes nothing; the page says why and stays where it was.
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

        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("Not found.")
        audit_admin = self.admin_site.get_model_admin(AuditEvent)
        if not audit_admin.has_view_permission(request):
            raise PermissionDenied
        url = reverse("admin:tenants_auditevent_changelist", current_app=self.admin_site.name)
        return HttpResponseRedirect(f"{url}?{urlencode({'object_id': str(obj.pk)})}")


class RefusalFormMixin:
    """A form that shows a service's refusal (`ApplicationError`) as its own errors: each of
    `field_errors` on the field of that name (`patient_id` on `patient`, `availability[2]
    .start_time` on `availability`), the rest and the detail at the top of the form."""

    refusal: ApplicationError

    def _post_clean(self):
        super()._post_clean()
        refusal = self.refusal
        placed = set()
        for key, errors in (refusal.field_errors or {}).items():
            name = refusal_field(key, self.fields)
            for error in errors if isinstance(errors, list | tuple) else [errors]:
                self.add_error(name, str(error))
                placed.add(str(error))
        if refusal.detail not in placed:
            self.add_error(None, refusal.detail)


def refusal_field(key: str, fields) -> str | None:
    """The form field a service's field error belongs to, or None for the top of the form."""
    name = str(key).split(".")[0].split("[")[0]
    for candidate in (name, name.removesuffix("_id"), name.removesuffix("_ids") + "s"):
        if candidate in fields:
            return candidate
    return None


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

    mode = admin_mode(request)
    if not mode.clinic_scoped:
        return queryset
    model = queryset.model
    if issubclass(model, User):
        # People are global; a clinic may only pick its own members.
        return queryset.filter(memberships__tenant_id=mode.tenant_id)
    if is_clinic_scoped(model):
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

    def role_allows(self, request, membership, permission: str) -> bool:
        # An inline is part of its parent's page: whoever may see the parent sees its rows,
        # and whoever may change the parent changes them.
        parent = self.admin_site._registry.get(self.parent_model)
        if parent is None:
            return super().role_allows(request, membership, permission)
        return parent.role_allows(request, membership, "view" if permission == "view" else "change")


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
