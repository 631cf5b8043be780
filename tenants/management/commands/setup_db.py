from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tenants.services import database_setup


class Command(BaseCommand):
    help = (
        "Create (or correct) the three database roles and the database, idempotently: the "
        "owner role that runs migrations, the runtime role the application connects as "
        "(NOSUPERUSER, NOBYPASSRLS, owns nothing) and the platform role (BYPASSRLS, used only "
        "inside platform_access). Connects with DATABASE_ADMIN_URL (a superuser); role names, "
        "passwords and the database come from DATABASE_URL, DATABASE_OWNER_URL and "
        "DATABASE_PLATFORM_URL. The embedded development server does this by itself."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-url",
            default=None,
            help="Superuser URL to connect with (default: DATABASE_ADMIN_URL).",
        )

    def handle(self, *args, **options):
        admin_url = options["admin_url"] or settings.DATABASE_ADMIN_URL
        if not admin_url:
            raise CommandError("Set DATABASE_ADMIN_URL or pass --admin-url (a superuser URL).")
        try:
            created = database_setup(admin_url=admin_url)
        except Exception as exc:  # psycopg errors carry the server's message
            raise CommandError(f"Could not set up the database: {exc}") from exc
        db = settings.DATABASES["default"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Roles {settings.DATABASES['owner']['USER']} (owner), {db['USER']} (runtime), "
                f"{settings.DATABASES['platform']['USER']} (platform) ready; database "
                f"{db['NAME']} {'created' if created else 'already existed, grants refreshed'}."
            )
        )
