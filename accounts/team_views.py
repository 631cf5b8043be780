"""The team page: members with role and status, invitations, roles, deactivation.

Everyone in the clinic may see the team; owners and admins change it. Every change goes
through `accounts.services` / `clinical.services` (the doctor limit is enforced there,
race-free). Members and invitations are looked up through the clinic-scoped managers, so an
id of another clinic answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import forms, services
from accounts.models import Invitation, Membership
from accounts.permissions import may_manage_member
from clinic_saas.errors import PlanLimitReached
from clinical.models import Doctor, Office
from clinical.services import doctor_invite
from tenants.pages import ADMINS, call_service, clinic_page, is_admin, is_owner
from tenants.selectors import tenant_limits


def _status(membership: Membership, invitation: Invitation | None) -> tuple[str, str]:
    """(label, badge style) of a member."""
    if membership.is_active:
        return "Active", "ok"
    if invitation is not None and invitation.revoked_at is None:
        return ("Invited", "warn") if invitation.is_pending else ("Invitation expired", "bad")
    if invitation is not None:
        return "Invitation revoked", "neutral"
    return "Deactivated", "neutral"


def _team_rows(request) -> list[dict]:
    members = list(Membership.objects.select_related("user").order_by("created_at"))
    doctors = {doctor.user_id: doctor for doctor in Doctor.objects.all()}
    invitations: dict = {}
    for invitation in Invitation.objects.filter(accepted_at__isnull=True).order_by("-created_at"):
        invitations.setdefault(invitation.membership_id, invitation)
    actor = request.membership
    rows = []
    for member in members:
        invitation = invitations.get(member.pk)
        label, style = _status(member, invitation)
        doctor = doctors.get(member.user_id)
        manageable = is_admin(request) and may_manage_member(actor, member)
        open_invitation = (
            invitation if invitation is not None and invitation.revoked_at is None else None
        )
        rows.append(
            {
                "member": member,
                "user": member.user,
                "doctor": doctor,
                "status": label,
                "style": style,
                "invitation": open_invitation,
                "is_me": member.pk == actor.pk,
                "manageable": manageable,
                # Reactivating only makes sense for someone who can log in (a person whose
                # invitation was revoked before they joined never set a password).
                "can_reactivate": manageable
                and not member.is_active
                and open_invitation is None
                and member.user.has_usable_password(),
                "role_form": forms.RoleChangeForm(
                    initial={"role": member.role},
                    choices=forms.role_choices(
                        actor_is_owner=is_owner(request),
                        target_is_doctor=doctor is not None,
                        current=member.role,
                    ),
                    auto_id=f"id_role_{member.pk}_%s",
                )
                if manageable and member.is_active
                else None,
            }
        )
    return rows


def _team_page(request, *, doctor_form=None, staff_form=None, status=200):
    offices = list(Office.objects.filter(is_active=True))
    limits = tenant_limits(request.tenant)
    return render(
        request,
        "accounts/team.html",
        {
            "rows": _team_rows(request),
            "limits": limits,
            "doctor_form": doctor_form or forms.InviteDoctorForm(offices=offices),
            "staff_form": staff_form or forms.InviteStaffForm(),
            "doctors_full": not limits["doctors"]["can_add"],
        },
        status=status,
    )


@clinic_page()
def team(request):
    return _team_page(request)


@clinic_page(write_roles=ADMINS)
@require_POST
def invite_doctor(request):
    offices = list(Office.objects.filter(is_active=True))
    form = forms.InviteDoctorForm(request.POST, offices=offices)
    if form.is_valid():
        outcome = call_service(
            form, doctor_invite, tenant=request.tenant, actor=request.user, **form.cleaned_data
        )
        if outcome.ok:
            doctor = outcome.value
            messages.success(request, _added_message(doctor.user, request.tenant, "doctor"))
            return redirect("team")
        form.limit_reached = isinstance(outcome.error, PlanLimitReached)
    return _team_page(request, doctor_form=form, status=400)


@clinic_page(write_roles=ADMINS)
@require_POST
def invite_staff(request):
    form = forms.InviteStaffForm(request.POST)
    if form.is_valid():
        outcome = call_service(
            form,
            services.member_invite,
            tenant=request.tenant,
            actor=request.user,
            **form.cleaned_data,
        )
        if outcome.ok:
            membership, _invitation = outcome.value
            messages.success(
                request,
                _added_message(membership.user, request.tenant, membership.get_role_display()),
            )
            return redirect("team")
    return _team_page(request, staff_form=form, status=400)


def _added_message(user, tenant, role: str) -> str:
    if user.has_usable_password():
        return f"{user.email} already has an account and now works at {tenant.name} ({role})."
    return f"Invitation sent to {user.email}. They join once they choose a password."


def _managed_member(request, pk) -> Membership:
    member = get_object_or_404(Membership.objects.select_related("user"), pk=pk)
    if not may_manage_member(request.membership, member):
        raise PermissionDenied("You cannot change this member.")
    return member


def _finish(request, outcome, success: str):
    if outcome.ok:
        messages.success(request, success)
    else:
        messages.error(request, outcome.error.detail)
    return redirect("team")


@clinic_page(write_roles=ADMINS)
@require_POST
def member_role(request, pk):
    member = _managed_member(request, pk)
    is_doctor = Doctor.objects.filter(user_id=member.user_id).exists()
    form = forms.RoleChangeForm(
        request.POST,
        choices=forms.role_choices(
            actor_is_owner=is_owner(request), target_is_doctor=is_doctor, current=member.role
        ),
    )
    if not form.is_valid():
        messages.error(request, "That role cannot be given here.")
        return redirect("team")
    outcome = call_service(
        None,
        services.membership_role_change,
        tenant=request.tenant,
        actor=request.user,
        membership=member,
        role=form.cleaned_data["role"],
    )
    return _finish(
        request, outcome, f"{member.user.get_full_name()} is now {member.get_role_display()}."
    )


@clinic_page(write_roles=ADMINS)
@require_POST
def member_deactivate(request, pk):
    member = _managed_member(request, pk)
    outcome = call_service(
        None,
        services.membership_deactivate,
        tenant=request.tenant,
        actor=request.user,
        membership=member,
    )
    return _finish(
        request,
        outcome,
        f"{member.user.get_full_name()} is deactivated: their sessions and apps stop working now.",
    )


@clinic_page(write_roles=ADMINS)
@require_POST
def member_reactivate(request, pk):
    member = _managed_member(request, pk)
    outcome = call_service(
        None,
        services.membership_reactivate,
        tenant=request.tenant,
        actor=request.user,
        membership=member,
    )
    return _finish(request, outcome, f"{member.user.get_full_name()} is active again.")


def _invitation(request, pk) -> Invitation:
    invitation = get_object_or_404(Invitation.objects.select_related("membership__user"), pk=pk)
    if not may_manage_member(request.membership, invitation.membership):
        raise PermissionDenied("You cannot change this invitation.")
    return invitation


@clinic_page(write_roles=ADMINS)
@require_POST
def invitation_resend(request, pk):
    invitation = _invitation(request, pk)
    outcome = call_service(
        None,
        services.invitation_resend,
        tenant=request.tenant,
        actor=request.user,
        invitation=invitation,
    )
    return _finish(request, outcome, f"A new invitation link was sent to {invitation.email}.")


@clinic_page(write_roles=ADMINS)
@require_POST
def invitation_revoke(request, pk):
    invitation = _invitation(request, pk)
    outcome = call_service(
        None,
        services.invitation_revoke,
        tenant=request.tenant,
        actor=request.user,
        invitation=invitation,
    )
    return _finish(
        request, outcome, f"The invitation for {invitation.email} is revoked; its link is dead."
    )
