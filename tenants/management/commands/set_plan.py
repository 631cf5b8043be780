from __future__ import annotations

from tenants import plans
from tenants.management.ops import OpsCommand
from tenants.services import plan_change


class Command(OpsCommand):
    help = (
        "Change a clinic's plan, with the same checks as the owner's own change: a plan below "
        "the clinic's current usage (doctors, patients) is refused with the numbers, and the "
        "change is recorded (plan history and audit log). Example: set_plan asha-dental basic"
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="The clinic's code (see `manage.py tenants`).")
        parser.add_argument("plan", choices=list(plans.PLANS), help="The new plan.")

    def handle(self, *args, code, plan, **options):
        tenant = self.clinic(code, purpose=f"change plan to {plan}")
        old = tenant.plan
        tenant = self.run_service(plan_change, tenant=tenant, actor=None, plan=plan)
        self.stdout.write(self.style.SUCCESS(f"{tenant.code}: plan {old} → {tenant.plan}."))
