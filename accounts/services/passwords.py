"""Changing a password, and resetting a forgotten one by an e-mailed link."""

from __future__ import annotations

import uuid

from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.models import User, normalize_email
from accounts.selectors import person_by_email, person_by_id
from accounts.services.people import check_password_strength
from accounts.services.tokens import tokens_revoke_all
from core.errors import ApplicationError
from tenants.audit import audit_record
from tenants.outbox import send_templated_email


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
    user = person_by_email(address)
    if user is None or not user.is_active or not user.has_usable_password():
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
    user = person_by_id(pk)
    return user if user is not None and user.is_active else None


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
