from __future__ import annotations

from tenants import plans
from tenants.legacy import DEFAULT_NAME, legacy_import
from tenants.management.ops import OpsCommand


class Command(OpsCommand):
    help = (
        "Adopt the rows of the original single-clinic database, which have no clinic, into one "
        "clinic (by default 'Legacy Clinic', created on the first run). The source is a "
        "PostgreSQL URL whose schema holds the old tables (accounts_user, clinical_office, "
        "clinical_doctor, clinical_doctoroffice, clinical_patient, …, without tenant_id, or "
        "with tenant_id NULL for the rows to adopt); it is only read. People are matched with "
        "existing accounts by e-mail and become members; --owner-email becomes the owner. "
        "Everything is validated first and written in one transaction, within the plan's "
        "limits; running it again adds only rows not imported yet. --dry-run counts and "
        "writes nothing. See docs/operations.md."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source",
            required=True,
            help="The legacy database, e.g. postgres://reader:pw@old-db:5432/clinic",
        )
        parser.add_argument("--schema", default="public", help="Its schema (default: public).")
        parser.add_argument(
            "--name", default=DEFAULT_NAME, help=f"The clinic's name (default: {DEFAULT_NAME})."
        )
        parser.add_argument(
            "--code", help="Adopt into this existing clinic instead (see `manage.py tenants`)."
        )
        parser.add_argument(
            "--owner-email", required=True, help="The clinic's owner (a legacy user's e-mail)."
        )
        parser.add_argument(
            "--plan",
            default=plans.BASIC,
            choices=list(plans.PLANS),
            help="Plan of a new clinic (default: basic); its limits must fit the legacy data.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate and count; write nothing."
        )

    def handle(self, *args, **options):
        self.stdout.write(f"Reading schema {options['schema']!r} of the legacy database ...")
        result = self.run_service(
            legacy_import,
            source_url=options["source"],
            schema=options["schema"],
            name=options["name"],
            code=options.get("code"),
            owner_email=options["owner_email"],
            plan=options["plan"],
            dry_run=options["dry_run"],
            progress=self.progress,
            details=self.who(),
        )
        verb = "Would import" if result.dry_run else "Imported"
        where = "a new clinic" if result.created_tenant else "the existing clinic"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} into {where} {result.tenant.name} ({result.tenant.code}):")
        )
        for label, count in result.counts.items():
            skipped = result.skipped.get(label)
            note = f" ({skipped:,} rows that already had a clinic left alone)" if skipped else ""
            self.stdout.write(f"  {label}: {count:,} new{note}")
        if result.dry_run:
            self.stdout.write("Dry run: nothing was written.")
