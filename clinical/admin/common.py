"""What the clinical admin modules share: the role matrix as the admin's permissions
(`ClinicalAdmin`), the API's read audit for lists and records (`AuditedReadsMixin`), running a
service on each selected row, a form's changes as service keyword arguments, read-only
inlines and the catalogue filter."""

from __future__ import annotations

from django.contrib import admin, messages

from accounts.admin_mixins import ClinicOwnedAdmin, ClinicTabularInline
from accounts.admin_mode import admin_mode
from clinical.models import Doctor
from clinical.permissions import MATRIX, Rule
from core.errors import ApplicationError
from tenants.audit import audit_record

# Django's admin permissions and the matrix action each one is ("operate": the admin's
# actions that call a service, such as a status change).
ADMIN_ACTIONS = {
    "view": "read",
    "add": "create",
    "change": "update",
    "delete": "delete",
    "operate": "status",
}


def acts_as_doctor(request) -> bool:
    """Whether the signed-in member has an active doctor profile in this clinic (the matrix's
    "as doctor" cells; the services check that they act as themself). Read once a request."""
    cached = getattr(request, "_clinical_admin_is_doctor", None)
    if cached is None:
        cached = Doctor.objects.filter(user_id=request.user.pk, is_active=True).exists()
        request._clinical_admin_is_doctor = cached
    return cached


def matrix_allows(request, role: str, resource: str, action: str) -> bool:
    """The role matrix (clinical.permissions.MATRIX, docs/permissions.md): the one source of
    who may do what with clinical records, for the API, the pages and the admin alike."""
    rule = MATRIX.get(resource, {}).get(action, {}).get(role, Rule.DENY)
    if rule == Rule.DOCTOR_SELF:
        return acts_as_doctor(request)
    return rule == Rule.ALLOW


class ClinicalAdmin(ClinicOwnedAdmin):
    """A clinical record's admin: the member's role and the matrix decide what they see and
    may change. `resource` names the matrix row; `admin_actions` maps Django's permissions to
    the row's actions (a permission whose action the row lacks is refused). What the admin
    implements (`clinic_permissions`) still bounds it: a model without a write service stays
    view-only for everybody."""

    resource: str = ""
    admin_actions: dict[str, str] = ADMIN_ACTIONS

    def role_allows(self, request, membership, permission: str) -> bool:
        action = self.admin_actions.get(permission)
        return action is not None and matrix_allows(request, membership.role, self.resource, action)


class AuditedReadsMixin:
    """Reads audited as the API audits them: opening a record is `<audit_name>.viewed` with
    its patient, and a list page is `<audit_name>.listed` with the ids and the patients on
    the page (docs/permissions.md, "Audit of patient records"). Put it before the admin
    class; the page's rows are read once, for the audit and the page alike."""

    audit_name: str = ""

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None and admin_mode(request).clinic_scoped:
            rows = list(changelist.result_list)
            audit_record(
                action=f"{self.audit_name}.listed",
                actor=request.user,
                request=request,
                details={
                    "ids": [str(row.pk) for row in rows],
                    "patient_ids": sorted({str(row.patient_id) for row in rows}),
                },
            )
        return response

    def _audit_object_read(self, request, obj) -> None:
        if not admin_mode(request).clinic_scoped:
            return super()._audit_object_read(request, obj)
        audit_record(
            action=f"{self.audit_name}.viewed",
            actor=request.user,
            request=request,
            object=obj,
            patient_id=obj.patient_id,
        )


def run_each(modeladmin, request, queryset, service, name: str) -> None:
    """Run a service on every selected row; a refusal is reported and changes that row only."""
    done = 0
    for obj in queryset:
        try:
            service(tenant=request.tenant, actor=request.user, **{name: obj})
            done += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"Done for {done} of {len(queryset)}.", messages.SUCCESS)


def form_changes(form) -> dict:
    """The fields the form changed, with their cleaned values."""
    return {name: form.cleaned_data[name] for name in form.changed_data}


class ReadOnlyInline(ClinicTabularInline):
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class CatalogueFilter(admin.SimpleListFilter):
    """The clinic's own rows or the shared ones (medicines, dental templates)."""

    title = "catalogue"
    parameter_name = "catalogue"

    def lookups(self, request, model_admin):
        return [("own", "This clinic's"), ("shared", "Shared")]

    def queryset(self, request, queryset):
        if self.value() == "own":
            return queryset.filter(tenant__isnull=False)
        if self.value() == "shared":
            return queryset.filter(tenant__isnull=True)
        return queryset
