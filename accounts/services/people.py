"""People: creating a person, the password rules, staff and active flags."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User, normalize_email
from accounts.services.tokens import tokens_revoke_all
from core.errors import ApplicationError
from tenants.audit import audit_record


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
