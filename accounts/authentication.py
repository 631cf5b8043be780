"""API authentication: a valid JWT *and* a live membership in the clinic it names."""

from __future__ import annotations

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.selectors import active_membership


class TenantJWTAuthentication(JWTAuthentication):
    """simplejwt checks signature, expiry, audience and token type (an access token only);
    this adds what a signature cannot know: the person still has that membership, the clinic
    is not cancelled, and the password has not changed since the token was issued."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        if token.get("ver") != user.token_version:
            raise AuthenticationFailed(
                "This token was revoked; log in again.", code="token_revoked"
            )
        membership = active_membership(user=user, tenant_id=token.get("tenant_id"))
        if membership is None:
            raise AuthenticationFailed(
                "You are no longer an active member of this clinic.", code="membership_inactive"
            )
        # The clinic comes from the verified membership, never from anything the client sent.
        request._request.tenant = membership.tenant
        request._request.membership = membership
        return user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
