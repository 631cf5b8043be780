"""What the clinical admin modules share: running a service on each selected row, a form's
changes as service keyword arguments, read-only inlines and the catalogue filter."""

from __future__ import annotations

from django.contrib import admin, messages

from accounts.admin_mixins import ClinicTabularInline
from core.errors import ApplicationError


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
