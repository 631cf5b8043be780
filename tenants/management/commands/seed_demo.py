from __future__ import annotations

from django.core.management.base import BaseCommand

from tenants.demo import DEMO_PASSWORD, demo_seed


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
        self.stdout.write("API docs: http://127.0.0.1:8000/api/docs/  Admin: /admin/")
