"""Signing in (the login page, the API's token, the operators' admin login) and working
in one clinic: the membership a session or token acts through."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils import timezone

from accounts.errors import InvalidCredentials, LockedOut
from accounts.models import Membership, User, normalize_email
from accounts.selectors import active_membership, invitations_for_person, memberships_of
from accounts.two_factor import two_factor_check, two_factor_setup_confirm
from core.errors import NotFoundError, PermissionDeniedError
from tenants.audit import audit_record
from tenants.context import tenant_context, user_context


def auth_login(
    *,
    request,
    email: str,
    password: str,
    tenant_id=None,
    otp: str | None = None,
    invitations_only: bool = False,
) -> Membership | User:
    """Check the credentials (with django-axes brute-force protection), pick the clinic (the
    one asked for, or the most recently used) and check the second factor.

    A person in no active clinic yet who has open invitations (an existing account invited
    elsewhere, say) gets `no_clinic` from the API, whose tokens always act for a clinic. The
    login page passes `invitations_only`: such a person is then signed in without a clinic,
    far enough to accept or decline those invitations, and the answer is the person (with
    `second_factor`) instead of a membership.

    Raises `accounts.two_factor.OTPRequired` / `OTPInvalid` / `OTPSetupRequired` when the
    person needs a code this call did not give (or gave wrongly); the login page continues
    with `auth_login_second_step`. The answer's `second_factor` says whether a code was given
    (tokens carry it, so a refresh cannot sidestep a later requirement).
    """
    user = authenticate(request, username=normalize_email(email), password=password)
    if getattr(request, "axes_locked_out", False):
        audit_record(action="auth.locked_out", request=request, details={"email": email})
        raise LockedOut("Too many failed attempts. Try again later or reset your password.")
    if user is None:
        audit_record(action="auth.login_failed", request=request, details={"email": email})
        raise InvalidCredentials()
    if tenant_id:
        membership = active_membership(user=user, tenant_id=tenant_id)
        if membership is None:
            raise PermissionDeniedError(
                "You are not an active member of that clinic.", code="not_a_member"
            )
    else:
        memberships = memberships_of(user)
        if not memberships:
            if invitations_only and _has_open_invitations(user):
                return _login_invitations_only(request=request, user=user, otp=otp)
            raise PermissionDeniedError(
                "This account does not belong to any active clinic.", code="no_clinic"
            )
        membership = memberships[0]
    return _login_complete(request=request, user=user, membership=membership, otp=otp)


def _has_open_invitations(user: User) -> bool:
    return bool(invitations_for_person(user=user))


def _login_invitations_only(
    *, request, user: User, otp: str | None, setup_code: str | None = None
) -> User:
    """Sign a person with no clinic in, with the same second-factor check as any sign-in
    (no clinic's requirement applies: they belong to none yet), for their invitations only."""
    status, codes = _second_factor(
        request=request, user=user, door="clinic", otp=otp, setup_code=setup_code
    )
    if codes is not None:
        user.new_recovery_codes = codes
    with user_context(user):
        audit_record(
            action="auth.login",
            actor=user,
            request=request,
            details={"second_factor": status.verified, "clinic": None},
        )
    user.second_factor = status
    return user


def _second_factor(
    *,
    request,
    user: User,
    door: str,
    otp: str | None,
    setup_code: str | None,
    membership: Membership | None = None,
):
    """Check the code; or sign in by setting the second factor up (required, none yet): the
    code from the new device proves it works. Answers the status and the new recovery codes,
    which go back to the page to be shown once (None without a set-up)."""
    codes = None
    if setup_code is not None:
        codes = two_factor_setup_confirm(user=user, code=setup_code, request=request)
    status = two_factor_check(
        request=request,
        user=user,
        membership=membership,
        code=None if setup_code is not None else otp,
        door=door,
        just_enrolled=setup_code is not None,
    )
    return status, codes


def _login_complete(
    *, request, user: User, membership: Membership, otp: str | None, setup_code: str | None = None
):
    status, codes = _second_factor(
        request=request,
        user=user,
        membership=membership,
        door="clinic",
        otp=otp,
        setup_code=setup_code,
    )
    if codes is not None:
        membership.new_recovery_codes = codes
    membership_touch(membership=membership)
    with tenant_context(membership.tenant_id, user=user):
        audit_record(
            action="auth.login",
            actor=user,
            request=request,
            details={"second_factor": status.verified},
        )
    membership.second_factor = status
    return membership


def auth_login_second_step(
    *, request, user_id, tenant_id, otp: str | None = None, setup_code: str | None = None
) -> Membership | User:
    """The login page's second step: the password was checked moments ago (the page keeps
    who in the session, never the password); check the code, or confirm a new device with
    `setup_code`, and finish the sign-in. No clinic (`tenant_id` empty): the sign-in of a
    person with open invitations only (see auth_login), answered with the person."""
    with user_context(user_id):
        user = User.objects.filter(pk=user_id, is_active=True).first()
    without_clinic = user is not None and not tenant_id and not memberships_of(user)
    if without_clinic and _has_open_invitations(user):
        return _login_invitations_only(request=request, user=user, otp=otp, setup_code=setup_code)
    membership = active_membership(user=user, tenant_id=tenant_id) if user else None
    if membership is None:
        raise PermissionDeniedError(
            "You are not an active member of that clinic.", code="not_a_member"
        )
    return _login_complete(
        request=request, user=user, membership=membership, otp=otp, setup_code=setup_code
    )


def operator_login_second_step(
    *, request, user_id, otp: str | None = None, setup_code: str | None = None
) -> User:
    """The operator login's second step (see auth_login_second_step)."""
    with user_context(user_id):
        user = User.objects.filter(
            pk=user_id, is_active=True, is_staff=True, is_superuser=True
        ).first()
    if user is None:
        raise InvalidCredentials()
    status, codes = _second_factor(
        request=request, user=user, door="admin", otp=otp, setup_code=setup_code
    )
    if codes is not None:
        user.new_recovery_codes = codes
    audit_record(
        action="auth.operator_login",
        actor=user,
        request=request,
        details={"second_factor": status.verified},
    )
    user.second_factor = status
    return user


def operator_login(*, request, email: str, password: str, otp: str | None = None) -> User:
    """Check a platform operator's credentials (an active staff superuser, who belongs to no
    clinic and so cannot use the clinic login) and second factor. Anybody else gets the answer
    of a wrong password, and counts as a failed attempt, so this door tells nothing about
    accounts."""
    from django.contrib.auth.signals import user_login_failed

    user = authenticate(request, username=normalize_email(email), password=password)
    if getattr(request, "axes_locked_out", False):
        audit_record(action="auth.locked_out", request=request, details={"email": email})
        raise LockedOut("Too many failed attempts. Try again later or reset your password.")
    if user is not None and not (user.is_active and user.is_staff and user.is_superuser):
        user_login_failed.send(
            sender=__name__, credentials={"username": normalize_email(email)}, request=request
        )
        user = None
    if user is None:
        audit_record(
            action="auth.login_failed", request=request, details={"email": email, "door": "admin"}
        )
        raise InvalidCredentials()
    status = two_factor_check(request=request, user=user, membership=None, code=otp, door="admin")
    audit_record(
        action="auth.operator_login",
        actor=user,
        request=request,
        details={"second_factor": status.verified},
    )
    user.second_factor = status
    return user


def membership_touch(*, membership: Membership) -> None:
    """Remember the clinic a person last used (the default at the next login)."""
    with tenant_context(membership.tenant_id, user=membership.user):
        Membership.objects.filter(pk=membership.pk).update(last_used_at=timezone.now())


def clinic_switch(*, user: User, tenant_id) -> Membership:
    membership = active_membership(user=user, tenant_id=tenant_id)
    if membership is None:
        # The same answer for a clinic that does not exist and one the person is not in.
        raise NotFoundError("You are not an active member of that clinic.", code="not_a_member")
    membership_touch(membership=membership)
    return membership
