"""What every operations command shares: finding a clinic by its code (audited platform
access), turning a service's refusal into a readable non-zero exit, and progress output."""

from __future__ import annotations

import getpass
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from tenants.selectors import tenant_by_code


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


class Progress:
    """A one-line progress bar on a terminal; a line per tenth of the work elsewhere (logs,
    cron mail), so long runs show they are alive without flooding the output."""

    WIDTH = 30

    def __init__(self, out, label: str, total: int | None, *, enabled: bool = True):
        self.out, self.label, self.total = out, label, total
        self.enabled = enabled
        self.done = 0
        self._tty = bool(getattr(getattr(out, "_out", out), "isatty", lambda: False)())
        self._last_step = -1
        self._last_draw = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        if self._tty:
            now = time.monotonic()
            if now - self._last_draw >= 0.1 or self.done == self.total:
                self._draw()
                self._last_draw = now
        elif self.total:
            step = self.done * 10 // self.total
            if step != self._last_step and step < 10:
                self._last_step = step
                self.out.write(f"  {self.label}: {self.done:,}/{self.total:,}")

    def _draw(self) -> None:
        if self.total:
            filled = self.WIDTH * self.done // self.total
            bar = "█" * filled + "·" * (self.WIDTH - filled)
            text = f"\r  {self.label}: {bar} {self.done:,}/{self.total:,}"
        else:
            text = f"\r  {self.label}: {self.done:,}"
        self.out.write(text, ending="")
        self.out.flush()

    def finish(self, note: str = "") -> None:
        if not self.enabled:
            return
        if self._tty:
            self._draw()
            self.out.write("")
        suffix = f" {note}" if note else ""
        self.out.write(f"  {self.label}: {self.done:,} done{suffix}")


class OpsCommand(BaseCommand):
    """Base of the clinic operations commands."""

    @property
    def command_name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]

    def who(self) -> dict:
        """Recorded with every platform access a command makes: commands have no logged-in
        person, so the audit log keeps the command and the operating-system account."""
        return {"command": self.command_name, "os_user": os_user(), "argv": sys.argv[1:][:20]}

    def clinic(self, code: str, *, purpose: str):
        tenant = tenant_by_code(
            code, reason=f"manage.py {self.command_name}: {purpose}", details=self.who()
        )
        if tenant is None:
            raise CommandError(
                f"No clinic has the code {code!r}. `manage.py tenants` lists every clinic."
            )
        return tenant

    def run_service(self, function, **kwargs):
        try:
            return function(**kwargs)
        except ApplicationError as exc:
            details = "".join(
                f"\n  {field}: {' '.join(map(str, messages))}"
                for field, messages in exc.field_errors.items()
            )
            raise CommandError(f"{exc.detail} ({exc.code}){details}") from exc

    def progress(self, label: str, total: int | None) -> Progress:
        return Progress(self.stdout, label, total, enabled=self.verbosity > 0)

    def execute(self, *args, **options):
        self.verbosity = options.get("verbosity", 1)
        return super().execute(*args, **options)
