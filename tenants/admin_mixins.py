"""Admin pieces every layer above may use (tenants is the lowest layer with an admin)."""

from __future__ import annotations


class ViewOnlyMixin:
    """Nobody adds, changes or deletes through this admin: its rows are written by services,
    actions or the platform (audit logs, invoices and payments, the shared catalogue, the
    e-mail outbox)."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
