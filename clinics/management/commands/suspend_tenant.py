from __future__ import annotations

from tenants.management.ops import OpsCommand
from tenants.services import tenant_suspend


class Command(OpsCommand):
    help = (
        "Suspend a clinic (unpaid invoices, abuse, legal hold): its people can still log in, "
        "read and export, but every write is refused until `reactivate_tenant`. The reason is "
        "kept in the clinic's audit log. Example: suspend_tenant asha-dental --reason "
        "'invoice 2026-114 unpaid'"
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="The clinic's code (see `manage.py tenants`).")
        parser.add_argument("--reason", required=True, help="Why (kept in the audit log).")

    def handle(self, *args, code, reason, **options):
        tenant = self.clinic(code, purpose="suspend")
        self.run_service(tenant_suspend, tenant=tenant, actor=None, reason=reason)
        self.stdout.write(self.style.SUCCESS(f"{tenant.code}: suspended (read-only)."))
