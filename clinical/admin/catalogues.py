"""Admin of the catalogues: medicines (the shared catalogue, read-only, and the clinic's own,
through the medicine services) and short keys (named medicine sets, written through the short
key services, personal keys visible to their doctor only).

It also holds what the prescription admin shares with short keys: a form whose save is the
service call (`ServiceWrittenForm`), so that a refusal lands on the form's fields with what
the person typed kept, and the inline of medicine lines (`MedicineLinesInline`) whose rows
the parent's service writes.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect

from accounts.admin_mixins import ClinicTabularInline
from clinical.admin.common import CatalogueFilter, ClinicalAdmin, acts_as_doctor, form_changes
from clinical.models import Medicine, ShortKey, ShortKeyItem
from clinical.selectors import (
    medicine_catalogue,
    medicine_lines,
    short_key_items_prefetch,
    short_keys_visible_to,
)
from clinical.services import (
    medicine_create,
    medicine_update,
    short_key_create,
    short_key_delete,
    short_key_update,
)
from clinical.services.items import ITEM_TEXT_FIELDS
from clinical.services.medicines import MEDICINE_FIELDS
from core.errors import ApplicationError

# The request attribute under which the medicine lines' formset of this request waits for
# its parent form (see ServiceWrittenForm).
LINES_ATTRIBUTE = "_clinical_admin_medicine_lines"

# --- a form saved by its service --------------------------------------------------------------


class ServiceWrittenForm(forms.ModelForm):
    """A model admin's form whose saving is the service call, made as the last step of
    validation: a refusal (`ApplicationError`) becomes errors on the fields it names, on the
    medicine lines inline, or at the top of the form, and the page is shown again with what
    the person typed. Nothing is left behind: the service and everything around it run in one
    savepoint.

    The admin (`ServiceWrittenAdmin`) sets `modeladmin` and `request` on the form class it
    builds for each request; `modeladmin.write(request, form, lines)` calls the service and
    returns the saved object, kept in `written` for `save_model`.
    """

    modeladmin = None
    request = None
    written = None

    def _post_clean(self):
        super()._post_clean()
        if self.errors or self.modeladmin is None:
            return
        lines = getattr(self.request, LINES_ATTRIBUTE, None)
        # Invalid lines show their own errors (the admin validates them next); write nothing.
        if lines is not None and not lines.is_valid():
            return
        try:
            with transaction.atomic():
                self.written = self.modeladmin.write(self.request, self, lines)
        except ApplicationError as exc:
            self.show_refusal(exc, lines)

    def show_refusal(self, exc: ApplicationError, lines) -> None:
        if not exc.field_errors:
            self.add_error(None, exc.detail)
            return
        for key, errors in exc.field_errors.items():
            for message in errors:
                self._place_error(key, str(message), lines)

    def _place_error(self, key: str, message: str, lines) -> None:
        if key.startswith("items[") and lines is not None:
            index, _, field = key[len("items[") :].partition("].")
            if lines.place_error(int(index), field, message):
                return
            # A line the form did not show (one a short key added).
            if "short_key" in self.fields:
                self.add_error("short_key", message)
                return
        name = self.service_field_names().get(key, key)
        if name in self.fields:
            self.add_error(name, message)
        elif key == "items":
            self.add_error(None, f"Medicines: {message}")
        else:
            self.add_error(None, message)

    def service_field_names(self) -> dict[str, str]:
        """The form field of each name the service's field errors use."""
        return {
            "patient_id": "patient",
            "appointment_id": "appointment",
            "short_key_code": "short_key",
        }


class ServiceWrittenAdmin:
    """For a ClinicalAdmin whose form is a ServiceWrittenForm: the form class knows the
    request and this admin, and `save_model` keeps what the service saved."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # modelform_factory builds a new class on every call: setting these is per request.
        form.modeladmin, form.request = self, request
        return form

    def write(self, request, form, lines):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        written = form.written
        if written is None:  # defensive: a form that skipped its service call saves nothing
            raise ApplicationError("Nothing was saved; please try again.")
        obj.pk, obj.tenant_id, obj._state.adding = written.pk, written.tenant_id, False
        for name in self.copied_after_write:
            setattr(obj, name, getattr(written, name))

    copied_after_write: tuple[str, ...] = ()

    def save_related(self, request, form, formsets, change):
        # The service wrote the lines; the formsets only record that for the change message.
        for formset in formsets:
            formset.save(commit=False)


# --- medicine lines (prescription and short key items) ----------------------------------------


class MedicineAutocomplete(AutocompleteSelect):
    """The medicine search box. It names the chosen medicines from labels read once for the
    whole formset (`labels`, set by MedicineLinesFormSet) instead of a query per line."""

    labels = None

    def optgroups(self, name, value, attr=None):
        chosen = [str(v) for v in value if str(v) not in self.choices.field.empty_values]
        known = self.labels() if self.labels is not None else {}
        if not all(v in known for v in chosen):
            return super().optgroups(name, value, attr)
        default = (None, [], 0)
        if not self.is_required:
            default[1].append(self.create_option(name, "", "", False, 0))
        for v in chosen[:1]:
            default[1].append(self.create_option(name, v, known[v], set(chosen), len(default[1])))
        return [default]


class MedicineLinesFormSet(BaseInlineFormSet):
    """Medicine lines as the service takes them (`items`, in order). It announces itself on
    the request so that the parent's ServiceWrittenForm hands its lines to the service; saving
    it writes nothing (the service did)."""

    request = None  # set on the class by MedicineLinesInline.get_formset, per request

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._labels = None
        self._shown: list = []
        if self.request is not None:
            setattr(self.request, LINES_ATTRIBUTE, self)

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        widget = form.fields["medicine"].widget
        widget = getattr(widget, "widget", widget)  # inside the admin's related-field wrapper
        if isinstance(widget, MedicineAutocomplete):
            widget.labels = self.medicine_labels
        return form

    def medicine_labels(self) -> dict[str, str]:
        """{id: label} of every medicine the lines name, in one query."""
        if self._labels is None:
            ids = set()
            for form in self.forms:
                try:
                    ids.add(uuid.UUID(str(form["medicine"].value())))
                except (TypeError, ValueError, AttributeError):
                    continue
            found = medicine_catalogue().filter(pk__in=ids) if ids else []
            self._labels = {str(m.pk): str(m) for m in found}
        return self._labels

    def lines(self) -> list[dict]:
        """The lines to write, as the services' `items`: filled, not deleted, in order."""
        rows, self._shown = [], []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or (self.can_delete and self._should_delete_form(form)):
                continue
            row = {"medicine_id": data["medicine"].pk, "quantity": data.get("quantity")}
            row.update({name: data.get(name, "") for name in ITEM_TEXT_FIELDS})
            if "generic_substitution_allowed" in data:
                row["generic_substitution_allowed"] = data["generic_substitution_allowed"]
            rows.append(row)
            self._shown.append(form)
        return rows

    def place_error(self, index: int, field: str, message: str) -> bool:
        """Put a service error about line `index` on that line's field; False when the line
        is not one of this formset's."""
        if index >= len(self._shown):
            return False
        form = self._shown[index]
        name = "medicine" if field == "medicine_id" else field
        form.add_error(name if name in form.fields else None, message)
        return True

    def save(self, commit=True):
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        return []


class MedicineLineForm(forms.ModelForm):
    """A line's medicine is chosen from the catalogue the clinic sees (shared or its own),
    one field whatever its kind; the line stores it in `medicine` or `shared_medicine`
    (MedicineLine.set_medicine), and the service writes it again from the id."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "medicine" in self.fields:
            self.initial["medicine"] = self.instance.catalogue_medicine_id

    def _post_clean(self):
        # The chosen entry is a CatalogueMedicine, which the `medicine` column (the clinic's
        # own medicines) cannot hold: keep it away from construct_instance and name it in
        # the right column instead.
        chosen = self.cleaned_data.pop("medicine", None)
        if chosen is not None:
            self.instance.set_medicine(chosen)
        super()._post_clean()
        if chosen is not None:
            self.cleaned_data["medicine"] = chosen


class MedicineLinesInline(ClinicTabularInline):
    """Medicines as lines of their parent, searched in the shared catalogue and the clinic's
    own; the parent's service writes them (1-20 lines, each medicine once)."""

    form = MedicineLineForm
    formset = MedicineLinesFormSet
    # Lines are added, changed and removed with their parent (who may do that: the parent's
    # role rule, see ClinicTabularInline).
    clinic_permissions = frozenset({"view", "add", "change", "delete"})
    fields = ("medicine", *ITEM_TEXT_FIELDS, "quantity")
    autocomplete_fields = ("medicine",)
    show_change_link = False
    max_num = 20
    verbose_name = "medicine"
    verbose_name_plural = "medicines"

    def get_extra(self, request, obj=None, **kwargs):
        return 3 if obj is None else 1

    def get_queryset(self, request):
        return medicine_lines(self.model, super().get_queryset(request))

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.request = request  # a new class on every call (inlineformset_factory)
        return formset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "medicine":
            # Any entry of the catalogue the clinic sees. The autocomplete searches it too:
            # the medicines' admin lists that catalogue (MedicineAdmin.get_queryset).
            kwargs["queryset"] = medicine_catalogue()
            kwargs["widget"] = MedicineAutocomplete(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- medicines --------------------------------------------------------------------------------


class MedicineForm(ServiceWrittenForm):
    class Meta:
        model = Medicine
        fields = MEDICINE_FIELDS  # what the medicine services take


@admin.register(Medicine)
class MedicineAdmin(ServiceWrittenAdmin, ClinicalAdmin):
    """The shared catalogue (read-only, loaded by `load_medicines`) and the clinic's own
    medicines (added and changed through the medicine services). Prescriptions and short keys
    search it for their lines (the autocomplete offers medicines still in use).

    Registered for the clinic's own medicines (its add form makes one), it lists and opens
    the whole catalogue the clinic sees: its queryset is the catalogue view
    (CatalogueMedicine), whose rows have the same fields plus `is_global`."""

    resource = "medicines"

    clinic_permissions = frozenset({"view", "add", "change"})
    form = MedicineForm
    list_display = ("name", "strength", "dosage_form", "generic_name", "shared", "is_active")
    list_filter = (CatalogueFilter, "dosage_form", "prescription_only", "is_active")
    search_fields = ("name", "generic_name", "composition")
    ordering = ("name", "strength", "id")
    readonly_fields = ("created_at", "updated_at")

    @admin.display(boolean=True, description="shared")
    def shared(self, obj):
        return obj.is_global

    def get_queryset(self, request):
        return medicine_catalogue().order_by(*(self.get_ordering(request) or ()))

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or not obj.is_global)

    def get_search_results(self, request, queryset, search_term):
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "autocomplete":
            # A medicine out of use cannot go on a new line (the services refuse it).
            queryset = queryset.filter(is_active=True)
        return queryset, duplicates

    def write(self, request, form, lines):
        if form.instance._state.adding:
            values = {name: form.cleaned_data[name] for name in form.fields}
            return medicine_create(tenant=request.tenant, actor=request.user, **values)
        medicine = Medicine.objects.get(pk=form.instance.pk)
        changes = form_changes(form)
        if not changes:
            return medicine
        return medicine_update(
            tenant=request.tenant, actor=request.user, medicine=medicine, **changes
        )


# --- short keys -------------------------------------------------------------------------------


class ShortKeyItemInline(MedicineLinesInline):
    model = ShortKeyItem


class ShortKeyForm(ServiceWrittenForm):
    personal = forms.BooleanField(
        required=False,
        help_text="Only you see and use a personal key; others are shared with the clinic.",
    )

    class Meta:
        model = ShortKey
        fields = ("code", "name", "description", "is_active")

    def clean_code(self):
        # Stored in capitals (the services do the same); "fever" is FEVER.
        return (self.cleaned_data.get("code") or "").strip().upper()


@admin.register(ShortKey)
class ShortKeyAdmin(ServiceWrittenAdmin, ClinicalAdmin):
    """Named medicine sets that fill in a prescription's lines. A doctor's personal key is
    theirs alone (as in the API): the list holds the clinic's shared keys and the person's
    own, and another doctor's personal key is a 404. Written through the short key services."""

    resource = "short_keys"

    clinic_permissions = frozenset({"view", "add", "change", "delete"})
    form = ShortKeyForm
    list_display = ("code", "name", "personal_key", "usage_count", "last_used_at", "is_active")
    list_filter = ("is_active",)
    search_fields = ("=code", "name")
    ordering = ("code",)
    # Shown on a saved key; a new one has none of them yet.
    saved_fields = ("personal_key", "usage_count", "last_used_at", "created_at", "updated_at")
    inlines = (ShortKeyItemInline,)

    class Media:
        css = {"all": ("workspace/prescriptions.css",)}

    def get_queryset(self, request):
        return short_keys_visible_to(request.user, super().get_queryset(request)).prefetch_related(
            short_key_items_prefetch()
        )

    def get_inlines(self, request, obj):
        return self.inlines  # a new key is written with its lines

    def get_fields(self, request, obj=None):
        if obj is None:
            # A personal key belongs to a doctor profile: offered to doctors only.
            personal = ("personal",) if acts_as_doctor(request) else ()
            return ("code", "name", "description", *personal)
        return ("code", "name", "description", "is_active", *self.saved_fields)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields if obj is None else [*fields, *self.saved_fields]

    @admin.display(boolean=True, description="personal")
    def personal_key(self, obj):
        return obj.doctor_id is not None

    def write(self, request, form, lines):
        data = form.cleaned_data
        if form.instance._state.adding:
            return short_key_create(
                tenant=request.tenant,
                actor=request.user,
                code=data["code"],
                name=data["name"],
                description=data.get("description", ""),
                personal=bool(data.get("personal")),
                items=lines.lines() if lines is not None else [],
            )
        changes = {k: v for k, v in form_changes(form).items() if k != "personal"}
        items = lines.lines() if lines is not None and lines.has_changed() else None
        return short_key_update(
            tenant=request.tenant,
            actor=request.user,
            short_key=ShortKey.objects.get(pk=form.instance.pk),
            items=items,
            **changes,
        )

    def delete_model(self, request, obj):
        short_key_delete(tenant=request.tenant, actor=request.user, short_key=obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ApplicationError as exc:
            # The service refused; its savepoint rolled back, so nothing was deleted.
            self.message_user(request, exc.detail, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
