"""`migrate` that runs as the owner role by default and verifies row-level security after.

The runtime role may not create or alter tables (design invariant 5), so migrations run on
the `owner` alias; `--database` still works as usual.
"""

from __future__ import annotations

from django.core.management.base import CommandError
from django.core.management.commands import migrate

from tenants.checks import inspect_database
from tenants.people_sql import install_credentials_key
from tenants.routers import MIGRATION_ALIAS


class Command(migrate.Command):
    help = (
        "Apply migrations as the database owner role (alias 'owner'), then verify that every "
        "clinic-owned table is protected by row-level security (see check_rls)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        for action in parser._actions:
            if action.dest == "database":
                action.default = MIGRATION_ALIAS
                action.help = "Database alias to migrate (default: owner, the table owner role)."

    def handle(self, *args, **options):
        super().handle(*args, **options)
        if options["plan"] or options["check_unapplied"] or options.get("prune"):
            return
        # The credentials functions check a key derived from SECRET_KEY (tenants.dbroles);
        # storing its digest at every migrate picks up a changed SECRET_KEY.
        from django.conf import settings
        from django.db import connections

        with connections[options["database"]].cursor() as cursor:
            install_credentials_key(cursor, settings.SECRET_KEY)
        problems = inspect_database("default")
        if problems:
            for problem in problems:
                self.stderr.write(f"  ✗ {problem}")
            raise CommandError(
                f"Migrated, but {len(problems)} row-level security problem(s) remain."
            )
