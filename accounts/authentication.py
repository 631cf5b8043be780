"""API authentication: a valid JWT *and* a live membership in the clinic it names."""

from __future__ import annotations

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

from accounts.selectors import membership_for_token


class ClinicJWTAuthentication(JWTAuthentication):
    """simplejwt checks signature, expiry, audience and token type (an access token only);
    this adds what a signature cannot know: the person still has that membership, the clinic
    is not cancelled, and the password has not changed since the token was issued."""

    def authenticate(self, request):
        header = self.get_header(request)
        raw_token = None if header is None else self.get_raw_token(header)
        if raw_token is None:
            return None
        token = self.get_validated_token(raw_token)
        # The person, the membership and the clinic in one query (simplejwt's get_user would
        # read the person first: one more round trip on every request). Only a refusal looks
        # further, to say why.
        membership = membership_for_token(
            user_id=token.get(api_settings.USER_ID_CLAIM), tenant_id=token.get("tenant_id")
        )
        if membership is None:
            self.get_user(token)  # raises for an unknown or deactivated person
            raise AuthenticationFailed(
                "You are no longer an active member of this clinic.", code="membership_inactive"
            )
        user = membership.user
        if token.get("ver") != user.token_version:
            raise AuthenticationFailed(
                "This token was revoked; log in again.", code="token_revoked"
            )
        # The clinic comes from the verified membership, never from anything the client sent.
        request._request.tenant = membership.tenant
        request._request.membership = membership
        return user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
