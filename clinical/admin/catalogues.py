"""Admin of the catalogues: medicines (the shared catalogue, read-only, and the clinic's own,
through the medicine services) and short keys (prescription templates, view-only here)."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_mixins import ReadOnlyFieldsMixin
from clinical.admin.common import CatalogueFilter, ClinicalAdmin, ReadOnlyInline, form_changes
from clinical.models import Medicine, ShortKey, ShortKeyItem
from clinical.selectors import short_key_items_prefetch, short_keys_visible_to
from clinical.services import medicine_create, medicine_update

# --- medicines --------------------------------------------------------------------------------


@admin.register(Medicine)
class MedicineAdmin(ClinicalAdmin):
    """The shared catalogue (read-only, loaded by `load_medicines`) and the clinic's own
    medicines (added and changed through the medicine services)."""

    resource = "medicines"

    clinic_permissions = frozenset({"view", "add", "change"})
    list_display = ("name", "strength", "dosage_form", "generic_name", "shared", "is_active")
    list_filter = (CatalogueFilter, "dosage_form", "prescription_only", "is_active")
    search_fields = ("name", "generic_name", "composition")
    ordering = ("name", "strength", "id")
    readonly_fields = ("created_at", "updated_at")

    @admin.display(boolean=True, description="shared")
    def shared(self, obj):
        return obj.tenant_id is None

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.tenant_id is not None)

    def save_model(self, request, obj, form, change):
        if not change:
            values = {name: form.cleaned_data[name] for name in form.fields}
            medicine = medicine_create(tenant=request.tenant, actor=request.user, **values)
            obj.pk, obj.tenant_id, obj._state.adding = medicine.pk, medicine.tenant_id, False
        elif form.changed_data:
            medicine_update(
                tenant=request.tenant,
                actor=request.user,
                medicine=Medicine.objects.get(pk=obj.pk),
                **form_changes(form),
            )


# --- short keys -------------------------------------------------------------------------------


class ShortKeyItemInline(ReadOnlyInline):
    model = ShortKeyItem
    fields = ("medicine", "dosage", "frequency", "duration", "instructions", "quantity")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("medicine")


@admin.register(ShortKey)
class ShortKeyAdmin(ReadOnlyFieldsMixin, ClinicalAdmin):
    """Prescription templates. A doctor's personal key is theirs alone (as in the API): the
    list holds the clinic's shared keys and the person's own."""

    resource = "short_keys"

    list_display = ("code", "name", "personal", "usage_count", "last_used_at", "is_active")
    list_filter = ("is_active",)
    search_fields = ("=code", "name")
    ordering = ("code",)
    inlines = (ShortKeyItemInline,)

    def get_queryset(self, request):
        return short_keys_visible_to(request.user, super().get_queryset(request)).prefetch_related(
            short_key_items_prefetch()
        )

    @admin.display(boolean=True, description="personal")
    def personal(self, obj):
        return obj.doctor_id is not None
