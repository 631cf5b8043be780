from __future__ import annotations

from clinics.legacy import DEFAULT_NAME, legacy_import
from tenants import plans
from tenants.management.ops import OpsCommand


class Command(OpsCommand):
    help = (
        "Adopt one clinic of the earlier single-clinic system (docs/operations.md) into a clinic "
        f"of this one (by default {DEFAULT_NAME!r} or the source clinic's name, created on the "
        "first run; --code for an existing clinic). The source is a PostgreSQL URL whose "
        "schema holds the earlier system's tables (users, doctors, patients, …), before "
        "clinics or with a tenants table; it is only read. A source with several clinics needs "
        "--source-tenant CODE. Everything is validated and written in one transaction as the "
        "runtime role, within the plan's limits; a second run adds only what is new. The "
        "report lists every row skipped or changed, and why. --dry-run writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source",
            required=True,
            help="The earlier system's database, e.g. postgres://reader:pw@old-db:5432/clinic",
        )
        parser.add_argument("--schema", default="public", help="Its schema (default: public).")
        parser.add_argument(
            "--source-tenant",
            metavar="CODE",
            help="The earlier clinic to adopt (its tenant_code, e.g. LEGACY_001) when the "
            "source holds several.",
        )
        parser.add_argument(
            "--name", help=f"The new clinic's name (default: the source's, or {DEFAULT_NAME})."
        )
        parser.add_argument(
            "--code", help="Adopt into this existing clinic instead (see `manage.py tenants`)."
        )
        parser.add_argument(
            "--owner-email",
            required=True,
            help="The clinic's owner: a user of the earlier clinic or an account here.",
        )
        parser.add_argument(
            "--plan",
            default=plans.BASIC,
            choices=list(plans.PLANS),
            help="Plan of a new clinic (default: basic); its limits must fit the data.",
        )
        parser.add_argument(
            "--files-from",
            metavar="DIR",
            help="A copy of the earlier object store: attachment files are copied from here.",
        )
        parser.add_argument(
            "--report", metavar="FILE", help="Write every skipped or changed row to this CSV."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate and report; write nothing."
        )

    def handle(self, *args, **options):
        self.stdout.write(f"Reading schema {options['schema']!r} of the earlier system ...")
        result = self.run_service(
            legacy_import,
            source_url=options["source"],
            schema=options["schema"],
            source_tenant=options.get("source_tenant"),
            name=options.get("name"),
            code=options.get("code"),
            owner_email=options["owner_email"],
            plan=options["plan"],
            files_from=options.get("files_from"),
            dry_run=options["dry_run"],
            progress=self.progress,
            details=self.who(),
        )
        report = result.report
        verb = "Would import" if result.dry_run else "Imported"
        where = "a new clinic" if result.created_tenant else "the existing clinic"
        source = f" (earlier clinic {result.source_tenant})" if result.source_tenant else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb}{source} into {where} {result.tenant.name} ({result.tenant.code}):"
            )
        )
        self.stdout.write(f"  {'table':<30}{'new':>9}{'already':>9}{'skipped':>9}{'changed':>9}")
        for table, new, existing, skipped, changed in report.summary():
            self.stdout.write(f"  {table:<30}{new:>9,}{existing:>9,}{skipped:>9,}{changed:>9,}")
        for note in report.notes:
            self.stdout.write(f"  Note: {note}")
        if options.get("report"):
            report.write_csv(options["report"])
            self.stdout.write(f"Every skipped or changed row: {options['report']}")
        elif report.entries:
            self.stdout.write("Skipped or changed:")
            for entry in report.entries:
                self.stdout.write(
                    f"  {entry.table} {entry.legacy_id}: {entry.action}: {entry.reason}"
                )
        if result.dry_run:
            self.stdout.write("Dry run: nothing was written.")
