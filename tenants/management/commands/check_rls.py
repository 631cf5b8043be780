from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenants.checks import inspect_database, protected_models


class Command(BaseCommand):
    help = (
        "Verify row-level security in the live database: for every clinic-owned table RLS is "
        "enabled and forced with exactly the expected policies (no drift, no extra permissive "
        "policy), same-clinic foreign keys and per-clinic unique constraints exist, and the "
        "runtime role cannot bypass any of it. Exits 1 and lists every problem otherwise."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--database", default="default", help="Alias to inspect through (default: default)."
        )

    def handle(self, *args, **options):
        problems = inspect_database(options["database"])
        if problems:
            for problem in problems:
                self.stderr.write(f"  ✗ {problem}")
            raise CommandError(f"{len(problems)} row-level security problem(s) found.")
        count = len(protected_models())
        self.stdout.write(self.style.SUCCESS(f"Row-level security OK on {count} tables."))
