"""Send queries to the right database role.

`owner` is the only alias migrations run on (it owns the tables). Inside
`platform_access(...)` reads and writes go to the `platform` alias (BYPASSRLS); everywhere
else they go to `default`, the runtime role that row-level security restricts.
"""

from __future__ import annotations

from tenants.context import current

MIGRATION_ALIAS = "owner"
PLATFORM_ALIAS = "platform"


class RoleRouter:
    def db_for_read(self, model, **hints):
        return PLATFORM_ALIAS if current().platform else None

    def db_for_write(self, model, **hints):
        return PLATFORM_ALIAS if current().platform else None

    def allow_relation(self, obj1, obj2, **hints):
        # All aliases are the same database seen through different roles.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == MIGRATION_ALIAS
