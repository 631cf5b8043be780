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
from accounts.models import ADMIN_ROLES, Invitation, Membership
from accounts.pages import call_service, clinic_page, is_admin
from accounts.permissions import may_manage_invitation, may_manage_member
from accounts.services import grantable_roles
from clinical.models import Doctor, Office
from clinics import services as clinic_services
from clinics.selectors import clinic_limits
from clinics.services import doctor_invite
from core.errors import PlanLimitReached, Throttled


def _member_status(membership: Membership) -> tuple[str, str]:
    """(label, badge style) of a member."""
    return ("Active", "ok") if membership.is_active else ("Deactivated", "neutral")


def _invitation_status(invitation: Invitation) -> tuple[str, str]:
    return ("Invited", "warn") if invitation.is_pending else ("Invitation expired", "bad")


def _role_form(request, member: Membership, doctor) -> forms.RoleChangeForm:
    return forms.RoleChangeForm(
        initial={"role": member.role},
        choices=forms.role_choices(
            granted=grantable_roles(actor_membership=request.membership),
            target_is_doctor=doctor is not None,
            current=member.role,
        ),
        auto_id=f"id_role_{member.pk}_%s",
    )


def _team_rows(request) -> list[dict]:
    """Members (the person's own name and e-mail) and open invitations (only what the clinic
    typed: until someone accepts, nothing about them comes from anywhere else)."""
    members = list(Membership.objects.select_related("user").order_by("created_at"))
    doctors = {d.user_id: d for d in Doctor.objects.filter(user__isnull=False)}
    doctors_invited = {d.invitation_id: d for d in Doctor.objects.filter(user__isnull=True)}
    actor = request.membership
    rows = []
    for member in members:
        label, style = _member_status(member)
        doctor = doctors.get(member.user_id)
        manageable = is_admin(request) and may_manage_member(actor, member)
        rows.append(
            {
                "key": f"member-{member.pk}",
                "member": member,
                "name": member.user.get_full_name(),
                "email": member.user.email,
                "role": member.get_role_display(),
                "doctor": doctor,
                "status": label,
                "style": style,
                "invitation": None,
                "is_me": member.pk == actor.pk,
                "manageable": manageable,
                "can_reactivate": manageable and not member.is_active,
                "role_form": _role_form(request, member, doctor)
                if manageable and member.is_active
                else None,
            }
        )
    open_invitations = Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, declined_at__isnull=True
    ).order_by("created_at")
    for invitation in open_invitations:
        label, style = _invitation_status(invitation)
        rows.append(
            {
                "key": f"invitation-{invitation.pk}",
                "member": None,
                "name": invitation.typed_name,
                "email": invitation.email,
                "role": invitation.get_role_display(),
                "doctor": doctors_invited.get(invitation.pk),
                "status": label,
                "style": style,
                "invitation": invitation,
                "is_me": False,
                "manageable": is_admin(request) and may_manage_invitation(actor, invitation),
                "can_reactivate": False,
                "role_form": None,
            }
        )
    return rows


def _team_page(request, *, doctor_form=None, staff_form=None, status=200):
    offices = list(Office.objects.filter(is_active=True))
    limits = clinic_limits(request.tenant)
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


def _refused(request, outcome, page):
    """A refused invitation: the form with the service's message, 429 with Retry-After when
    the invitation limits were reached."""
    if isinstance(outcome.error, Throttled):
        response = page(status=429)
        response["Retry-After"] = str(outcome.error.retry_after)
        return response
    return page(status=400)


@clinic_page(write_roles=ADMIN_ROLES)
@require_POST
def invite_doctor(request):
    offices = list(Office.objects.filter(is_active=True))
    form = forms.InviteDoctorForm(request.POST, offices=offices)
    if form.is_valid():
        outcome = call_service(
            form, doctor_invite, tenant=request.tenant, actor=request.user, **form.cleaned_data
        )
        if outcome.ok:
            messages.success(request, _invited_message(form.cleaned_data["email"]))
            return redirect("team")
        form.limit_reached = isinstance(outcome.error, PlanLimitReached)
        return _refused(
            request, outcome, lambda status: _team_page(request, doctor_form=form, status=status)
        )
    return _team_page(request, doctor_form=form, status=400)


@clinic_page(write_roles=ADMIN_ROLES)
@require_POST
def invite_staff(request):
    form = forms.InviteStaffForm(request.POST)
    if form.is_valid():
        outcome = call_service(
            form,
            services.invitation_create,
            tenant=request.tenant,
            actor=request.user,
            **form.cleaned_data,
        )
        if outcome.ok:
            messages.success(request, _invited_message(form.cleaned_data["email"]))
            return redirect("team")
        return _refused(
            request, outcome, lambda status: _team_page(request, staff_form=form, status=status)
        )
    return _team_page(request, staff_form=form, status=400)


def _invited_message(email: str) -> str:
    # One message for every address: whether it has an account is not the clinic's to know.
    return f"Invitation sent to {email}. They join the clinic once they accept it."


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


@clinic_page(write_roles=ADMIN_ROLES)
@require_POST
def member_role(request, pk):
    member = _managed_member(request, pk)
    is_doctor = Doctor.objects.filter(user_id=member.user_id).exists()
    form = forms.RoleChangeForm(
        request.POST,
        choices=forms.role_choices(
            granted=grantable_roles(actor_membership=request.membership),
            target_is_doctor=is_doctor,
            current=member.role,
        ),
    )
    if not form.is_valid():
        messages.error(request, "That role cannot be given here.")
        return redirect("team")
    outcome = call_service(
        None,
        clinic_services.membership_role_change,
        tenant=request.tenant,
        actor=request.user,
        membership=member,
        role=form.cleaned_data["role"],
    )
    return _finish(
        request, outcome, f"{member.user.get_full_name()} is now {member.get_role_display()}."
    )


@clinic_page(write_roles=ADMIN_ROLES)
@require_POST
def member_deactivate(request, pk):
    member = _managed_member(request, pk)
    outcome = call_service(
        None,
        clinic_services.membership_deactivate,
        tenant=request.tenant,
        actor=request.user,
        membership=member,
    )
    return _finish(
        request,
        outcome,
        f"{member.user.get_full_name()} is deactivated: their sessions and apps stop working now.",
    )


@clinic_page(write_roles=ADMIN_ROLES)
@require_POST
def member_reactivate(request, pk):
    member = _managed_member(request, pk)
    outcome = call_service(
        None,
        clinic_services.membership_reactivate,
        tenant=request.tenant,
        actor=request.user,
        membership=member,
    )
    return _finish(request, outcome, f"{member.user.get_full_name()} is active again.")


def _invitation(request, pk) -> Invitation:
    invitation = get_object_or_404(Invitation, pk=pk)
    if not may_manage_invitation(request.membership, invitation):
        raise PermissionDenied("You cannot change this invitation.")
    return invitation


@clinic_page(write_roles=ADMIN_ROLES)
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
    response = _finish(request, outcome, f"A new invitation link was sent to {invitation.email}.")
    if isinstance(outcome.error, Throttled):
        response.status_code = 429
        response["Retry-After"] = str(outcome.error.retry_after)
    return response


@clinic_page(write_roles=ADMIN_ROLES)
@require_POST
def invitation_revoke(request, pk):
    invitation = _invitation(request, pk)
    outcome = call_service(
        None,
        clinic_services.invitation_revoke,
        tenant=request.tenant,
        actor=request.user,
        invitation=invitation,
    )
    return _finish(
        request, outcome, f"The invitation for {invitation.email} is revoked; its link is dead."
    )
