from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from clinics.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = (
        "Create the demo clinics (a dental practice and a family clinic, with doctors and their "
        "availability, staff, patients and families, appointments and prescriptions) and the "
        "shared starter medicine catalogue, and print the logins. Idempotent: clinics that "
        "exist are left as they are."
    )

    def handle(self, *args, **options):
        self.stdout.write("Demo clinics:")
        seeded = demo_seed(write=self.stdout.write)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        for clinic, people in seeded:
            self.stdout.write(f"  {clinic}")
            for person in people:
                role = "owner" if person.role.startswith("admin") else person.role
                self.stdout.write(f"    {person.email:<24} {role}")
        self.stdout.write("")
        site = settings.SITE_URL
        self.stdout.write(f"Site: {site}/  API docs: {site}/api/docs/  Admin: {site}/admin/")
        self.stdout.write(
            f"Workspace: every login above opens {site}/admin/ in its clinic, with what its role "
            "may see and do (docs/permissions.md)."
        )
        self.stdout.write(
            "E-mails (invitations, verification, password reset) are queued in the outbox and "
            "sent by `manage.py send_outbox`, which `make run` runs beside the server; in "
            "development they are printed to this terminal (EMAIL_URL=consolemail://)."
        )
