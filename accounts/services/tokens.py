"""The API's refresh tokens: refreshing (which re-checks the membership and two-factor
requirement), logging out, and revoking every token of a person."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from accounts.selectors import active_membership, as_person, person_by_id
from accounts.tokens import issue_tokens
from accounts.two_factor import OTPRequired, two_factor_require_verified
from core.errors import ApplicationError


def tokens_revoke_all(*, user: User) -> None:
    """Every token of the person stops working: access tokens through the version claim,
    refresh tokens through the blacklist as well."""
    with as_person(user):  # only the person writes their own row (people's row-level security)
        User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
        user.refresh_from_db(fields=["token_version"])
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )


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

    token = _verified_refresh(refresh)
    outstanding = (
        OutstandingToken.objects.select_for_update(of=("self",))
        .filter(jti=token[api_settings.JTI_CLAIM])
        .order_by()
        .first()
    )
    if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
        raise InvalidToken("This refresh token is invalid, expired or already used.")
    user = person_by_id(token.get("user_id"))
    if user is None or not user.is_active or token.get("ver") != user.token_version:
        raise InvalidToken("This refresh token was revoked; log in again.", code="token_revoked")
    membership = active_membership(user=user, tenant_id=token.get("tenant_id"))
    if membership is None:
        raise InvalidToken(
            "You are no longer an active member of this clinic.", code="membership_inactive"
        )
    # A refresh continues a sign-in without a password: it may not outlive a second factor
    # the person needs now (turned on, required by the clinic, grace period over) and this
    # sign-in never gave.

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
