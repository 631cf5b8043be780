"""People and their place in clinics.

`User` is a person: one login, a globally unique e-mail (compared case-insensitively). What
the person is in a clinic lives in `Membership`, so one login can work at several clinics
while every token or session acts for exactly one of them (design invariant 1).
"""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from tenants.context import current
from tenants.scoping import TenantForeignKey, TenantManager, TenantOwnedModel, refuse_when_run


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email=normalize_email(username))

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("A user needs an e-mail address.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # Bumped when the password changes or the person is deactivated: every token carries the
    # version it was issued under and stops working when it no longer matches.
    token_version = models.PositiveIntegerField(default=1)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self):
        super().clean()
        self.email = normalize_email(self.email)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    DOCTOR = "doctor", "Doctor"
    NURSE = "nurse", "Nurse"
    RECEPTIONIST = "receptionist", "Receptionist"


ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class OwnMembershipManager(models.Manager):
    """The memberships of the person in context, in every clinic (login, clinic switcher).

    Row-level security allows exactly this through its `user_id` clause; the filter here
    keeps the ORM saying the same thing.
    """

    def get_queryset(self):
        queryset = super().get_queryset()
        ctx = current()
        if ctx.platform:
            return queryset
        if ctx.user_id is None:
            return refuse_when_run(queryset)
        return queryset.filter(user_id=ctx.user_id)


class Membership(TenantOwnedModel):
    rls_kind = "membership"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()
    for_current_user = OwnMembershipManager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_tenant_user_uniq"),
        ]
        indexes = [models.Index(fields=["user", "tenant"], name="membership_user_tenant")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


class Invitation(TenantOwnedModel):
    """A one-time link that lets an invited person set a password and join the clinic.

    Only a hash of the secret is stored. The link carries the clinic id (to scope the
    lookup under row-level security), the invitation id and the secret; the secret alone
    authenticates it.
    """

    membership = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    secret_hash = models.CharField(max_length=64)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    last_sent_at = models.DateTimeField(default=timezone.now)
    send_count = models.PositiveSmallIntegerField(default=1)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


# --- two-factor sign-in (accounts.two_factor) ------------------------------------------------


class TwoFactorState(models.Model):
    """What two-factor sign-in remembers about one person besides their device.

    `required_since` starts the grace period: the first time the person was seen as an owner,
    admin or platform operator (whose accounts must use two-factor sign-in). It is never moved
    later, so losing and regaining a role does not buy a new grace period.

    Row-level security ("personal"): only code acting for this very person reads or writes it.
    """

    rls_kind = "personal"

    user = models.OneToOneField(
        User, primary_key=True, on_delete=models.CASCADE, related_name="two_factor_state"
    )
    required_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Two-factor state of {self.user_id}"


class RecoveryCode(models.Model):
    """A one-time code that replaces the authenticator app once (a lost phone).

    Only a salted SHA-256 digest is stored: the codes carry about 59 random bits each (far beyond
    what a password has, so a slow hash adds nothing an offline attacker would notice), and a
    fast digest lets a login compare against the person's ten codes without a noticeable
    delay. The code itself is shown once, when generated, and never again.
    """

    rls_kind = "personal"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    salt = models.CharField(max_length=32)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["user", "used_at"], name="recoverycode_user_used")]

    def __str__(self) -> str:
        return f"Recovery code of {self.user_id}"
