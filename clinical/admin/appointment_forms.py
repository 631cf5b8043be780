"""The booking and change forms of the appointments admin: a doctor's free slots on a day to
pick from (clinical.selectors.doctor_slots_on), and the fields each form sends to its
service (appointment_book, appointment_update, appointment_reschedule)."""

from __future__ import annotations

from django import forms
from django.contrib.admin.widgets import AdminDateWidget
from django.utils.html import format_html

from clinical.models import Appointment
from clinical.selectors import (
    doctor_slots_on,
)
from clinical.services.appointments import local_now
from clinical.versions import row_version

Status = Appointment.Status


class SlotSelect(forms.Select):
    """The free slots, next to the button that brings them: a plain submit that comes back
    with the slots of the doctor and date typed so far (no script needed)."""

    def render(self, name, value, attrs=None, renderer=None):
        return format_html(
            '<div class="slot-picker">{}<button type="submit" name="_slots" value="1" '
            'class="button">Show free slots</button></div>',
            super().render(name, value, attrs, renderer),
        )


def slot_choices(doctor_id, day) -> list[tuple[str, str]]:
    if not doctor_id or day is None:
        return []
    slots = doctor_slots_on(doctor_id=doctor_id, day=day, now=local_now())
    return [
        (f"{s['start_time']:%H:%M}", f"{s['start_time']:%H:%M}–{s['end_time']:%H:%M}")
        for s in slots
    ]


def _typed(form, name: str, field: forms.Field):
    """What the form holds for `name` (typed data, or the initial value), as `field` cleans
    it, or None."""
    value = form[name].value() if name in form.fields else form.initial.get(name)
    try:
        return field.clean(value) if value not in (None, "") else None
    except forms.ValidationError:
        return None


def _fill_slots(form, *, slot: str, doctor_id, day_field: str) -> None:
    day = _typed(form, day_field, forms.DateField())
    choices = slot_choices(doctor_id, day)
    field = form.fields[slot]
    field.widget.choices = choices
    if choices:
        field.help_text = f"{len(choices)} free; the first is the next one."
        form.initial.setdefault(slot, choices[0][0])
    elif doctor_id and day:
        field.help_text = "No free slot that day: choose another date (or doctor)."
    else:
        field.help_text = "Choose the doctor and the date, then “Show free slots”."


class BookingForm(forms.ModelForm):
    # Named as the service names it, so its refusals land on this field.
    appointment_time = forms.TimeField(
        label="Free slot", required=False, widget=SlotSelect(), input_formats=["%H:%M"]
    )

    class Meta:
        model = Appointment
        fields = ("patient", "doctor", "appointment_date", "appointment_type", "reason", "notes")
        help_texts = {"appointment_type": "A walk-in is booked for today, now."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        doctor = _typed(self, "doctor", forms.UUIDField())
        _fill_slots(self, slot="appointment_time", doctor_id=doctor, day_field="appointment_date")

    def clean(self):
        cleaned = super().clean()
        walk_in = cleaned.get("appointment_type") == Appointment.Type.WALK_IN
        if not walk_in and not cleaned.get("appointment_time"):
            self.add_error("appointment_time", "Choose a free slot.")
        return cleaned


class AppointmentChangeForm(forms.ModelForm):
    reschedule_to = forms.DateField(
        label="Move to date",
        required=False,
        widget=AdminDateWidget,
        help_text="To reschedule: a new date, “Show free slots”, then a slot.",
    )
    new_time = forms.TimeField(
        label="New slot", required=False, widget=SlotSelect(), input_formats=["%H:%M"]
    )
    # The version the form was opened on (clinical.versions): another edit meanwhile is
    # refused and said, instead of overwritten.
    row_version = forms.CharField(widget=forms.HiddenInput, required=False)

    request = None  # set by AppointmentAdmin.get_form

    class Meta:
        model = Appointment
        fields = ("office", "reason", "notes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["row_version"].initial = row_version(Appointment, self.instance.pk)
        if not self.is_bound and self.request is not None:
            # "Show free slots" came back with the new date in the address.
            self.initial.setdefault("reschedule_to", self.request.GET.get("reschedule_to"))
        _fill_slots(
            self,
            slot="new_time",
            doctor_id=self.instance.doctor_id,
            day_field="reschedule_to",
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reschedule_to") and not cleaned.get("new_time"):
            self.add_error("new_time", "Choose a free slot on the new date.")
        return cleaned
