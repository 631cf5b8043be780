"""Reads about people and their clinics."""

from __future__ import annotations

import uuid

from django.db.models import F

from accounts.models import Membership
from tenants.context import person_context, user_context
from tenants.models import Tenant


def active_membership(*, user, tenant_id) -> Membership | None:
    """The person's active membership in that clinic, with the clinic, or None.

    This is the check behind invariant 7: a token or session names a clinic, and it counts
    only while the person is an active member of a clinic that is not cancelled. It runs
    under the person's own context, so row-level security lets it see their memberships and
    nothing else.
    """
    if user is None or not user.is_authenticated or not user.is_active or not tenant_id:
        return None
    try:
        tenant_id = uuid.UUID(str(tenant_id))
    except (TypeError, ValueError, AttributeError):
        return None
    with person_context(user):
        return (
            Membership.for_current_user.select_related("tenant", "user")
            .filter(tenant_id=tenant_id, is_active=True)
            .exclude(tenant__status=Tenant.Status.CANCELLED)
            .first()
        )


def membership_for_token(*, user_id, tenant_id) -> Membership | None:
    """What an API token names, in one query: the person's active membership in that clinic
    with the person and the clinic, or None (unknown or inactive person, no active
    membership, cancelled clinic). Every API request runs this, so it is a single round
    trip; `active_membership` is the same check for a person already loaded."""
    try:
        user_id, tenant_id = uuid.UUID(str(user_id)), uuid.UUID(str(tenant_id))
    except (TypeError, ValueError, AttributeError):
        return None
    with person_context(user_id):
        return (
            Membership.for_current_user.select_related("tenant", "user")
            .filter(tenant_id=tenant_id, is_active=True, user_id=user_id, user__is_active=True)
            .exclude(tenant__status=Tenant.Status.CANCELLED)
            .first()
        )


def memberships_of(user) -> list[Membership]:
    """Every active membership of the person, most recently used first (clinic switcher)."""
    with user_context(user):
        return list(
            Membership.for_current_user.select_related("tenant")
            .filter(is_active=True)
            .exclude(tenant__status=Tenant.Status.CANCELLED)
            .order_by(F("last_used_at").desc(nulls_last=True), "created_at")
        )
