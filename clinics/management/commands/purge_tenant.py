from __future__ import annotations

import sys

from django.core.management.base import CommandError

from clinics.purge import clinic_purge
from tenants.management.ops import OpsCommand


class Command(OpsCommand):
    help = (
        "Delete a clinic and everything it owns, for good: every clinic-owned row, its stored "
        "files, and the accounts of people who belonged to no other clinic (--keep-users keeps "
        "them). Refused for an active clinic (suspend it first). You must type the clinic's "
        "code to confirm, or pass it as --confirm CODE when running without a terminal. The "
        "audit log keeps the clinic's history and a record of the purge. Export first: "
        "export_tenant."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="The clinic's code (see `manage.py tenants`).")
        parser.add_argument("--reason", required=True, help="Why (kept in the audit log).")
        parser.add_argument(
            "--confirm", metavar="CODE", help="The clinic's code again, instead of typing it."
        )
        parser.add_argument(
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Never prompt (then --confirm is required).",
        )
        parser.add_argument(
            "--keep-users",
            action="store_true",
            help="Keep the accounts of people who belong to no other clinic.",
        )

    def handle(self, *args, code, reason, confirm=None, keep_users=False, **options):
        tenant = self.clinic(code, purpose="purge (confirmation pending)")
        if confirm is None:
            if not options.get("interactive", True) or not sys.stdin.isatty():
                raise CommandError(
                    "Refusing to purge without confirmation: pass --confirm with the clinic's code."
                )
            self.stdout.write(
                self.style.WARNING(
                    f"This deletes {tenant.name} ({tenant.code}) and all of its data for good."
                )
            )
            confirm = input("Type the clinic's code to confirm: ").strip()
        if confirm != tenant.code:
            raise CommandError("The code you typed does not match; nothing was deleted.")

        def report(label, rows):
            if self.verbosity > 0 and rows:
                self.stdout.write(f"  {label}: {rows:,} row(s) deleted")

        counts = self.run_service(
            clinic_purge,
            tenant=tenant,
            reason=reason,
            keep_users=keep_users,
            progress=report,
            details=self.who(),
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Purged {tenant.code}: {sum(v for k, v in counts.items() if k != 'files'):,} "
                f"row(s), {counts['files']:,} file(s). The audit log keeps the record."
            )
        )
