from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand

from clinics.billing.services import billing_run


class Command(BaseCommand):
    help = (
        "The daily billing job (run from cron, once a day): expire ended trials, apply "
        "downgrades whose paid period has ended, open renewal invoices BILLING_RENEWAL_DAYS "
        "before a period ends, mark unpaid invoices past their due date overdue, and make "
        "clinics read-only whose renewal is unpaid BILLING_GRACE_DAYS after its due date "
        "(paying reopens them at once)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="Run as of this day (YYYY-MM-DD); default today.")

    def handle(self, *args, date=None, **options):
        on = datetime.date.fromisoformat(date) if date else None
        report = billing_run(on=on, progress=self.stdout.write)
        for line in report.lines():
            self.stdout.write(line)
