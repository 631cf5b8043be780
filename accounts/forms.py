"""Forms of the account pages (login, passwords, invitations) and of the team page.

Forms only check the shape of the input; the rules (password strength, limits, who may
join) live in the services, whose refusals `accounts.pages.call_service` puts back on the
form.
"""

from __future__ import annotations

from django import forms

from accounts.models import Role
from core.validators import normalize_indian_mobile

PASSWORD_HELP = "At least 10 characters; not a common password, not only digits."


def _autocomplete(field: forms.Field, value: str) -> forms.Field:
    field.widget.attrs["autocomplete"] = value
    return field


def _password(label: str, autocomplete: str = "new-password", help_text: str = "") -> forms.Field:
    return _autocomplete(
        forms.CharField(
            label=label,
            strip=False,
            max_length=128,
            widget=forms.PasswordInput,
            help_text=help_text,
        ),
        autocomplete,
    )


class MobileField(forms.CharField):
    """An Indian mobile number, stored as ten digits."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", "10 digits; a +91 prefix is fine.")
        super().__init__(**kwargs)
        self.widget = forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"})

    def clean(self, value):
        value = super().clean(value)
        return normalize_indian_mobile(value) if value else value


class PageForm(forms.Form):
    """Labels without a trailing colon (the layout sets them apart)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class NewPasswordMixin:
    """Two password fields that must match; strength is the service's job."""

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords do not match.")
        return cleaned


class LoginForm(PageForm):
    email = _autocomplete(forms.EmailField(label="E-mail", max_length=254), "username")
    password = _password("Password", "current-password")


class OTPForm(PageForm):
    code = _autocomplete(
        forms.CharField(
            label="Code",
            max_length=64,
            help_text="The 6-digit code from your authenticator app, or a recovery code.",
        ),
        "one-time-code",
    )


class PasswordResetRequestForm(PageForm):
    email = _autocomplete(forms.EmailField(label="E-mail", max_length=254), "email")


class SetPasswordForm(NewPasswordMixin, PageForm):
    password1 = _password("New password", help_text=PASSWORD_HELP)
    password2 = _password("New password again")


class PasswordChangeForm(NewPasswordMixin, PageForm):
    old_password = _password("Current password", "current-password")
    password1 = _password("New password", help_text=PASSWORD_HELP)
    password2 = _password("New password again")


class InvitationAcceptForm(NewPasswordMixin, PageForm):
    first_name = _autocomplete(forms.CharField(label="First name", max_length=100), "given-name")
    last_name = _autocomplete(forms.CharField(label="Last name", max_length=100), "family-name")
    password1 = _password("Choose a password", help_text=PASSWORD_HELP)
    password2 = _password("Password again")


class ClinicChoiceForm(PageForm):
    tenant_id = forms.UUIDField()


# --- team ---------------------------------------------------------------------------------

STAFF_ROLES = [
    (Role.ADMIN, "Admin (manages the team and the clinic)"),
    (Role.NURSE, "Nurse"),
    (Role.RECEPTIONIST, "Receptionist"),
]


class InviteStaffForm(PageForm):
    first_name = forms.CharField(label="First name", max_length=100)
    last_name = forms.CharField(label="Last name", max_length=100)
    email = forms.EmailField(label="E-mail", max_length=254)
    phone = MobileField(label="Mobile", required=False)
    role = forms.ChoiceField(label="Role", choices=STAFF_ROLES)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "staff")
        super().__init__(*args, **kwargs)


class InviteDoctorForm(PageForm):
    first_name = forms.CharField(label="First name", max_length=100)
    last_name = forms.CharField(label="Last name", max_length=100)
    email = forms.EmailField(label="E-mail", max_length=254)
    phone = MobileField(label="Mobile", required=False)
    license_number = forms.CharField(label="Licence number", max_length=50)
    specialization = forms.CharField(label="Specialization", max_length=100)
    qualification = forms.CharField(label="Qualification", max_length=200, required=False)
    experience_years = forms.IntegerField(
        label="Years of experience", min_value=0, max_value=70, required=False
    )
    office_ids = forms.MultipleChoiceField(
        label="Offices",
        required=False,
        help_text="Where the doctor sees patients.",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, offices=(), **kwargs):
        kwargs.setdefault("prefix", "doctor")
        super().__init__(*args, **kwargs)
        self.fields["office_ids"].choices = [(str(o.pk), o.name) for o in offices]
        if not offices:
            del self.fields["office_ids"]


class RoleChangeForm(PageForm):
    role = forms.ChoiceField(label="Role")

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = list(choices)


def role_choices(
    *, granted, target_is_doctor: bool, current: str | None = None
) -> list[tuple[str, str]]:
    """The roles a member may be given from the team page or the admin.

    `granted` is what the person changing it may give (accounts.services.grantable_roles:
    only an owner hands out ownership). "Doctor" needs a doctor profile (with its licence,
    counted against the plan's doctor limit), so it is offered only to members who have one;
    others are invited as doctors instead.
    """
    allowed = set(granted)
    if not target_is_doctor:
        allowed.discard(Role.DOCTOR)
    if current:
        # Keeping the current role is always possible (the select shows it).
        allowed.add(Role(current))
    return [(role.value, role.label) for role in Role if role in allowed]
