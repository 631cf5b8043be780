"""Reads about people and their clinics."""

from __future__ import annotations

import functools
import hashlib
import hmac
import uuid
from contextlib import contextmanager

from django.db import connections, router
from django.db.models import F

from accounts import credentials
from accounts.models import Invitation, Membership, User, normalize_email
from core.errors import ApplicationError
from tenants.context import (
    activate,
    current,
    deactivate,
    person_context,
    tenant_context,
    user_context,
)
from tenants.models import Tenant


@contextmanager
def _clinic_and_person(tenant_id, user_id):
    """Act for this clinic and this person for a single read, without opening a transaction
    (the backend sends the context with that statement, as person_context() does), so the
    per-request membership check costs no savepoint round trip.

    Naming the clinic before the membership is verified is safe: the statement itself asks
    for the person's active membership in exactly that clinic, and with the clinic's context
    the clinics table's policy is the bare `id = clinic` equality (tenants.rls, kind
    "tenant_root"), which costs nothing measurable to plan, where reading it as the person
    alone needed a sub-select on memberships in the policy (issue 17, part 3)."""
    token = activate(tenant_id, user=user_id)
    try:
        yield
    finally:
        deactivate(token)


# The three whole rows clinic_membership_check() returns, and the model each one is.
_CHECKED_ROWS = (("membership", Membership), ("clinic", Tenant), ("person", User))


@functools.cache
def _membership_check_sql() -> str:
    """The membership check as the database function returns it, one column per model field
    in the order the models declare them (built once: the models do not change at run time)."""
    columns = [
        f'(r.{row})."{field.column}"'
        for row, model in _CHECKED_ROWS
        for field in model._meta.concrete_fields
    ]
    return f"SELECT {', '.join(columns)} FROM clinic_membership_check(%s, %s) r"


def _checked_membership(tenant_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
    """The person's active membership in the clinic, with the person and the clinic, from
    clinic_membership_check() (tenants.people_sql): the same three-table read the ORM would
    send, but planned once per connection instead of on every request, since its policies
    cost more to plan than the read costs to run (issue 17). The function is a SECURITY
    INVOKER, so row-level security filters it exactly as it filtered the ORM's statement.

    The rows go through the same conversions as the ORM's results (Django's compiler), so
    the instances are the ones `select_related("tenant", "user")` would give."""
    alias = router.db_for_read(Membership)
    connection = connections[alias]
    with _clinic_and_person(tenant_id, user_id), connection.cursor() as cursor:
        cursor.execute(_membership_check_sql(), [tenant_id, user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    compiler = Membership.objects.none().query.get_compiler(using=alias)
    columns = [
        field.get_col(model._meta.db_table)
        for _row, model in _CHECKED_ROWS
        for field in model._meta.concrete_fields
    ]
    [values] = compiler.apply_converters([list(row)], compiler.get_converters(columns))
    instances, start = {}, 0
    for name, model in _CHECKED_ROWS:
        fields = model._meta.concrete_fields
        instances[name] = model.from_db(
            alias, [field.attname for field in fields], values[start : start + len(fields)]
        )
        start += len(fields)
    membership = instances["membership"]
    Membership.tenant.field.set_cached_value(membership, instances["clinic"])
    Membership.user.field.set_cached_value(membership, instances["person"])
    return membership


def active_membership(*, user, tenant_id) -> Membership | None:
    """The person's active membership in that clinic, with the clinic, or None.

    This is the check behind invariant 7: a token or session names a clinic, and it counts
    only while the person is an active member of a clinic that is not cancelled. It runs
    in that clinic's context acting as the person, so row-level security lets it see that
    clinic's row and the person's memberships, and the query asks for exactly the one.
    """
    if user is None or not user.is_authenticated or not user.is_active or not tenant_id:
        return None
    try:
        tenant_id = uuid.UUID(str(tenant_id))
    except (TypeError, ValueError, AttributeError):
        return None
    return _checked_membership(tenant_id, user.pk)


def membership_for_token(*, user_id, tenant_id) -> Membership | None:
    """What an API token names, in one query: the person's active membership in that clinic
    with the person and the clinic, or None (unknown or inactive person, no active
    membership, cancelled clinic). Every API request runs this, so it is a single round
    trip; `active_membership` is the same check for a person already loaded."""
    try:
        user_id, tenant_id = uuid.UUID(str(user_id)), uuid.UUID(str(tenant_id))
    except (TypeError, ValueError, AttributeError):
        return None
    return _checked_membership(tenant_id, user_id)


def _clinics_by_id(tenant_ids, *, user_id) -> dict:
    """Each clinic's row, read in that clinic's own context (the only way the clinics
    table's policy shows it to the runtime role), one statement each."""
    clinics = {}
    for tenant_id in tenant_ids:
        with _clinic_and_person(tenant_id, user_id):
            clinic = Tenant.objects.filter(pk=tenant_id).first()
        if clinic is not None:
            clinics[tenant_id] = clinic
    return clinics


def memberships_of(user, *, roles=None) -> list[Membership]:
    """Every active membership of the person in a clinic that is not cancelled, most recently
    used first, each with its clinic (login's clinic choice, the clinic switcher, /me).

    The memberships are read as the person (their own rows, which the memberships' policy
    shows them in every clinic); each clinic's row is then read in that clinic's own context,
    so a person of N clinics costs N + 1 small statements. No policy and no function lets
    anybody read a clinic's row from outside that clinic (tenants.rls, kind "tenant_root").
    `roles` keeps only memberships with one of those roles.
    """
    with user_context(user):
        queryset = Membership.for_current_user.filter(is_active=True)
        if roles is not None:
            queryset = queryset.filter(role__in=list(roles))
        memberships = list(queryset.order_by(F("last_used_at").desc(nulls_last=True), "created_at"))
    user_id = getattr(user, "pk", user)
    clinics = _clinics_by_id(list(dict.fromkeys(m.tenant_id for m in memberships)), user_id=user_id)
    kept = []
    for membership in memberships:
        clinic = clinics.get(membership.tenant_id)
        if clinic is None or clinic.status == Tenant.Status.CANCELLED:
            continue
        membership.tenant = clinic
        # The person is at hand; loading them again later, in no context, would find nobody
        # (people are under row-level security).
        membership.user = user
        kept.append(membership)
    return kept


# --- people by e-mail and their own invitations ---------------------------------------------


def person_by_email(email: str):
    """The person (User) who owns this e-mail address, or None.

    Every look-up of a person by e-mail goes through here (login through the auth backend's
    natural key, password reset, sign-up, accepting an invitation, the legacy import,
    operators' commands). People are under row-level security and nobody is acting as the
    person yet, so the id comes from the key-checked definer function (one id for one exact
    address, accounts.credentials.person_id_by_email) and the row is read in that person's
    own context, which the policy allows. Inviting an address never calls it: the inviting
    clinic must not learn whether an account exists.
    """

    email = normalize_email(email)
    if not email:
        return None
    # An unknown address reads too (the nil id, nobody's): both answers send the same
    # statements, so neither their number nor their timing tells whether an account exists.
    user_id = credentials.person_id_by_email(email)
    return person_by_id(user_id or uuid.UUID(int=0), model=User)


def person_by_id(user_id, *, model=None):
    """The person with this id, read in their own context (a session's or a token's user, a
    reset link's), or None. Inside platform_access() the platform role reads it directly."""
    from accounts.models import User

    model = model or User
    try:
        user_id = uuid.UUID(str(user_id))
    except (TypeError, ValueError, AttributeError):
        return None
    with as_person(user_id):
        return model._default_manager.filter(pk=user_id).first()


@contextmanager
def as_person(user):
    """Act as this person (no clinic) for reads and writes of their own row: people are under
    row-level security. Inside platform_access() nothing changes (the platform role sees
    everybody, and its work must stay in its own transaction)."""
    if current().platform:
        yield
        return
    with person_context(user):
        yield


def _open_invitations_of(user):
    """Open invitations addressed to the person's e-mail, in every clinic.

    Row-level security lets code acting as the person (no clinic in context) read exactly
    these rows (the "invitation" policies, tenants.rls); the clinic's name is then read in
    that clinic's own context, which its row-level security allows.
    """
    from django.utils import timezone

    return Invitation.for_current_person.filter(
        email=user.email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        declined_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).order_by("-created_at")


def _with_clinics(invitations: list) -> list:
    clinics = {}
    for tenant_id in {invitation.tenant_id for invitation in invitations}:
        with tenant_context(tenant_id):
            clinics[tenant_id] = Tenant.objects.filter(pk=tenant_id).first()
    kept = []
    for invitation in invitations:
        clinic = clinics.get(invitation.tenant_id)
        if clinic is not None and clinic.status != Tenant.Status.CANCELLED:
            invitation.clinic = clinic
            kept.append(invitation)
    return kept


def invitations_for_person(*, user) -> list:
    """The signed-in person's open invitations, newest first, each with its `clinic`."""
    if user is None or not user.is_authenticated:
        return []
    with user_context(user):
        invitations = list(_open_invitations_of(user))
    return _with_clinics(invitations)


def invitation_for_person(*, user, invitation_id):
    """One open invitation addressed to the signed-in person, or None."""
    try:
        invitation_id = uuid.UUID(str(invitation_id))
    except (TypeError, ValueError, AttributeError):
        return None
    with user_context(user):
        invitation = _open_invitations_of(user).filter(pk=invitation_id).first()
    if invitation is None:
        return None
    found = _with_clinics([invitation])
    return found[0] if found else None


# --- invitations by link ----------------------------------------------------------------------


def invitation_secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def invitation_invalid_error() -> ApplicationError:
    return ApplicationError(
        "This invitation link is invalid, expired or already used.", code="invalid_token"
    )


def invitation_preview(*, token: str) -> Invitation:
    """The open invitation a link names (for the page that link opens, and for accepting or
    declining through it), or `invalid_token`."""
    try:
        tenant_id, invitation_id, secret = str(token).split(".", 2)
        tenant_id, invitation_id = uuid.UUID(tenant_id), uuid.UUID(invitation_id)
    except (ValueError, AttributeError) as exc:
        raise invitation_invalid_error() from exc
    # The clinic id only scopes the lookup (row-level security); the secret authenticates.
    with tenant_context(tenant_id):
        invitation = Invitation.objects.select_related("tenant").filter(pk=invitation_id).first()
    if (
        invitation is None
        or not hmac.compare_digest(invitation.secret_hash, invitation_secret_hash(secret))
        or not invitation.is_pending
        or invitation.tenant.status == Tenant.Status.CANCELLED
    ):
        raise invitation_invalid_error()
    return invitation
