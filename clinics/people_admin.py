"""Admin for people, memberships and invitations.

People are global (one login, several clinics): operators see all of them; a clinic's admins
see only the clinic's own members, read-only (a person's name or e-mail is theirs, not one
clinic's to change). Memberships and invitations are clinic-owned and change only through
the accounts services.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count

from accounts.admin_mixins import (
    ClinicOwnedAdmin,
    ClinicTabularInline,
    ReadOnlyFieldsMixin,
    ScopedAdminMixin,
    scoped_choices,
)
from accounts.admin_mode import PLATFORM, admin_mode
from accounts.models import Invitation, Membership, Role, User
from accounts.services import (
    grantable_roles,
    invitation_create,
    invitation_resend,
    user_active_set,
    user_staff_set,
)
from clinics.services import (
    invitation_revoke,
    membership_deactivate,
    membership_reactivate,
    membership_role_change,
)
from core.errors import ApplicationError

# --- people -----------------------------------------------------------------------------------


class MembershipInline(ClinicTabularInline):
    model = Membership
    fk_name = "user"
    platform_permissions = frozenset({"view"})
    fields = ("tenant", "role", "is_active", "created_at", "last_used_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tenant", "user")


def _run_on_users(modeladmin, request, queryset, service, **kwargs):
    from django.contrib import messages

    done = 0
    for user in queryset:
        try:
            service(user=user, actor=request.user, **kwargs)
            done += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{user}: {exc.detail}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"Done for {done} of {len(queryset)}.", messages.SUCCESS)


CLINIC_VISIBLE_USER_FIELDS = ("email", "first_name", "last_name", "phone", "is_active")


@admin.register(User)
class UserAdmin(ReadOnlyFieldsMixin, ScopedAdminMixin, admin.ModelAdmin):
    platform_permissions = frozenset({"view", "operate"})
    clinic_permissions = frozenset({"view"})
    inlines = (MembershipInline,)
    search_fields = ("email", "first_name", "last_name", "=phone")
    ordering = ("email",)
    exclude = ("password", "groups", "user_permissions", "token_version")
    actions = ("grant_admin_access", "revoke_admin_access", "lock_accounts", "unlock_accounts")

    def get_queryset(self, request):
        queryset = scoped_choices(request, super().get_queryset(request))
        if admin_mode(request).kind == PLATFORM:
            queryset = queryset.annotate(clinic_count=Count("memberships"))
        return queryset

    def get_list_display(self, request):
        if admin_mode(request).kind == PLATFORM:
            return (
                "email",
                "full_name",
                "is_active",
                "is_staff",
                "is_superuser",
                "clinics",
                "date_joined",
            )
        return ("email", "full_name", "phone", "is_active")

    def get_list_filter(self, request):
        if admin_mode(request).kind == PLATFORM:
            return ("is_active", "is_staff", "is_superuser")
        return ("is_active",)

    def get_readonly_fields(self, request, obj=None):
        fields = [
            name
            for name in super().get_readonly_fields(request, obj)
            if name not in ("password", "token_version")
        ]
        if admin_mode(request).kind != PLATFORM:
            # A clinic sees its members' names and contact details, never their activity on
            # the platform (last login, verification and join dates, other clinics' flags).
            fields = [name for name in fields if name in CLINIC_VISIBLE_USER_FIELDS]
        return fields

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    @admin.display(description="name")
    def full_name(self, obj):
        return f"{obj.first_name} {obj.last_name}".strip()

    @admin.display(description="clinics")
    def clinics(self, obj):
        return obj.clinic_count

    @admin.action(description="Grant admin access", permissions=["operate"])
    def grant_admin_access(self, request, queryset):
        _run_on_users(self, request, queryset, user_staff_set, is_staff=True)

    @admin.action(description="Revoke admin access", permissions=["operate"])
    def revoke_admin_access(self, request, queryset):
        _run_on_users(self, request, queryset, user_staff_set, is_staff=False)

    @admin.action(description="Lock accounts (log out everywhere)", permissions=["operate"])
    def lock_accounts(self, request, queryset):
        _run_on_users(self, request, queryset, user_active_set, is_active=False)

    @admin.action(description="Unlock accounts", permissions=["operate"])
    def unlock_accounts(self, request, queryset):
        _run_on_users(self, request, queryset, user_active_set, is_active=True)


# --- memberships ------------------------------------------------------------------------------


class MembershipInviteForm(forms.ModelForm):
    """Adding a member is an invitation (accounts.services.invitation_create): the person
    joins by accepting it, and until then the clinic sees only what is typed here."""

    email = forms.EmailField(max_length=254)
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    phone = forms.CharField(max_length=20, required=False)

    class Meta:
        model = Membership
        fields = ("role",)


def _grantable(request) -> frozenset[str]:
    return grantable_roles(actor_membership=getattr(request, "membership", None))


class MembershipAdmin(ClinicOwnedAdmin):
    platform_permissions = frozenset({"view"})
    clinic_permissions = frozenset({"view", "add", "change", "operate"})
    list_display = ("user", "member_name", "role", "is_active", "created_at", "last_used_at")
    list_select_related = ("user",)
    list_filter = ("role", "is_active")
    search_fields = ("user__email", "user__first_name", "user__last_name")
    ordering = ("user__email",)
    actions = ("deactivate", "reactivate")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = MembershipInviteForm
            kwargs["fields"] = ("email", "first_name", "last_name", "phone", "role")
        form = super().get_form(request, obj, **kwargs)
        # Only the roles the signed-in person may give (the service checks the same rule):
        # an admin never sees "Owner", and nobody is invited as owner from here.
        granted = _grantable(request)
        granted = granted - {Role.OWNER} if obj is None else granted | {obj.role}
        if "role" in form.base_fields:  # read-only for one's own or an owner's membership
            form.base_fields["role"].choices = [c for c in Role.choices if c[0] in granted]
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("email", "first_name", "last_name", "phone", "role")
        return ("user", "role", "is_active", "created_at", "last_used_at")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["user", "is_active", "created_at", "last_used_at"]
            if obj.user_id == request.user.pk or (
                obj.role == Role.OWNER and Role.OWNER not in _grantable(request)
            ):
                # Nobody changes their own role; only an owner changes an owner's.
                fields.append("role")
        return fields

    @admin.display(description="name")
    def member_name(self, obj):
        return f"{obj.user.first_name} {obj.user.last_name}".strip()

    def save_model(self, request, obj, form, change):
        if not change:
            invitation_create(
                tenant=request.tenant,
                actor=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                first_name=form.cleaned_data.get("first_name", ""),
                last_name=form.cleaned_data.get("last_name", ""),
                phone=form.cleaned_data.get("phone", ""),
            )
            # No membership exists until the person accepts; the admin goes on to the
            # invitations (see response_add).
            obj._invited = True
        elif "role" in form.changed_data:
            current = Membership.objects.get(pk=obj.pk)
            membership_role_change(
                tenant=request.tenant, actor=request.user, membership=current, role=obj.role
            )

    def log_addition(self, request, obj, message):
        if getattr(obj, "_invited", False):
            return  # the invitation service recorded `membership.invited`
        super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(obj, "_invited", False):
            from django.contrib import messages
            from django.http import HttpResponseRedirect
            from django.urls import reverse

            self.message_user(
                request,
                f"Invitation sent to {request.POST.get('email', '').strip().lower()}. "
                "They join the clinic once they accept it.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:accounts_invitation_changelist"))
        return super().response_add(request, obj, post_url_continue)

    def _each(self, request, queryset, service):
        from django.contrib import messages

        done = 0
        for membership in queryset:
            try:
                service(tenant=request.tenant, actor=request.user, membership=membership)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{membership}: {exc.detail}", messages.ERROR)
        if done:
            self.message_user(request, f"Done for {done} of {len(queryset)}.", messages.SUCCESS)

    @admin.action(description="Deactivate (logs them out of this clinic)", permissions=["operate"])
    def deactivate(self, request, queryset):
        self._each(request, queryset, membership_deactivate)

    @admin.action(description="Reactivate", permissions=["operate"])
    def reactivate(self, request, queryset):
        self._each(request, queryset, membership_reactivate)


admin.site.register(Membership, MembershipAdmin)


# --- invitations ------------------------------------------------------------------------------


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    """What the clinic typed and where the invitation stands; never anything about the
    person behind the address (issue 12, item 1)."""

    clinic_permissions = frozenset({"view", "operate"})
    list_display = (
        "email",
        "typed_name",
        "role",
        "status",
        "created_at",
        "expires_at",
        "send_count",
    )
    list_filter = ("role",)
    search_fields = ("email", "first_name", "last_name")
    ordering = ("-created_at",)
    exclude = ("secret_hash",)
    actions = ("resend", "revoke")

    def get_readonly_fields(self, request, obj=None):
        return [f for f in super().get_readonly_fields(request, obj) if f != "secret_hash"]

    @admin.display(description="name (as typed)")
    def typed_name(self, obj):
        return f"{obj.first_name} {obj.last_name}".strip()

    @admin.display(description="status")
    def status(self, obj):
        return obj.status

    def _each(self, request, queryset, service):
        from django.contrib import messages

        for invitation in queryset:
            try:
                service(tenant=request.tenant, actor=request.user, invitation=invitation)
            except ApplicationError as exc:
                self.message_user(request, f"{invitation}: {exc.detail}", messages.ERROR)

    @admin.action(description="Send again", permissions=["operate"])
    def resend(self, request, queryset):
        self._each(request, queryset, invitation_resend)

    @admin.action(description="Revoke", permissions=["operate"])
    def revoke(self, request, queryset):
        self._each(request, queryset, invitation_revoke)
