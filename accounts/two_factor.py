"""Two-factor sign-in: TOTP (django-otp's `TOTPDevice`) and one-time recovery codes.

Who must use it:

* anybody who turned it on (they always give a code);
* every member of a clinic whose owner requires it (`Tenant.require_two_factor`), at once;
* owners, admins and platform operators, once `TWO_FACTOR_GRACE_DAYS` have passed since the
  requirement first applied to them (`TwoFactorState.required_since`); until then the pages
  remind them with a banner.

`two_factor_check()` is the one place that decides whether a sign-in may go on: the login
page's second step, the admin's operator login and `POST /api/v1/auth/token` all reach it
through `accounts.services.auth_login` / `operator_login`. A wrong code counts as a failed
login for django-axes (the same lockout as a wrong password), and django-otp's own throttle
slows a device after each failure as well.

Every table read here is under "personal" row-level security (only the person themself),
so each read runs in the person's own database context.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.errors import LockedOut
from accounts.models import (
    ADMIN_ROLES,
    Membership,
    RecoveryCode,
    TwoFactorState,
    User,
    normalize_email,
)
from accounts.recovery_codes import (
    normalized_code,
    recovery_code_use,
    recovery_codes_generate,
)
from core.errors import ApplicationError
from tenants.audit import audit_record
from tenants.context import tenant_context, user_context
from tenants.outbox import send_templated_email
from tenants.platform import platform_access
from tenants.services import tenant_lock

DEVICE_NAME = "Authenticator app"

# Where a page session remembers that it was signed in with a second factor.
SESSION_VERIFIED_KEY = "two_factor_verified"


class TwoFactorError(ApplicationError):
    """Raised by the check; carries the person and membership so that the login page can
    continue with its second step without asking for the password again."""

    def __init__(self, detail: str, *, user=None, membership=None, **kwargs):
        super().__init__(detail, **kwargs)
        self.user = user
        self.membership = membership


class OTPRequired(TwoFactorError):
    status_code = 401
    code = "otp_required"


class OTPInvalid(TwoFactorError):
    status_code = 401
    code = "otp_invalid"


class OTPSetupRequired(TwoFactorError):
    status_code = 403
    code = "otp_setup_required"


@dataclass(frozen=True)
class TwoFactorStatus:
    """What two-factor sign-in means for one person signing in to one clinic (or none)."""

    enabled: bool
    # Why it is required: "clinic", "role" (owner or admin), "operator", or "" (not required).
    reason: str = ""
    grace_ends_at: datetime | None = None
    # True once this sign-in gave a valid code.
    verified: bool = False

    @property
    def required(self) -> bool:
        return bool(self.reason)

    @property
    def enforced(self) -> bool:
        """Required now: the clinic asks for it, or the grace period has ended."""
        if self.reason == "clinic":
            return True
        return self.required and (
            self.grace_ends_at is not None and self.grace_ends_at <= timezone.now()
        )

    @property
    def needs_code(self) -> bool:
        """A sign-in must give a code (or set a device up first)."""
        return self.enabled or self.enforced

    @property
    def reminder(self) -> bool:
        """Required soon, not yet set up: the banner's case."""
        return self.required and not self.enabled and not self.enforced


def _grace() -> timedelta:
    return timedelta(days=settings.TWO_FACTOR_GRACE_DAYS)


def _confirmed_device(user: User) -> TOTPDevice | None:
    with user_context(user):
        return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("-id").first()


def _privileged_reason(user: User, membership: Membership | None) -> str:
    if user.is_staff and user.is_superuser:
        return "operator"
    if membership is not None and membership.role in ADMIN_ROLES:
        return "role"
    # One password opens every clinic of the person, so owning or running any clinic makes
    # the whole account privileged, whichever clinic this sign-in is for.
    # (A clinic's row is readable only in its own context, so the selector reads each.)
    from accounts.selectors import memberships_of

    owns_or_runs = bool(memberships_of(user, roles=ADMIN_ROLES))
    return "role" if owns_or_runs else ""


def _required_since(user: User, *, record: bool) -> datetime:
    """When the requirement first applied to the person: recorded the first time a sign-in
    sees it (`record`), never moved later. Unrecorded, the clock starts now."""
    now = timezone.now()
    if not record:
        since = (
            TwoFactorState.objects.filter(user_id=user.pk)
            .values_list("required_since", flat=True)
            .first()
        )
        return since or now
    state, _ = TwoFactorState.objects.get_or_create(
        user_id=user.pk, defaults={"required_since": now}
    )
    if state.required_since is None:
        state.required_since = now
        state.save(update_fields=["required_since"])
    return state.required_since


def two_factor_status(
    *, user: User, membership: Membership | None = None, record: bool = True
) -> TwoFactorStatus:
    """The person's two-factor situation for a sign-in to `membership`'s clinic (None: the
    admin's operator login, or a person with no clinic in view).

    Sign-ins `record` when the grace period started; the per-request session check does not
    write (and so costs the same few reads on every request).
    """
    # One block in the person's own context: the tables are under "personal" row-level
    # security, and the reads share one savepoint.
    with user_context(user):
        enabled = TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()
        if membership is not None and membership.tenant.require_two_factor:
            return TwoFactorStatus(enabled=enabled, reason="clinic")
        reason = _privileged_reason(user, membership)
        if not reason:
            return TwoFactorStatus(enabled=enabled)
        since = _required_since(user, record=record)
    return TwoFactorStatus(enabled=enabled, reason=reason, grace_ends_at=since + _grace())


# --- the check ------------------------------------------------------------------------------


def _credentials(user: User) -> dict:
    return {"username": user.email}


def _locked_out(request, user: User) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    if request is None:
        return False
    return getattr(request, "axes_locked_out", False) or AxesProxyHandler.is_locked(
        request, _credentials(user)
    )


def _count_failure(request, user: User, door: str) -> None:
    # django-axes listens to this signal: a wrong code counts like a wrong password, against
    # the same (e-mail, IP) lockout.
    user_login_failed.send(sender=__name__, credentials=_credentials(user), request=request)
    audit_record(
        action="auth.otp_failed",
        actor=user,
        request=request,
        details={"email": user.email, "door": door},
    )


def _verify(user: User, code: str) -> str | None:
    """Which kind of code was accepted ("totp" or "recovery"), or None."""
    code = normalized_code(code)
    if not code or len(code) > 64:
        return None
    if code.isdigit() and len(code) in (6, 8):
        with user_context(user), transaction.atomic():
            # Locked, so one code sent twice at once is accepted once (django-otp refuses a
            # time step it has already seen).
            device = (
                TOTPDevice.objects.select_for_update()
                .filter(user_id=user.pk, confirmed=True)
                .order_by("-id")
                .first()
            )
            if device is not None and device.verify_token(code):
                return "totp"
        return None
    return "recovery" if recovery_code_use(user=user, code=code) else None


def two_factor_check(
    *,
    request,
    user: User,
    membership: Membership | None = None,
    code: str | None,
    door: str,
    just_enrolled: bool = False,
) -> TwoFactorStatus:
    """Decide whether a sign-in whose password was right may go on.

    Returns the status (with `verified` when a code was accepted), or raises:
    `OTPRequired` (two-factor is on and no code was given), `OTPInvalid` (a wrong code, which
    counts as a failed login), `OTPSetupRequired` (required now, no device yet: the login page
    sets one up in the same sign-in; the API cannot show a QR code), or
    `accounts.services.LockedOut`.

    `just_enrolled` is for the sign-in that has just confirmed a new device with a code from
    it (two_factor_setup_confirm, in the same transaction): that code was the second factor.
    """
    status = two_factor_status(user=user, membership=membership)
    context = {"user": user, "membership": membership}
    if just_enrolled:
        if not status.enabled:
            raise OTPSetupRequired("Set up two-factor sign-in first.", **context)
        return replace(status, verified=True)
    if status.enabled:
        if not code:
            raise OTPRequired(
                "Enter the 6-digit code from your authenticator app, or a recovery code.",
                **context,
            )
        if _locked_out(request, user):
            raise LockedOut("Too many failed attempts. Try again later or reset your password.")
        kind = _verify(user, code)
        if kind is None:
            _count_failure(request, user, door)
            raise OTPInvalid("That code is not valid. Try the next code from your app.", **context)
        if kind == "recovery":
            audit_record(action="auth.recovery_code_used", actor=user, request=request)
        return replace(status, verified=True)
    if status.enforced:
        raise OTPSetupRequired(
            "Two-factor sign-in is required for this account: set it up on the login page, "
            "then sign in again.",
            **context,
        )
    return status


def two_factor_require_verified(
    *, user: User, membership: Membership | None, verified: bool
) -> TwoFactorStatus:
    """For what continues a sign-in without a password (token refresh, switching clinic, an
    open browser session): refuse when the person now needs a second factor that this sign-in
    never gave, e.g. the clinic started requiring it or the grace period ended."""
    status = two_factor_status(user=user, membership=membership)
    if not verified and status.needs_code:
        raise OTPRequired(
            "Two-factor sign-in is required: sign in again with your code.",
            user=user,
            membership=membership,
        )
    return replace(status, verified=verified)


# --- setting it up and turning it off ---------------------------------------------------------


def _notify(user: User, change: str) -> None:
    """Tell the person by e-mail: when it was not them, their password is known to someone."""

    send_templated_email(
        "two-factor-changed", to=user.email, context={"user": user, "change": change}
    )


@transaction.atomic
def two_factor_setup_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed device (its secret goes into the authenticator app); it counts only
    once a code from it is confirmed. Reuses a pending one, so reloading the page keeps the
    QR code the person may already have scanned."""
    with user_context(user):
        device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("-id").first()
        if device is None:
            device = TOTPDevice(user_id=user.pk, name=DEVICE_NAME, confirmed=False)
            device.full_clean(exclude=["user"])
            device.save()
        device.user = user  # the otpauth:// label reads the e-mail
        return device


@transaction.atomic
def two_factor_setup_confirm(*, user: User, code: str, request=None) -> list[str]:
    """Confirm the pending device with a code from it; answers the new recovery codes."""
    with user_context(user):
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user_id=user.pk, confirmed=False)
            .order_by("-id")
            .first()
        )
        if device is None:
            raise ApplicationError(
                "Start the set-up again: scan the QR code first.", code="otp_setup_missing"
            )
        normalized = normalized_code(code)
        if not (normalized.isdigit() and device.verify_token(normalized)):
            raise OTPInvalid(
                "That code is not valid. Check the time on your phone and try the next code.",
                field_errors={"code": ["That code is not valid."]},
            )
        TOTPDevice.objects.filter(user_id=user.pk).exclude(pk=device.pk).delete()
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
    codes = recovery_codes_generate(user=user)
    audit_record(action="auth.two_factor_enabled", actor=user, request=request)
    _notify(user, "turned on")
    return codes


def _require_code(user: User, code: str, request) -> None:
    if _verify(user, code) is None:
        _count_failure(request, user, "account")
        raise OTPInvalid(
            "That code is not valid.", field_errors={"code": ["That code is not valid."]}
        )


def two_factor_disable(
    *, user: User, membership: Membership | None, code: str, request=None
) -> None:
    """Turn two-factor sign-in off (a current code or a recovery code proves the person still
    holds it). Refused while it is required for the person."""
    status = two_factor_status(user=user, membership=membership)
    if status.required:
        raise ApplicationError(
            "Two-factor sign-in is required for your account and cannot be turned off.",
            code="two_factor_required",
        )
    _require_code(user, code, request)
    with user_context(user), transaction.atomic():
        TOTPDevice.objects.filter(user_id=user.pk).delete()
        RecoveryCode.objects.filter(user_id=user.pk).delete()
    audit_record(action="auth.two_factor_disabled", actor=user, request=request)
    _notify(user, "turned off")


def recovery_codes_regenerate(*, user: User, code: str, request=None) -> list[str]:
    """New recovery codes (the old ones stop working), after a current code."""
    if _confirmed_device(user) is None:
        raise ApplicationError("Two-factor sign-in is not on.", code="two_factor_off")
    _require_code(user, code, request)
    codes = recovery_codes_generate(user=user)
    audit_record(action="auth.recovery_codes_regenerated", actor=user, request=request)
    return codes


def two_factor_enabled(*, user: User) -> bool:
    return _confirmed_device(user) is not None


# --- the clinic's requirement ---------------------------------------------------------------


@transaction.atomic
def tenant_two_factor_require(*, tenant, actor: User, membership: Membership, required: bool):
    """Require (or stop requiring) two-factor sign-in for every member of the clinic.

    Only an owner decides it, and only once they use it themselves: an owner who turned it
    on for everybody without having it would be sent to set it up at their next sign-in.
    """

    if membership is None or membership.tenant_id != tenant.pk or membership.role != "owner":
        raise ApplicationError(
            "Only the clinic's owner decides whether two-factor sign-in is required.",
            code="owner_only",
            status_code=403,
        )
    if required and not two_factor_enabled(user=actor):
        raise ApplicationError(
            "Turn on two-factor sign-in for yourself first (Your account → Two-factor "
            "sign-in), then require it for the clinic.",
            code="two_factor_off",
            field_errors={"require_two_factor": ["Turn it on for yourself first."]},
        )
    with tenant_context(tenant, user=actor):
        tenant = tenant_lock(tenant)
        if tenant.require_two_factor != required:
            tenant.require_two_factor = required
            tenant.full_clean(validate_unique=False)
            tenant.save(update_fields=["require_two_factor", "updated_at"])
            audit_record(
                action="tenant.two_factor_required" if required else "tenant.two_factor_optional",
                actor=actor,
                object=tenant,
            )
    return tenant


# --- operators: a person who lost both their phone and their recovery codes -------------------


def two_factor_reset(*, email: str, reason: str, actor: User | None = None) -> User:
    """Remove a person's device and recovery codes (they set two-factor sign-in up again at
    their next sign-in, when it is required). Operators only, after checking who asks: it
    goes through audited platform access, the only way to another person's secrets."""

    with platform_access(reason=reason, actor=actor, action="platform.two_factor_reset"):
        user = User.objects.filter(email=normalize_email(email)).first()
        if user is None:
            raise ApplicationError("No account has this e-mail.", code="not_found")
        devices, _ = TOTPDevice.objects.filter(user_id=user.pk).delete()
        codes, _ = RecoveryCode.objects.filter(user_id=user.pk).delete()
        audit_record(
            action="auth.two_factor_reset",
            actor=actor,
            object=user,
            reason=reason,
            details={"devices": devices, "recovery_codes": codes},
        )
    _notify(user, "removed by the platform's support")
    return user
