"""Write operations on people, memberships and credentials.

The API, the pages and the admin call these; none of them writes these models directly.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import Invitation, Membership, Role, User, normalize_email
from accounts.selectors import active_membership, memberships_of
from clinic_saas.email import send_templated_email
from clinic_saas.errors import ApplicationError, NotFoundError, PermissionDeniedError
from tenants.audit import audit_record
from tenants.context import tenant_context, user_context
from tenants.models import Tenant

INVITATION_DAYS = 7
EMAIL_VERIFICATION_SALT = "accounts.email-verification"
EMAIL_VERIFICATION_MAX_AGE = 60 * 60 * 24 * 7


class InvalidCredentials(ApplicationError):
    status_code = 401
    code = "invalid_credentials"

    def __init__(self):
        # One message for an unknown e-mail and a wrong password: no account enumeration.
        super().__init__("E-mail or password is incorrect.")


class LockedOut(ApplicationError):
    status_code = 429
    code = "locked_out"


def _field_errors(exc: ValidationError, field: str) -> dict:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {field: list(exc.messages)}


def check_password_strength(password: str, *, user: User | None = None) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ApplicationError(
            "Choose a stronger password.",
            code="weak_password",
            field_errors={"password": list(exc.messages)},
        ) from exc


# --- people -------------------------------------------------------------------------------


def user_create(
    *,
    email: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
) -> User:
    """Create a person. A None password leaves it unusable (invited people set their own)."""
    user = User(
        email=normalize_email(email), first_name=first_name, last_name=last_name, phone=phone
    )
    try:
        user.full_clean(exclude=["password"], validate_unique=False)
    except ValidationError as exc:
        raise ApplicationError(
            "Some fields are invalid.", field_errors=_field_errors(exc, "email")
        ) from exc
    if password is None:
        user.set_unusable_password()
    else:
        check_password_strength(password, user=user)
        user.set_password(password)
    try:
        # The unique index decides (two signups with one e-mail at the same moment).
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError as exc:
        raise email_taken_error() from exc
    return user


def email_taken_error() -> ApplicationError:
    return ApplicationError(
        "An account with this e-mail already exists; log in and add the clinic from there.",
        code="email_taken",
        field_errors={"email": ["An account with this e-mail already exists."]},
    )


def tokens_revoke_all(*, user: User) -> None:
    """Every token of the person stops working: access tokens through the version claim,
    refresh tokens through the blacklist as well."""
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )


@transaction.atomic
def user_staff_set(*, user: User, actor: User | None, is_staff: bool) -> User:
    """Grant or take away access to the admin (platform operators only). A clinic's owners and
    admins flagged as staff see that clinic's records there; nobody else sees anything."""
    if actor is not None and actor.pk == user.pk:
        raise ApplicationError("You cannot change your own admin access.", code="self_change")
    if user.is_superuser and not is_staff:
        raise ApplicationError(
            "A platform operator keeps admin access; remove the operator role first.",
            code="operator_account",
        )
    if user.is_staff != is_staff:
        User.objects.filter(pk=user.pk).update(is_staff=is_staff)
        user.is_staff = is_staff
        audit_record(
            action="user.staff_granted" if is_staff else "user.staff_revoked",
            actor=actor,
            object=user,
        )
    return user


@transaction.atomic
def user_active_set(*, user: User, actor: User | None, is_active: bool) -> User:
    """Lock or unlock a person's account everywhere. Locking revokes every token at once and
    ends their sessions at the next request (sessions check `is_active`)."""
    if actor is not None and actor.pk == user.pk:
        raise ApplicationError("You cannot lock your own account.", code="self_change")
    if user.is_active != is_active:
        User.objects.filter(pk=user.pk).update(is_active=is_active)
        user.is_active = is_active
        if not is_active:
            tokens_revoke_all(user=user)
        audit_record(
            action="user.reactivated" if is_active else "user.deactivated",
            actor=actor,
            object=user,
        )
    return user


# --- login and tokens -----------------------------------------------------------------------


def auth_login(
    *, request, email: str, password: str, tenant_id=None, otp: str | None = None
) -> Membership:
    """Check the credentials (with django-axes brute-force protection), pick the clinic (the
    one asked for, or the most recently used) and check the second factor.

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
            raise PermissionDeniedError(
                "This account does not belong to any active clinic.", code="no_clinic"
            )
        membership = memberships[0]
    return _login_complete(request=request, user=user, membership=membership, otp=otp)


def _login_complete(
    *, request, user: User, membership: Membership, otp: str | None, setup_code: str | None = None
):
    from accounts.two_factor import two_factor_check, two_factor_setup_confirm

    if setup_code is not None:
        # Signing in by setting the second factor up (required, none yet): the code from the
        # new device proves it works, and the recovery codes go back to the page, shown once.
        codes = two_factor_setup_confirm(user=user, code=setup_code, request=request)
        status = two_factor_check(
            request=request,
            user=user,
            membership=membership,
            code=None,
            door="clinic",
            just_enrolled=True,
        )
        membership.new_recovery_codes = codes
    else:
        status = two_factor_check(
            request=request, user=user, membership=membership, code=otp, door="clinic"
        )
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
) -> Membership:
    """The login page's second step: the password was checked moments ago (the page keeps
    who in the session, never the password); check the code, or confirm a new device with
    `setup_code`, and finish the sign-in."""
    with user_context(user_id):
        user = User.objects.filter(pk=user_id, is_active=True).first()
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
    from accounts.two_factor import two_factor_check, two_factor_setup_confirm

    with user_context(user_id):
        user = User.objects.filter(
            pk=user_id, is_active=True, is_staff=True, is_superuser=True
        ).first()
    if user is None:
        raise InvalidCredentials()
    if setup_code is not None:
        user.new_recovery_codes = two_factor_setup_confirm(
            user=user, code=setup_code, request=request
        )
        status = two_factor_check(
            request=request, user=user, code=None, door="admin", just_enrolled=True
        )
    else:
        status = two_factor_check(request=request, user=user, code=otp, door="admin")
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

    from accounts.two_factor import two_factor_check

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


def switch_tenant(*, user: User, tenant_id) -> Membership:
    membership = active_membership(user=user, tenant_id=tenant_id)
    if membership is None:
        # The same answer for a clinic that does not exist and one the person is not in.
        raise NotFoundError("You are not an active member of that clinic.", code="not_a_member")
    membership_touch(membership=membership)
    return membership


# --- passwords ------------------------------------------------------------------------------


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise ApplicationError(
            "The current password is not correct.",
            code="wrong_password",
            field_errors={"old_password": ["The current password is not correct."]},
        )
    check_password_strength(new_password, user=user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    tokens_revoke_all(user=user)
    audit_record(action="auth.password_changed", actor=user)


def password_reset_request(*, email: str) -> None:
    """Send a reset link when the account exists; the caller answers the same either way."""
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    send_templated_email(
        "password-reset",
        to=user.email,
        context={"user": user, "uid": uid, "token": token, "path": f"/reset/{uid}/{token}/"},
    )


def _user_from_uid(uid: str) -> User | None:
    try:
        pk = uuid.UUID(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError):
        return None
    return User.objects.filter(pk=pk, is_active=True).first()


def password_reset_link_valid(*, uid: str, token: str) -> bool:
    """Whether a reset link still works, without using it: the page checks it before asking
    for a new password, so nobody types one for a dead link."""
    user = _user_from_uid(uid)
    return user is not None and default_token_generator.check_token(user, token)


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    user = _user_from_uid(uid)
    if user is None or not default_token_generator.check_token(user, token):
        raise ApplicationError(
            "This reset link is invalid or has already been used.", code="invalid_token"
        )
    check_password_strength(new_password, user=user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    tokens_revoke_all(user=user)
    audit_record(action="auth.password_reset", actor=user)
    return user


# --- e-mail verification -------------------------------------------------------------------


def email_verification_send(*, user: User) -> None:
    token = signing.dumps({"user": str(user.pk), "email": user.email}, salt=EMAIL_VERIFICATION_SALT)
    send_templated_email(
        "verify-email",
        to=user.email,
        context={"user": user, "token": token, "path": f"/verify-email/{token}/"},
    )


@transaction.atomic
def email_verification_confirm(*, token: str) -> User:
    try:
        data = signing.loads(
            token, salt=EMAIL_VERIFICATION_SALT, max_age=EMAIL_VERIFICATION_MAX_AGE
        )
        user = User.objects.get(pk=uuid.UUID(data["user"]), email=data["email"])
    except (signing.BadSignature, KeyError, ValueError, TypeError, User.DoesNotExist) as exc:
        raise ApplicationError(
            "This verification link is invalid or has expired.", code="invalid_token"
        ) from exc
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


# --- memberships and invitations ------------------------------------------------------------


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _invitation_token(invitation: Invitation, secret: str) -> str:
    return f"{invitation.tenant_id}.{invitation.pk}.{secret}"


def _send_invitation(invitation: Invitation, secret: str, tenant: Tenant, actor: User | None):
    token = _invitation_token(invitation, secret)
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


def member_invite(
    *,
    tenant: Tenant,
    actor: User | None,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    allow_owner: bool = False,
) -> tuple[Membership, Invitation | None]:
    """Add a person to the clinic.

    A new person gets an inactive membership and a one-time link to set a password (no
    password ever travels over the API). A person who already has an account simply joins:
    one login, several clinics. Only platform operations (`manage.py create_tenant`) pass
    `allow_owner`: clinics add owners through signup, never through an invitation.
    """
    if role not in Role.values or (role == Role.OWNER and not allow_owner):
        raise ApplicationError(
            "Choose admin, doctor, nurse or receptionist.",
            field_errors={"role": [f"{role!r} is not a role that can be invited."]},
        )
    email = normalize_email(email)
    existing = User.objects.filter(email=email).first()
    with tenant_context(tenant):
        if existing and Membership.objects.filter(user=existing).exists():
            raise ApplicationError(
                "This person is already a member of the clinic.",
                code="already_member",
                field_errors={"email": ["Already a member of this clinic."]},
            )
        if existing is not None:
            membership = Membership.objects.create(user=existing, role=role, is_active=True)
            send_templated_email(
                "added-to-clinic",
                to=existing.email,
                context={"user": existing, "clinic": tenant, "role": membership.get_role_display()},
            )
            audit_record(
                action="membership.added",
                actor=actor,
                object=membership,
                details={"email": email, "role": role},
            )
            return membership, None

        user = user_create(
            email=email, password=None, first_name=first_name, last_name=last_name, phone=phone
        )
        membership = Membership.objects.create(user=user, role=role, is_active=False)
        secret = secrets.token_urlsafe(32)
        invitation = Invitation.objects.create(
            membership=membership,
            email=email,
            role=role,
            secret_hash=_secret_hash(secret),
            invited_by=actor,
            expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
        )
        _send_invitation(invitation, secret, tenant, actor)
        audit_record(
            action="membership.invited",
            actor=actor,
            object=membership,
            details={"email": email, "role": role},
        )
        return membership, invitation


def _invitation_from_token(token: str) -> Invitation:
    invalid = ApplicationError(
        "This invitation link is invalid, expired or already used.", code="invalid_token"
    )
    try:
        tenant_id, invitation_id, secret = str(token).split(".", 2)
        tenant_id, invitation_id = uuid.UUID(tenant_id), uuid.UUID(invitation_id)
    except (ValueError, AttributeError) as exc:
        raise invalid from exc
    # The clinic id only scopes the lookup (row-level security); the secret authenticates.
    with tenant_context(tenant_id):
        invitation = (
            Invitation.objects.select_related("membership__user", "tenant")
            .filter(pk=invitation_id)
            .first()
        )
    if (
        invitation is None
        or not hmac.compare_digest(invitation.secret_hash, _secret_hash(secret))
        or not invitation.is_pending
    ):
        raise invalid
    return invitation


def invitation_preview(*, token: str) -> Invitation:
    return _invitation_from_token(token)


@transaction.atomic
def invitation_accept(
    *, token: str, password: str, first_name: str | None = None, last_name: str | None = None
) -> Membership:
    invitation = _invitation_from_token(token)
    membership = invitation.membership
    user = membership.user
    if first_name:
        user.first_name = first_name
    if last_name:
        user.last_name = last_name
    check_password_strength(password, user=user)
    user.set_password(password)
    # The link arrived by e-mail, so following it proves the address.
    user.email_verified_at = user.email_verified_at or timezone.now()
    user.save()
    with tenant_context(invitation.tenant_id, user=user):
        Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now())
        Membership.objects.filter(pk=membership.pk).update(
            is_active=True, last_used_at=timezone.now()
        )
        audit_record(action="membership.accepted", actor=user, object=membership)
        return Membership.objects.select_related("user", "tenant").get(pk=membership.pk)


def invitation_resend(*, tenant: Tenant, actor: User, invitation: Invitation) -> Invitation:
    if invitation.accepted_at or invitation.revoked_at:
        raise ApplicationError("This invitation is no longer open.", code="invitation_closed")
    secret = secrets.token_urlsafe(32)
    with tenant_context(tenant):
        invitation.secret_hash = _secret_hash(secret)
        invitation.expires_at = timezone.now() + timedelta(days=INVITATION_DAYS)
        invitation.last_sent_at = timezone.now()
        invitation.send_count += 1
        invitation.save()
        _send_invitation(invitation, secret, tenant, actor)
        audit_record(action="membership.invitation_resent", actor=actor, object=invitation)
    return invitation


def invitation_revoke(*, tenant: Tenant, actor: User, invitation: Invitation) -> None:
    with tenant_context(tenant):
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        membership_deactivate(tenant=tenant, actor=actor, membership=invitation.membership)


def _ensure_not_last_owner(membership: Membership) -> None:
    if membership.role == Role.OWNER:
        owners = Membership.objects.filter(role=Role.OWNER, is_active=True).count()
        if owners <= 1:
            raise ApplicationError("A clinic needs at least one active owner.", code="last_owner")


def membership_deactivate(*, tenant: Tenant, actor: User, membership: Membership) -> Membership:
    """The person's sessions and tokens for this clinic stop working at the next request
    (every request checks the membership); a doctor's seat is freed."""
    from clinical.models import Doctor

    with tenant_context(tenant):
        _ensure_not_last_owner(membership)
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        Doctor.objects.filter(user_id=membership.user_id).update(is_active=False)
        audit_record(action="membership.deactivated", actor=actor, object=membership)
    return membership


def membership_reactivate(*, tenant: Tenant, actor: User, membership: Membership) -> Membership:
    from clinical.services import doctor_seat_check

    with tenant_context(tenant):
        from clinical.models import Doctor

        if Doctor.objects.filter(user_id=membership.user_id).exists():
            doctor_seat_check(tenant=tenant)
            Doctor.objects.filter(user_id=membership.user_id).update(is_active=True)
        membership.is_active = True
        membership.save(update_fields=["is_active"])
        audit_record(action="membership.reactivated", actor=actor, object=membership)
    return membership


def membership_role_change(
    *, tenant: Tenant, actor: User, membership: Membership, role: str
) -> Membership:
    if role not in Role.values:
        raise ApplicationError("Unknown role.", field_errors={"role": ["Unknown role."]})
    with tenant_context(tenant):
        if membership.role == Role.OWNER and role != Role.OWNER:
            _ensure_not_last_owner(membership)
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(
            action="membership.role_changed",
            actor=actor,
            object=membership,
            details={"from": old, "to": role},
        )
    return membership


# --- refresh and logout ---------------------------------------------------------------------


class InvalidToken(ApplicationError):
    status_code = 401
    code = "token_not_valid"


def _verified_refresh(raw: str):
    from rest_framework_simplejwt.exceptions import TokenError
    from rest_framework_simplejwt.tokens import RefreshToken

    try:
        return RefreshToken(raw)
    except TokenError as exc:
        raise InvalidToken("This refresh token is invalid, expired or already used.") from exc


@transaction.atomic
def token_refresh(*, refresh: str) -> dict[str, str]:
    """Rotate a refresh token: blacklist it and issue a new pair for the same clinic.

    The outstanding-token row is locked first, so when one refresh token is sent many times
    at once exactly one request gets a new pair. The membership is checked again, and the
    new pair carries the person's current role.
    """
    from rest_framework_simplejwt.settings import api_settings

    from accounts.tokens import issue_tokens

    token = _verified_refresh(refresh)
    outstanding = (
        OutstandingToken.objects.select_for_update(of=("self",))
        .filter(jti=token[api_settings.JTI_CLAIM])
        .order_by()
        .first()
    )
    if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
        raise InvalidToken("This refresh token is invalid, expired or already used.")
    user = User.objects.filter(pk=token.get("user_id"), is_active=True).first()
    if user is None or token.get("ver") != user.token_version:
        raise InvalidToken("This refresh token was revoked; log in again.", code="token_revoked")
    membership = active_membership(user=user, tenant_id=token.get("tenant_id"))
    if membership is None:
        raise InvalidToken(
            "You are no longer an active member of this clinic.", code="membership_inactive"
        )
    # A refresh continues a sign-in without a password: it may not outlive a second factor
    # the person needs now (turned on, required by the clinic, grace period over) and this
    # sign-in never gave.
    from accounts.two_factor import OTPRequired, two_factor_require_verified

    try:
        two_factor_require_verified(
            user=user, membership=membership, verified=bool(token.get("mfa"))
        )
    except OTPRequired as exc:
        raise InvalidToken(exc.detail, code="otp_required") from exc
    BlacklistedToken.objects.create(token=outstanding)
    return issue_tokens(membership, mfa=bool(token.get("mfa")))


def token_blacklist(*, user: User, refresh: str) -> None:
    token = _verified_refresh(refresh)
    if str(token.get("user_id")) != str(user.pk):
        raise InvalidToken("This refresh token belongs to someone else.")
    token.blacklist()
