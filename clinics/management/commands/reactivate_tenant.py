from __future__ import annotations

from tenants.management.ops import OpsCommand
from tenants.services import tenant_reactivate


class Command(OpsCommand):
    help = (
        "Lift a clinic's suspension. A trial that ended meanwhile comes back as 'expired' "
        "(read-only until the owner chooses a plan). Example: reactivate_tenant asha-dental "
        "--reason 'paid'"
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="The clinic's code (see `manage.py tenants`).")
        parser.add_argument("--reason", default="", help="Why (kept in the audit log).")

    def handle(self, *args, code, reason, **options):
        tenant = self.clinic(code, purpose="reactivate")
        tenant = self.run_service(tenant_reactivate, tenant=tenant, actor=None, reason=reason)
        self.stdout.write(self.style.SUCCESS(f"{tenant.code}: {tenant.get_status_display()}."))
