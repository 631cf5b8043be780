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

from accounts.models import Invitation, Membership, Role, User
from accounts.services import (
    invitation_resend,
    invitation_revoke,
    member_invite,
    membership_deactivate,
    membership_reactivate,
    membership_role_change,
    user_active_set,
    user_staff_set,
)
from tenants.admin_mixins import (
    ClinicOwnedAdmin,
    ClinicTabularInline,
    ReadOnlyFieldsMixin,
    ScopedAdminMixin,
    scoped_choices,
)
from tenants.admin_mode import PLATFORM, admin_mode

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

    from clinic_saas.errors import ApplicationError

    done = 0
    for user in queryset:
        try:
            service(user=user, actor=request.user, **kwargs)
            done += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{user}: {exc.detail}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"Done for {done} of {len(queryset)}.", messages.SUCCESS)


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
        return ("email", "full_name", "phone", "is_active", "date_joined")

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
            fields = [name for name in fields if name not in ("is_superuser", "is_staff")]
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
    """Adding a member is an invitation (accounts.services.member_invite)."""

    email = forms.EmailField(max_length=254)
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)

    class Meta:
        model = Membership
        fields = ("role",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [c for c in Role.choices if c[0] != Role.OWNER]


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
            kwargs["fields"] = ("email", "first_name", "last_name", "role")
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("email", "first_name", "last_name", "role")
        return ("user", "role", "is_active", "created_at", "last_used_at")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["user", "is_active", "created_at", "last_used_at"]
        return fields

    @admin.display(description="name")
    def member_name(self, obj):
        return f"{obj.user.first_name} {obj.user.last_name}".strip()

    def save_model(self, request, obj, form, change):
        if not change:
            membership, _invitation = member_invite(
                tenant=request.tenant,
                actor=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                first_name=form.cleaned_data.get("first_name", ""),
                last_name=form.cleaned_data.get("last_name", ""),
            )
            # The admin goes on with the membership the service made (redirect, audit).
            obj.pk, obj.user, obj.tenant_id = membership.pk, membership.user, membership.tenant_id
            obj.is_active = membership.is_active
            obj._state.adding = False
        elif "role" in form.changed_data:
            current = Membership.objects.get(pk=obj.pk)
            membership_role_change(
                tenant=request.tenant, actor=request.user, membership=current, role=obj.role
            )

    def _each(self, request, queryset, service):
        from django.contrib import messages

        from clinic_saas.errors import ApplicationError

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
    clinic_permissions = frozenset({"view", "operate"})
    list_display = ("email", "role", "status", "created_at", "expires_at", "send_count")
    list_filter = ("role",)
    search_fields = ("email",)
    ordering = ("-created_at",)
    exclude = ("secret_hash",)
    actions = ("resend", "revoke")

    def get_readonly_fields(self, request, obj=None):
        return [f for f in super().get_readonly_fields(request, obj) if f != "secret_hash"]

    @admin.display(description="status")
    def status(self, obj):
        if obj.accepted_at:
            return "accepted"
        if obj.revoked_at:
            return "revoked"
        return "pending" if obj.is_pending else "expired"

    def _each(self, request, queryset, service):
        from django.contrib import messages

        from clinic_saas.errors import ApplicationError

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
