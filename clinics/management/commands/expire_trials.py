from __future__ import annotations

from django.core.management.base import BaseCommand

from clinics.billing.services import billing_run


class Command(BaseCommand):
    help = (
        "The daily job under its old name: the same as `billing_run`. Moves every clinic "
        "whose free trial has ended to 'expired' (data readable; writes answer 402 until an "
        "invoice for a plan is paid), opens renewals, marks overdue invoices and makes "
        "clinics with a renewal unpaid past the grace period read-only."
    )

    def handle(self, *args, **options):
        report = billing_run()
        for code in report.trials_expired:
            self.stdout.write(f"expired: {code}")
        for line in report.lines():
            self.stdout.write(line)
