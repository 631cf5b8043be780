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


OWNER_ONLY = frozenset({Role.OWNER})
ADMINS = ADMIN_ROLES
