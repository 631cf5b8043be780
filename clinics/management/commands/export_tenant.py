from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError
from django.utils import timezone

from clinics.export import clinic_export
from tenants.management.ops import OpsCommand


class Command(OpsCommand):
    help = (
        "Write a clinic's complete data as a ZIP archive of JSON files with its attachments "
        "(manifest.json, data/<app>.<model>.json for the clinic, its members and every "
        "clinic-owned model, files/ for uploaded files): for portability, or before a purge. "
        "Reads run under the clinic's own row-level security; the export is recorded in the "
        "clinic's audit log. Example: export_tenant asha-dental --output /backups/asha.zip"
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="The clinic's code (see `manage.py tenants`).")
        parser.add_argument(
            "--output",
            help="Archive path (default: <code>-<date and time>.zip in this directory).",
        )
        parser.add_argument(
            "--force", action="store_true", help="Overwrite the archive if it exists."
        )

    def handle(self, *args, code, output=None, force=False, **options):
        tenant = self.clinic(code, purpose="export the clinic's data")
        path = Path(output or f"{tenant.code}-{timezone.now():%Y%m%d-%H%M%S}.zip")
        if path.exists() and not force:
            raise CommandError(f"{path} already exists; choose another --output or add --force.")
        if not path.parent.exists():
            raise CommandError(f"The folder {path.parent} does not exist.")
        self.stdout.write(f"Exporting {tenant.name} ({tenant.code}) to {path} ...")
        manifest = clinic_export(tenant=tenant, path=path, progress=self.progress)
        rows = sum(manifest["counts"].values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {path}: {rows:,} rows in {len(manifest['counts'])} tables, "
                f"{manifest['files']:,} file(s)."
            )
        )
        if manifest["missing_files"]:
            self.stderr.write(
                f"{len(manifest['missing_files'])} referenced file(s) were missing from storage "
                "(listed in manifest.json)."
            )
