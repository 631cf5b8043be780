"""Authentication: the API's JWT (a valid token *and* a live membership in the clinic it
names) and the session backend that loads the signed-in person.

People are under row-level security (tenants.rls, kind "people"): a person is readable by
the runtime role only in their own context or in a clinic they are a member of. A session's
or a token's person is therefore always loaded in that person's own context, before any
clinic is known.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.backends import ModelBackend
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

from accounts.selectors import membership_for_token, person_by_id
from tenants.context import person_context

# What Django's login() stores in the session, and looks up again on every request.
SESSION_BACKEND = "accounts.authentication.PersonBackend"


class PersonBackend(ModelBackend):
    """Django's model backend, with the person read under row-level security: by e-mail
    through the narrow path at login (`UserManager.get_by_natural_key`), by id in the
    person's own context for every request of a session (`get_user`)."""

    def get_user(self, user_id):
        user = person_by_id(user_id)
        return user if self.user_can_authenticate(user) else None


def update_last_login(sender, user, **kwargs):
    """Django's own receiver saves `last_login` in whatever context the login runs in (none,
    on the login page), where the person's row is not visible: write it as the person."""
    user.last_login = timezone.now()
    with person_context(user.pk):
        type(user)._default_manager.filter(pk=user.pk).update(last_login=user.last_login)


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

    def get_user(self, validated_token):
        # simplejwt reads the person with no context, where row-level security hides every
        # person: read them as themself.
        try:
            user_id = uuid.UUID(str(validated_token[api_settings.USER_ID_CLAIM]))
        except KeyError:
            return super().get_user(validated_token)  # its own "no user claim" error
        except (TypeError, ValueError, AttributeError) as exc:
            raise AuthenticationFailed("User not found", code="user_not_found") from exc
        with person_context(user_id):
            return super().get_user(validated_token)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
