from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.management.base import CommandError

from clinics.billing.services import enterprise_terms_set
from tenants.management.ops import OpsCommand


def _limit(value: str) -> int | None:
    if value in ("", "unlimited"):
        return None
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a whole number or 'unlimited'.") from None
    if number < 1:
        raise CommandError("A limit is at least 1.")
    return number


class Command(OpsCommand):
    help = (
        "Put a clinic on an Enterprise agreement: its own limits and monthly price before GST "
        "(the per-clinic overrides). Recorded in the plan history and the audit log. Example: "
        "set_enterprise asha-dental --max-doctors 250 --max-patients unlimited "
        "--price 45000 --reason 'agreement 2026-07'"
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="The clinic's code (see `manage.py tenants`).")
        parser.add_argument("--max-doctors", default="unlimited", help="Or 'unlimited'.")
        parser.add_argument("--max-patients", default="unlimited", help="Or 'unlimited'.")
        parser.add_argument(
            "--price", default="", help="Monthly price in rupees before GST; empty: not billed."
        )
        parser.add_argument("--reason", required=True, help="The agreement (kept in the log).")

    def handle(self, *args, code, max_doctors, max_patients, price, reason, **options):
        try:
            monthly = Decimal(price) if price else None
        except InvalidOperation:
            raise CommandError(f"{price!r} is not an amount of rupees.") from None
        tenant = self.clinic(code, purpose="set Enterprise terms")
        tenant = self.run_service(
            enterprise_terms_set,
            tenant=tenant,
            actor=None,
            max_doctors=_limit(max_doctors),
            max_patients=_limit(max_patients),
            monthly_price_inr=monthly,
            reason=reason,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{tenant.code}: Enterprise, doctors {tenant.max_doctors or 'unlimited'}, "
                f"patients {tenant.max_patients or 'unlimited'}, "
                f"price {tenant.custom_monthly_price_inr or 'not billed'}."
            )
        )
