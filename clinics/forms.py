"""Forms of the clinic pages: signup, clinic settings, offices, plan."""

from __future__ import annotations

from django import forms

from accounts.forms import PASSWORD_HELP, MobileField, NewPasswordMixin, PageForm
from core.validators import normalize_phone
from tenants import plans
from tenants.billing import gst


class PhoneField(forms.CharField):
    """A mobile or a landline with its STD code, stored normalised."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", "A 10-digit mobile, or a landline with its STD code.")
        super().__init__(**kwargs)
        self.widget = forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"})

    def clean(self, value):
        value = super().clean(value)
        return normalize_phone(value) if value else value


def _password(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        max_length=128,
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class SignupForm(NewPasswordMixin, PageForm):
    clinic_name = forms.CharField(label="Clinic name", max_length=200)
    clinic_phone = PhoneField(label="Clinic phone")
    clinic_address = forms.CharField(
        label="Clinic address",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
        help_text="Printed on prescriptions as your first office's letterhead.",
    )
    owner_first_name = forms.CharField(
        label="Your first name",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    owner_last_name = forms.CharField(
        label="Your last name",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    owner_email = forms.EmailField(
        label="Your e-mail",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="You log in with it; we send a link to verify it.",
    )
    owner_phone = MobileField(label="Your mobile")
    password1 = _password("Password", PASSWORD_HELP)
    password2 = _password("Password again")
    also_doctor = forms.BooleanField(
        label="I am also a doctor at this clinic",
        required=False,
        help_text="Adds your doctor profile, so you can write prescriptions.",
    )
    license_number = forms.CharField(label="Licence number", max_length=50, required=False)
    specialization = forms.CharField(label="Specialization", max_length=100, required=False)
    qualification = forms.CharField(
        label="Qualification", max_length=200, required=False, help_text="For example BDS, MDS."
    )
    experience_years = forms.IntegerField(
        label="Years of experience", min_value=0, max_value=70, required=False
    )

    # The service's names for a refused field → this form's field.
    FIELD_MAP = {
        "email": "owner_email",
        "first_name": "owner_first_name",
        "last_name": "owner_last_name",
        "phone": "owner_phone",
        "password": "password1",
        "role": "also_doctor",
        "name": "clinic_name",
        "address": "clinic_address",
    }
    DOCTOR_FIELDS = ("license_number", "specialization", "qualification", "experience_years")

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        kwargs = {
            name: data[name]
            for name in (
                "clinic_name",
                "clinic_phone",
                "clinic_address",
                "owner_first_name",
                "owner_last_name",
                "owner_email",
                "owner_phone",
            )
        }
        kwargs["password"] = data["password1"]
        kwargs["role"] = "admin_doctor" if data.get("also_doctor") else "admin"
        if data.get("also_doctor"):
            kwargs.update({name: data.get(name) for name in self.DOCTOR_FIELDS})
            kwargs["qualification"] = kwargs["qualification"] or ""
        return kwargs


class ClinicForm(PageForm):
    name = forms.CharField(label="Clinic name", max_length=200)
    email = forms.EmailField(label="Contact e-mail", max_length=254, required=False)
    phone = PhoneField(label="Phone", required=False)
    address = forms.CharField(
        label="Address", max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    gstin = forms.CharField(
        label="GSTIN",
        max_length=15,
        required=False,
        help_text="If the clinic is registered for GST; printed on its invoices.",
    )
    billing_state = forms.ChoiceField(
        label="State (for GST)",
        required=False,
        choices=[("", "—"), *gst.STATE_CHOICES],
        help_text="Invoices charge CGST + SGST in the platform's state, IGST elsewhere.",
    )

    FIELDS = ("name", "email", "phone", "address", "gstin", "billing_state")

    def clean_gstin(self) -> str:
        return self.cleaned_data["gstin"].strip().upper()

    @classmethod
    def for_tenant(cls, tenant, data=None):
        initial = {name: getattr(tenant, name) for name in cls.FIELDS}
        return cls(data, initial=initial, prefix="clinic")


class OfficeForm(PageForm):
    name = forms.CharField(label="Office name", max_length=200)
    address = forms.CharField(
        label="Address", max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    phone = PhoneField(label="Phone", required=False)
    is_primary = forms.BooleanField(
        label="Primary office", required=False, help_text="The default letterhead."
    )
    is_active = forms.BooleanField(label="In use", required=False, initial=True)

    def __init__(self, *args, editing: bool = False, **kwargs):
        kwargs.setdefault("prefix", "office")
        super().__init__(*args, **kwargs)
        if not editing:
            # A new office is in use; deactivating is an edit.
            del self.fields["is_active"]

    @classmethod
    def for_office(cls, office, data=None):
        initial = {
            name: getattr(office, name)
            for name in ("name", "address", "phone", "is_primary", "is_active")
        }
        return cls(data, initial=initial, editing=True)


class PlanChangeForm(PageForm):
    plan = forms.ChoiceField(label="Plan", choices=plans.PLAN_CHOICES)
