from __future__ import annotations

from clinics.services import clinic_provision
from tenants import plans
from tenants.management.ops import OpsCommand


class Command(OpsCommand):
    help = (
        "Create a clinic and invite its owner (for sales-led sign-ups and migrations). The owner "
        "gets an invitation e-mail with a one-time link and becomes the owner by accepting it "
        "(a new person chooses a password there; someone with an account signs in first). "
        "Prints the clinic's code, which the other commands take. Example: create_tenant "
        "--name 'Green Valley Clinic' --owner-email neha@greenvalley.example --plan basic"
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The clinic's name.")
        parser.add_argument("--owner-email", required=True, help="The owner's e-mail address.")
        parser.add_argument(
            "--owner-first-name", default="", help="As typed by you; the person confirms it."
        )
        parser.add_argument(
            "--owner-last-name", default="", help="As typed by you; the person confirms it."
        )
        parser.add_argument(
            "--plan",
            default=plans.TRIAL,
            choices=list(plans.PLANS),
            help="Subscription plan (default: trial, 30 days).",
        )
        parser.add_argument("--email", default="", help="The clinic's e-mail (default: owner's).")
        parser.add_argument("--phone", default="", help="The clinic's phone number.")
        parser.add_argument("--address", default="", help="The clinic's address.")

    def handle(self, *args, **options):
        tenant, invitation = self.run_service(
            clinic_provision,
            name=options["name"],
            owner_email=options["owner_email"],
            owner_first_name=options["owner_first_name"],
            owner_last_name=options["owner_last_name"],
            plan=options["plan"],
            email=options["email"],
            phone=options["phone"],
            address=options["address"],
            details=self.who(),
        )
        self.stdout.write(self.style.SUCCESS(f"Created clinic {tenant.code} ({tenant.name})."))
        self.stdout.write(f"  id:    {tenant.pk}")
        self.stdout.write(f"  plan:  {tenant.plan_info.name}")
        if tenant.trial_ends_at:
            self.stdout.write(f"  trial: ends {tenant.trial_ends_at:%Y-%m-%d}")
        self.stdout.write(
            f"  owner: {invitation.email} invited (link valid until "
            f"{invitation.expires_at:%Y-%m-%d})"
        )
