from __future__ import annotations

from clinics.billing.services import plan_set
from tenants import plans
from tenants.management.ops import OpsCommand


class Command(OpsCommand):
    help = (
        "An operator's decision: change a clinic's plan now, without an invoice (owners ask "
        "for plans on the plan page and pay an invoice first). A plan below the clinic's "
        "usage is refused with the numbers; the change is recorded in the plan history and "
        "the audit log with --reason. Example: set_plan asha-dental basic --reason 'paid by "
        "cheque 004512'"
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="The clinic's code (see `manage.py tenants`).")
        parser.add_argument("plan", choices=list(plans.PLANS), help="The new plan.")
        parser.add_argument("--reason", default="", help="Why (kept in the plan history).")

    def handle(self, *args, code, plan, reason, **options):
        tenant = self.clinic(code, purpose=f"change plan to {plan}")
        old = tenant.plan
        tenant = self.run_service(
            plan_set, tenant=tenant, actor=None, plan=plan, reason=reason or "manage.py set_plan"
        )
        self.stdout.write(self.style.SUCCESS(f"{tenant.code}: plan {old} → {tenant.plan}."))
