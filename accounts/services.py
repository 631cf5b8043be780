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

from accounts.invitation_limits import invitation_send_check
from accounts.models import ADMIN_ROLES, Invitation, Membership, Role, User, normalize_email
from accounts.selectors import active_membership, memberships_of
from core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from tenants.audit import audit_record
from tenants.context import tenant_context, user_context
from tenants.models import Tenant
from tenants.outbox import send_templated_email

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
        # Uniqueness is left to the database (below): checking it here would only race with
        # a second sign-up, and its loser would get the constraint's own message.
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
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
        # The unique index decides (two signups with one e-mail at the same moment), inside
        # a savepoint so the loser's transaction goes on without a partial write.
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError as exc:
        if _violated_constraint(exc) in EMAIL_UNIQUE_CONSTRAINTS:
            raise email_taken_error() from exc
        raise
    return user


# The case-insensitive unique index and the column's own unique constraint.
EMAIL_UNIQUE_CONSTRAINTS = frozenset({"user_email_ci_unique", "accounts_user_email_key"})


def _violated_constraint(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) or ""


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
        # Through the credentials function: the runtime role cannot write the flag itself.
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
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


@transaction.atomic
def password_reset_request(*, email: str) -> None:
    """Queue a reset link when the account exists, and a "no account uses this address"
    notice when it does not. Both paths do the same work (one read, one e-mail rendered and
    queued in the outbox, nothing sent during the request), so neither the answer nor its
    timing tells whether an account exists."""
    address = normalize_email(email)
    user = User.objects.filter(email=address, is_active=True).first()
    if user is None or not user.has_usable_password():
        send_templated_email("password-reset-unknown", to=address, context={"email": address})
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
#
# One rule for people in a clinic (issue 12, items 1 to 3), enforced here so that the API,
# the pages, the admin and the commands cannot differ:
#
# * Inviting an e-mail creates an invitation and nothing else: no person, no membership, and
#   never a look-up of whether the address has an account, so the answer (and its timing) is
#   the same for every address. The person joins only by accepting.
# * Only an owner grants or removes the owner role (and manages another owner); nobody
#   changes their own role or deactivates themself; a clinic always keeps an active owner.
#   Every change locks the clinic's row first, so two owners demoting each other at once
#   cannot both succeed.

ALL_ROLES = frozenset(Role.values)
ADMIN_GRANTABLE = frozenset({Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.RECEPTIONIST})


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


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


def grantable_roles(*, actor_membership: Membership | None) -> frozenset[str]:
    """The roles a member may give (invite with, or change a member to).

    None stands for platform operations (commands, operators), which may give any role. An
    owner gives any role; an admin any but owner; everybody else none.
    """
    if actor_membership is None:
        return ALL_ROLES
    if actor_membership.role == Role.OWNER:
        return ALL_ROLES
    if actor_membership.role == Role.ADMIN:
        return ADMIN_GRANTABLE
    return frozenset()


def _acting_membership(actor: User | None) -> Membership | None:
    """The actor's active membership in the clinic in context, which must be an owner's or
    an admin's; None for platform operations (no actor, or a platform operator who is not a
    member of this clinic)."""
    if actor is None:
        return None
    membership = Membership.objects.filter(user_id=actor.pk, is_active=True).first()
    if membership is None and actor.is_superuser and actor.is_staff:
        return None
    if membership is None or membership.role not in ADMIN_ROLES:
        raise PermissionDeniedError(
            "Only the clinic's owners and admins manage its team.", code="not_team_manager"
        )
    return membership


def _check_may_manage(
    actor: User | None, acting: Membership | None, target_role: str, target_user_id=None
):
    if actor is not None and target_user_id is not None and target_user_id == actor.pk:
        raise PermissionDeniedError(
            "You cannot change your own membership; ask another owner.", code="self_change"
        )
    if target_role == Role.OWNER and acting is not None and acting.role != Role.OWNER:
        raise PermissionDeniedError(
            "Only an owner can change an owner's membership.", code="owner_only"
        )


def _check_may_grant(acting: Membership | None, role: str) -> None:
    if role not in Role.values:
        raise ApplicationError("Unknown role.", field_errors={"role": ["Unknown role."]})
    if role not in grantable_roles(actor_membership=acting):
        raise PermissionDeniedError(
            "Only an owner can give the owner role.",
            code="owner_only",
            field_errors={"role": ["You cannot give this role."]},
        )


def _lock_clinic(tenant: Tenant) -> None:
    from tenants.services import tenant_lock

    tenant_lock(tenant)


def _ensure_not_last_owner(membership: Membership) -> None:
    """Call with the clinic's row locked, so the count cannot change under us."""
    if membership.role == Role.OWNER and membership.is_active:
        owners = Membership.objects.filter(role=Role.OWNER, is_active=True).count()
        if owners <= 1:
            raise ApplicationError("A clinic needs at least one active owner.", code="last_owner")


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
            secret_hash=_secret_hash(secret),
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
member_invite = invitation_create


def _invalid_invitation() -> ApplicationError:
    return ApplicationError(
        "This invitation link is invalid, expired or already used.", code="invalid_token"
    )


def _invitation_from_token(token: str) -> Invitation:
    try:
        tenant_id, invitation_id, secret = str(token).split(".", 2)
        tenant_id, invitation_id = uuid.UUID(tenant_id), uuid.UUID(invitation_id)
    except (ValueError, AttributeError) as exc:
        raise _invalid_invitation() from exc
    # The clinic id only scopes the lookup (row-level security); the secret authenticates.
    with tenant_context(tenant_id):
        invitation = Invitation.objects.select_related("tenant").filter(pk=invitation_id).first()
    if (
        invitation is None
        or not hmac.compare_digest(invitation.secret_hash, _secret_hash(secret))
        or not invitation.is_pending
        or invitation.tenant.status == Tenant.Status.CANCELLED
    ):
        raise _invalid_invitation()
    return invitation


def invitation_preview(*, token: str) -> Invitation:
    """The open invitation a link names (for the page that link opens), or `invalid_token`."""
    return _invitation_from_token(token)


def _invitation_join(*, invitation: Invitation, user: User) -> Membership:
    """Turn an open invitation into the person's membership (inside a transaction). A doctor
    profile that waited on the invitation is the clinic layer's to claim
    (`clinics.services.invitation_accept`)."""
    with tenant_context(invitation.tenant_id, user=user):
        locked = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
        if locked is None or not locked.is_pending or locked.email != user.email:
            raise _invalid_invitation()
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
    from accounts.selectors import person_by_email

    invitation = _invitation_from_token(token)
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
        User.objects.filter(pk=user.pk).update(email_verified_at=timezone.now())
        user.refresh_from_db()
        return _invitation_join(invitation=invitation, user=user)


def _own_invitation(*, user: User, invitation_id) -> Invitation:
    """An open invitation addressed to the signed-in person (any clinic), or 404."""
    from accounts.selectors import invitation_for_person

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
    invitation = _invitation_from_token(token)
    with tenant_context(invitation.tenant_id):
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not locked.is_open:
            raise _invalid_invitation()
        _invitation_close(locked, field="declined_at")
        audit_record(action="membership.invitation_declined", object=locked)
    return locked


@transaction.atomic
def invitation_decline_signed_in(*, user: User, invitation_id) -> Invitation:
    invitation = _own_invitation(user=user, invitation_id=invitation_id)
    with tenant_context(invitation.tenant_id, user=user):
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not locked.is_open:
            raise _invalid_invitation()
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
        invitation.secret_hash = _secret_hash(secret)
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


def _managed_membership(actor: User | None, membership: Membership):
    acting = _acting_membership(actor)
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    _check_may_manage(actor, acting, locked.role, locked.user_id)
    return acting, locked


@transaction.atomic
def membership_deactivate(
    *, tenant: Tenant, actor: User | None, membership: Membership
) -> Membership:
    """The person's sessions and tokens for this clinic stop working at the next request
    (every request checks the membership). The doctor profile is the clinic layer's
    (`clinics.services.membership_deactivate`)."""
    with tenant_context(tenant):
        _lock_clinic(tenant)
        _acting, membership = _managed_membership(actor, membership)
        _ensure_not_last_owner(membership)
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        audit_record(action="membership.deactivated", actor=actor, object=membership)
    return membership


@transaction.atomic
def membership_reactivate(
    *, tenant: Tenant, actor: User | None, membership: Membership
) -> Membership:
    """The person's access returns; the doctor profile, within the plan's doctor limit, is
    the clinic layer's (`clinics.services.membership_reactivate`)."""
    with tenant_context(tenant):
        _lock_clinic(tenant)
        _acting, membership = _managed_membership(actor, membership)
        membership.is_active = True
        membership.save(update_fields=["is_active"])
        audit_record(action="membership.reactivated", actor=actor, object=membership)
    return membership


@transaction.atomic
def membership_role_change(
    *,
    tenant: Tenant,
    actor: User | None,
    membership: Membership,
    role: str,
    has_doctor_profile: bool,
) -> Membership:
    """Give a member another role, under the one rule for roles (see above). "Doctor" needs
    a doctor profile in the clinic (with its licence, counted against the doctor limit), which
    the caller looks up (`clinics.services.membership_role_change`)."""
    with tenant_context(tenant):
        _lock_clinic(tenant)
        acting, membership = _managed_membership(actor, membership)
        _check_may_grant(acting, role)
        if role == membership.role:
            return membership
        if role == Role.DOCTOR and not has_doctor_profile:
            raise ApplicationError(
                "Only a member with a doctor profile can be a doctor; invite them as a doctor.",
                code="doctor_profile_required",
                field_errors={"role": ["This member has no doctor profile."]},
            )
        if membership.role == Role.OWNER:
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
