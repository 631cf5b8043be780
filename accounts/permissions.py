"""Who may do what, by role, for the clinic API.

Views declare the roles that may read and write; this one permission class enforces it.
"""

from __future__ import annotations

from rest_framework import permissions

from accounts.models import ADMIN_ROLES, Role


class RolePermission(permissions.BasePermission):
    """`view.read_roles` / `view.write_roles` (None means every active member)."""

    message = "Your role in this clinic does not allow this."

    def has_permission(self, request, view):
        membership = getattr(request, "membership", None)
        if membership is None or not request.user or not request.user.is_authenticated:
            return False
        attribute = "read_roles" if request.method in permissions.SAFE_METHODS else "write_roles"
        roles = getattr(view, attribute, None)
        return roles is None or membership.role in roles


def may_manage_member(actor, member) -> bool:
    """Whether `actor` (a membership) may change `member`: owners and admins manage the team,
    only an owner manages another owner, and nobody changes their own membership (which could
    lock them out of their own clinic). The membership services enforce the same rule for
    every caller (accounts.services); the pages use this to show only what would work."""
    if actor is None or actor.role not in ADMIN_ROLES or actor.pk == member.pk:
        return False
    return member.role != Role.OWNER or actor.role == Role.OWNER


def may_manage_invitation(actor, invitation) -> bool:
    """Whether `actor` (a membership) may resend or revoke an invitation: owners and admins,
    and only an owner for an invitation to become an owner. The services apply the same rule
    (accounts.services); this one only decides which buttons a page shows."""
    if actor is None or actor.role not in ADMIN_ROLES:
        return False
    return invitation.role != Role.OWNER or actor.role == Role.OWNER
