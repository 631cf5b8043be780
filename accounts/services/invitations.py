"""Invitations with the invited person's consent (issue 12, items 1 and 2).

Inviting an e-mail creates an invitation and nothing else: no person, no membership, and
never a look-up of whether the address has an account, so the answer (and its timing) is the
same for every address. The person joins only by accepting, through the e-mailed link or
signed in. Who may invite with which role is the one rule of `accounts.services.memberships`.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.invitation_limits import invitation_send_check
from accounts.models import Invitation, Membership, Role, User, normalize_email
from accounts.selectors import (
    as_person,
    invitation_for_person,
    invitation_invalid_error,
    invitation_preview,
    invitation_secret_hash,
    person_by_email,
)
from accounts.services.memberships import (
    _acting_membership,
    _check_may_grant,
    _check_may_manage,
    _lock_clinic,
)
from accounts.services.people import _field_errors, user_create
from core.errors import ApplicationError, NotFoundError
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.outbox import send_templated_email

INVITATION_DAYS = 7


def _invitation_token(invitation: Invitation, secret: str) -> str:
    return f"{invitation.tenant_id}.{invitation.pk}.{secret}"


def _send_invitation(invitation: Invitation, secret: str, tenant: Tenant, actor: User | None):
    # One message for every address: whether the recipient already has an account is decided
    # on the page the link opens, never here (the inviting clinic must not learn it).
    token = _invitation_token(invitation, secret)
    invitation.link_token = token
    send_templated_email(
        "invitation",
        to=invitation.email,
        context={
            "clinic": tenant,
            "role": invitation.get_role_display(),
            "inviter": actor.get_full_name() if actor else tenant.name,
            "token": token,
            "path": f"/invite/{token}/",
            "expires_at": invitation.expires_at,
        },
    )


def _already_invited_error() -> ApplicationError:
    return ApplicationError(
        "This e-mail already has an open invitation; send it again from the team page.",
        code="already_invited",
        field_errors={"email": ["Already invited to this clinic."]},
    )


@transaction.atomic
def invitation_create(
    *,
    tenant: Tenant,
    actor: User | None,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    allow_owner: bool = False,
    enforce_limits: bool = True,
) -> Invitation:
    """Invite an e-mail address to the clinic: an invitation and its e-mail, nothing else.

    No person and no membership is created, and no account is looked up, so the answer is
    the same for every address. `first_name`, `last_name` and `phone` are what the clinic
    typed; it sees them (and only them) until the person accepts. Only platform operations
    (`manage.py create_tenant`) pass `allow_owner`: clinics add owners through signup or by
    an owner changing a member's role. `enforce_limits=False` skips the per-clinic and
    per-recipient e-mail limits, for platform commands that invite a whole staff at once.

    The answer carries `link_token` (the secret link, never stored) for callers that hand
    the link over themselves (the demo data, tests).
    """
    email = normalize_email(email)
    if role not in Role.values or (role == Role.OWNER and not allow_owner):
        raise ApplicationError(
            "Choose admin, doctor, nurse or receptionist.",
            field_errors={"role": [f"{role!r} is not a role that can be invited."]},
        )
    with tenant_context(tenant):
        _lock_clinic(tenant)
        acting = _acting_membership(actor)
        if not (role == Role.OWNER and allow_owner):
            _check_may_grant(acting, role)
        # Only this clinic's own members are compared: that tells the clinic nothing it
        # could not see on its team page.
        if Membership.objects.filter(user__email=email).exists():
            raise ApplicationError(
                "This person is already a member of the clinic.",
                code="already_member",
                field_errors={"email": ["Already a member of this clinic."]},
            )
        stale = (
            Invitation.objects.select_for_update()
            .filter(
                email=email,
                accepted_at__isnull=True,
                revoked_at__isnull=True,
                declined_at__isnull=True,
            )
            .first()
        )
        if stale is not None:
            if stale.is_pending:
                raise _already_invited_error()
            # An expired invitation makes way for the new one.
            _invitation_close(stale, field="revoked_at")
        if enforce_limits:
            invitation_send_check(tenant_id=tenant.pk, email=email)
        secret = secrets.token_urlsafe(32)
        invitation = Invitation(
            email=email,
            role=role,
            first_name=(first_name or "").strip(),
            last_name=(last_name or "").strip(),
            phone=(phone or "").strip(),
            secret_hash=invitation_secret_hash(secret),
            invited_by=actor,
            expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
        )
        try:
            invitation.full_clean(
                exclude=["membership", "invited_by", "secret_hash"],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as exc:
            raise ApplicationError(
                "Some fields are invalid.", field_errors=_field_errors(exc, "email")
            ) from exc
        try:
            # The partial unique index decides between two invitations sent at once.
            with transaction.atomic():
                invitation.save(force_insert=True)
        except IntegrityError as exc:
            raise _already_invited_error() from exc
        _send_invitation(invitation, secret, tenant, actor)
        audit_record(
            action="membership.invited",
            actor=actor,
            object=invitation,
            details={"email": email, "role": role},
        )
    return invitation


# The name the legacy import (tenants/legacy) called first; same function, same keywords.


def _invitation_join(*, invitation: Invitation, user: User) -> Membership:
    """Turn an open invitation into the person's membership (inside a transaction). A doctor
    profile that waited on the invitation is the clinic layer's to claim
    (`clinics.services.invitation_accept`)."""
    with tenant_context(invitation.tenant_id, user=user):
        locked = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
        if locked is None or not locked.is_pending or locked.email != user.email:
            raise invitation_invalid_error()
        if Membership.objects.filter(user=user).exists():
            raise ApplicationError(
                "You are already a member of this clinic.", code="already_member"
            )
        now = timezone.now()
        membership = Membership.objects.create(
            user=user, role=locked.role, is_active=True, last_used_at=now
        )
        locked.accepted_at = now
        locked.membership = membership
        locked.save(update_fields=["accepted_at", "membership"])
        audit_record(action="membership.accepted", actor=user, object=membership)
        return Membership.objects.select_related("user", "tenant").get(pk=membership.pk)


def invitation_accept(
    *,
    token: str,
    password: str,
    first_name: str | None = None,
    last_name: str | None = None,
    phone: str | None = None,
) -> Membership:
    """Accept through the e-mailed link as a new person: the account is created here, with
    the password they chose (following the link proves the address).

    An address that already has an account is refused with `sign_in_required`: that person
    signs in first and accepts from their invitations (`invitation_accept_signed_in`), so
    their second factor and lockouts apply. Only the holder of the secret link learns this.
    """

    invitation = invitation_preview(token=token)
    if person_by_email(invitation.email) is not None:
        raise ApplicationError(
            "You already have an account with this e-mail: log in and accept the invitation "
            "from your invitations.",
            code="sign_in_required",
            status_code=409,
        )
    with transaction.atomic():
        user = user_create(
            email=invitation.email,
            password=password,
            first_name=(first_name or "").strip() or invitation.first_name,
            last_name=(last_name or "").strip() or invitation.last_name,
            phone=invitation.phone if phone is None else phone,
        )
        with as_person(user):
            User.objects.filter(pk=user.pk).update(email_verified_at=timezone.now())
            user.refresh_from_db()
        return _invitation_join(invitation=invitation, user=user)


def _own_invitation(*, user: User, invitation_id) -> Invitation:
    """An open invitation addressed to the signed-in person (any clinic), or 404."""

    invitation = invitation_for_person(user=user, invitation_id=invitation_id)
    if invitation is None:
        raise NotFoundError("No such open invitation for you.", code="not_found")
    return invitation


@transaction.atomic
def invitation_accept_signed_in(*, user: User, invitation_id) -> Membership:
    """Accept an invitation addressed to the signed-in person's own e-mail."""
    invitation = _own_invitation(user=user, invitation_id=invitation_id)
    return _invitation_join(invitation=invitation, user=user)


def _invitation_close(invitation: Invitation, *, field: str) -> None:
    """Close an open invitation (in its clinic's context): its link dies. Nothing about the
    person remains; a doctor profile that waited on it is the clinic layer's to release."""
    setattr(invitation, field, timezone.now())
    invitation.save(update_fields=[field])


@transaction.atomic
def invitation_decline(*, token: str) -> Invitation:
    """Decline through the e-mailed link (no account needed). Answers the closed invitation."""
    invitation = invitation_preview(token=token)
    with tenant_context(invitation.tenant_id):
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not locked.is_open:
            raise invitation_invalid_error()
        _invitation_close(locked, field="declined_at")
        audit_record(action="membership.invitation_declined", object=locked)
    return locked


@transaction.atomic
def invitation_decline_signed_in(*, user: User, invitation_id) -> Invitation:
    invitation = _own_invitation(user=user, invitation_id=invitation_id)
    with tenant_context(invitation.tenant_id, user=user):
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not locked.is_open:
            raise invitation_invalid_error()
        _invitation_close(locked, field="declined_at")
        audit_record(action="membership.invitation_declined", actor=user, object=locked)
    return locked


def _managed_invitation(tenant: Tenant, actor: User | None, invitation: Invitation):
    acting = _acting_membership(actor)
    _check_may_manage(actor, acting, invitation.role)
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not locked.is_open:
        raise ApplicationError("This invitation is no longer open.", code="invitation_closed")
    return locked


@transaction.atomic
def invitation_resend(
    *, tenant: Tenant, actor: User | None, invitation: Invitation, enforce_limits: bool = True
) -> Invitation:
    """A new link (the old one dies) and a new expiry, within the e-mail limits."""
    with tenant_context(tenant):
        _lock_clinic(tenant)
        invitation = _managed_invitation(tenant, actor, invitation)
        if enforce_limits:
            invitation_send_check(tenant_id=tenant.pk, email=invitation.email)
        secret = secrets.token_urlsafe(32)
        now = timezone.now()
        invitation.secret_hash = invitation_secret_hash(secret)
        invitation.expires_at = now + timedelta(days=INVITATION_DAYS)
        invitation.last_sent_at = now
        invitation.send_count += 1
        invitation.save(update_fields=["secret_hash", "expires_at", "last_sent_at", "send_count"])
        _send_invitation(invitation, secret, tenant, actor)
        audit_record(action="membership.invitation_resent", actor=actor, object=invitation)
    return invitation


@transaction.atomic
def invitation_revoke(*, tenant: Tenant, actor: User | None, invitation: Invitation) -> Invitation:
    """The link dies; no membership ever existed, so nothing else remains."""
    with tenant_context(tenant):
        _lock_clinic(tenant)
        invitation = _managed_invitation(tenant, actor, invitation)
        _invitation_close(invitation, field="revoked_at")
        audit_record(action="membership.invitation_revoked", actor=actor, object=invitation)
    return invitation
