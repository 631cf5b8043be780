"""People and their place in clinics.

`User` is a person: one login, a globally unique e-mail (compared case-insensitively). What
the person is in a clinic lives in `Membership`, so one login can work at several clinics
while every token or session acts for exactly one of them (design invariant 1).
"""

from __future__ import annotations

import uuid

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts import credentials
from tenants.context import DbContext, current, person_context
from tenants.scoping import ScopedManager, TenantForeignKey, TenantManager, TenantOwnedModel


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        # Login (ModelBackend.authenticate) finds the person here, before anybody is acting
        # as them: through the narrow by-e-mail path, since people are under row-level
        # security.
        from accounts.selectors import person_by_email

        user = person_by_email(username)
        if user is None:
            raise self.model.DoesNotExist(f"No person with the e-mail {username!r}.")
        return user

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
    """A person. Two things about them are out of the runtime database role's reach (issue 12,
    item 5): the password hash lives in `accounts_password`, which only the credentials
    functions read and write (accounts.credentials), and `is_staff`/`is_superuser` change only
    through those functions or the platform role. `password` is therefore a property backed
    by that table, and `save()` sends a changed hash or changed flags through the functions.

    Row-level security ("people", tenants.rls): the runtime role sees a person only when
    acting as that person, or in the context of a clinic the person has a membership in; only
    the person themself writes the row. Look-ups by e-mail go through
    `accounts.selectors.person_by_email`.
    """

    rls_kind = "people"

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

    # --- the password hash (accounts_password) and the admin flags -----------------------

    @property
    def password(self) -> str:
        encoded = self.__dict__.get("_password_hash")
        if encoded is None:
            stored = None
            if not self._state.adding and self.pk is not None:
                stored = credentials.password_hash(self)
            # No row: the person never chose a password (an unusable one, like Django's).
            encoded = stored if stored is not None else UNUSABLE_PASSWORD_PREFIX
            self.__dict__["_password_hash"] = encoded
        return encoded

    @password.setter
    def password(self, encoded: str) -> None:
        self.__dict__["_password_hash"] = encoded
        self.__dict__["_password_changed"] = True

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        # The hash is not a column of this table: reloading drops the cached one, so the
        # next read fetches it again.
        if fields is None or "password" in fields:
            self.__dict__.pop("_password_hash", None)
            self.__dict__.pop("_password_changed", None)
        if fields is not None:
            fields = [name for name in fields if name != "password"]
            if not fields:
                return
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_flags = (
            instance.__dict__.get("is_staff"),
            instance.__dict__.get("is_superuser"),
        )
        return instance

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            update_fields = set(update_fields)
        wanted = (self.is_staff, self.is_superuser)
        # A new person is inserted with both flags off (the database refuses anything else
        # from the runtime role); a loaded one keeps what it was loaded with.
        stored = getattr(self, "_stored_flags", (False, False))
        if None in stored:
            stored = wanted
        flags_in_scope = update_fields is None or bool(update_fields & {"is_staff", "is_superuser"})
        change_flags = flags_in_scope and wanted != stored
        change_password = self.__dict__.get("_password_changed", False) and (
            update_fields is None or "password" in update_fields
        )
        if update_fields is not None:
            kwargs["update_fields"] = update_fields - {"password", "is_staff", "is_superuser"}
        self.is_staff, self.is_superuser = stored
        try:
            if self._state.adding and not current().platform:
                # A new person's row is written as that person (sign-up, accepting an
                # invitation): the people policy lets the runtime role write only its own row.
                with person_context(self.pk):
                    super().save(*args, **kwargs)
            else:
                super().save(*args, **kwargs)
        finally:
            self.is_staff, self.is_superuser = wanted
        if change_flags:
            credentials.user_flags_store(self, is_staff=wanted[0], is_superuser=wanted[1])
        self._stored_flags = wanted
        if change_password:
            credentials.password_hash_store(self, self.password)
            self.__dict__["_password_changed"] = False

    def _get_session_auth_hash(self, secret=None):
        # Django signs the session with an HMAC of the password hash, which would make every
        # request read it. The token version changes whenever the password does (and when the
        # account is locked), so it ends the other sessions just the same.
        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.pk}:{self.token_version}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

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


# The role sets every layer uses (API views, pages, admin, services): one home.
ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})
OWNER_ONLY = frozenset({Role.OWNER})
ALL_ROLES = frozenset(Role.values)
# What an admin may grant: every role but owner (only an owner grants that).
ADMIN_GRANTABLE = frozenset({Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.RECEPTIONIST})


class OwnMembershipManager(ScopedManager):
    """The memberships of the person in context, in every clinic (login, clinic switcher).

    Row-level security allows exactly this through its `user_id` clause; the filter here
    keeps the ORM saying the same thing.
    """

    def scope_filter(self, ctx: DbContext) -> Q | None:
        if ctx.user_id is None:
            return None
        return Q(user_id=ctx.user_id)


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


class PersonInvitationManager(ScopedManager):
    """Invitations addressed to the person in context, in every clinic (accept or decline).

    Row-level security allows exactly this through its e-mail clause; callers filter by the
    person's e-mail as well, so the ORM says the same thing.
    """

    def scope_filter(self, ctx: DbContext) -> Q | None:
        # An empty Q, no ORM filter: row-level security's e-mail clause decides (callers
        # also filter by the person's e-mail).
        if ctx.user_id is None:
            return None
        return Q()


class Invitation(TenantOwnedModel):
    """An offer to join a clinic, addressed to an e-mail address; nothing more until accepted.

    Inviting never creates a person or a membership (issue 12, items 1 and 2): the invitation
    keeps what the clinic typed (names, phone), and the clinic sees only that until the
    person accepts. Accepting creates the membership (and, for a new person, the account with
    the password they chose); `membership` then points at it.

    Only a hash of the secret is stored. The link carries the clinic id (to scope the
    lookup under row-level security), the invitation id and the secret; the secret alone
    authenticates it. Row-level security ("invitation") also lets a signed-in person read the
    invitations addressed to their own e-mail in every clinic, to accept or decline them.
    """

    rls_kind = "invitation"

    membership = TenantForeignKey(
        Membership,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
    )
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    # What the inviting clinic typed: shown to the clinic until the person accepts, and
    # offered to the person as a starting point when they create their account.
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=20, blank=True)
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
    declined_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()
    for_current_person = PersonInvitationManager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open invitation per address and clinic; the index decides, race-free.
            models.UniqueConstraint(
                fields=["tenant", "email"],
                condition=models.Q(
                    accepted_at__isnull=True, revoked_at__isnull=True, declined_at__isnull=True
                ),
                name="invitation_tenant_open_email_uniq",
            ),
        ]
        indexes = [
            # A person's own invitations in every clinic (the list they accept from).
            models.Index(fields=["email"], name="invitation_email"),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @property
    def is_open(self) -> bool:
        """Neither accepted, declined nor revoked (it may have expired)."""
        return self.accepted_at is None and self.revoked_at is None and self.declined_at is None

    @property
    def is_pending(self) -> bool:
        return self.is_open and self.expires_at > timezone.now()

    @property
    def status(self) -> str:
        """invited, expired, accepted, declined or revoked."""
        if self.accepted_at is not None:
            return "accepted"
        if self.declined_at is not None:
            return "declined"
        if self.revoked_at is not None:
            return "revoked"
        return "invited" if self.expires_at > timezone.now() else "expired"

    @property
    def typed_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


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
