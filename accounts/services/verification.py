"""Verifying a person's e-mail address by an e-mailed, signed link."""

from __future__ import annotations

import uuid

from django.core import signing
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import as_person, person_by_id
from core.errors import ApplicationError
from tenants.outbox import send_templated_email

EMAIL_VERIFICATION_SALT = "accounts.email-verification"


EMAIL_VERIFICATION_MAX_AGE = 60 * 60 * 24 * 7


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
        user = person_by_id(uuid.UUID(data["user"]))
        if user is None or user.email != data["email"]:
            raise User.DoesNotExist
    except (signing.BadSignature, KeyError, ValueError, TypeError, User.DoesNotExist) as exc:
        raise ApplicationError(
            "This verification link is invalid or has expired.", code="invalid_token"
        ) from exc
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        with as_person(user):
            user.save(update_fields=["email_verified_at"])
    return user
