from __future__ import annotations

from accounts.two_factor import two_factor_reset
from tenants.management.ops import OpsCommand


class Command(OpsCommand):
    help = (
        "Turn two-factor sign-in off for a person who lost both their authenticator and their "
        "recovery codes (check who asks first). Their device and recovery codes are removed; "
        "where it is required they set it up again at their next sign-in. Audited. Example: "
        "two_factor_reset bob@example.com --reason 'ticket 4411, identity checked by phone'"
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The person's login e-mail.")
        parser.add_argument("--reason", required=True, help="Why (kept in the audit log).")

    def handle(self, *args, email, reason, **options):
        user = self.run_service(two_factor_reset, email=email, reason=reason)
        self.stdout.write(self.style.SUCCESS(f"{user.email}: two-factor sign-in removed."))
