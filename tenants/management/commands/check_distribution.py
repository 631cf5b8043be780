from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from tenants.distribution import inspect


class Command(BaseCommand):
    help = (
        "Check the live schema against the rules of a PostgreSQL distributed by clinic "
        "(Citus): tenant_id in every primary and unique key of the clinic tables, co-located "
        "composite foreign keys, reference tables pointing only at reference tables, no shared "
        "rows mixed into clinic tables, no triggers, the tenant context sent as SET LOCAL, and "
        "the declared coordinator-local tables (the e-mail outbox) kept apart from the "
        "sharded ones. Prints the create_reference_table / citus_add_local_table_to_metadata "
        "/ create_distributed_table plan in dependency order; exits 1 and lists every "
        "violation with its table and rule."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--database", default="default", help="Alias to inspect through (default: default)."
        )
        parser.add_argument("--schema", default="public", help="Schema to inspect.")

    def handle(self, *args, **options):
        with connections[options["database"]].cursor() as cursor:
            report = inspect(cursor, options["schema"])
        if not report.distributed_tables:
            raise CommandError(
                f"No table with tenant_id in schema {options['schema']!r}: is it migrated?"
            )
        self.stdout.write("-- Distribution plan (run on the Citus coordinator, in this order):")
        for statement in report.plan():
            self.stdout.write(statement)
        if report.violations:
            for violation in report.violations:
                self.stderr.write(f"  ✗ {violation}")
            rules = sorted({v.rule for v in report.violations})
            raise CommandError(
                f"{len(report.violations)} violation(s) of the distribution rules "
                f"({', '.join(rules)}): the schema cannot be distributed by clinic yet."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Ready to distribute: {len(report.distributed_tables)} clinic tables by "
                f"tenant_id, {len(report.reference_tables)} reference tables, "
                f"{len(report.local_tables)} coordinator-local."
            )
        )
