from __future__ import annotations

from django.core.management.base import BaseCommand

from tenants.services import trials_expire


class Command(BaseCommand):
    help = (
        "Move every clinic whose free trial has ended to 'expired' (run daily, e.g. from "
        "cron). Expired clinics keep their data readable; writes answer 402 until the owner "
        "chooses a plan."
    )

    def handle(self, *args, **options):
        expired = trials_expire()
        for tenant in expired:
            self.stdout.write(f"expired: {tenant.code} ({tenant.name})")
        self.stdout.write(self.style.SUCCESS(f"{len(expired)} trial(s) expired."))
