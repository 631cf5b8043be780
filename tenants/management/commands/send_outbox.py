from __future__ import annotations

import json
import signal
import time

from django.conf import settings
from django.db import close_old_connections

from tenants.management.ops import OpsCommand
from tenants.outbox import outbox_failures, outbox_prune, outbox_retry, outbox_send_due

PRUNE_EVERY_SECONDS = 3600


class Command(OpsCommand):
    help = (
        "Send the e-mails queued in the outbox: loops until stopped (make run starts it beside "
        "the server; run one or more in production), or --once. A failed e-mail is retried "
        "with growing delays and marked failed after OUTBOX_MAX_ATTEMPTS tries. --failed lists "
        "the failed ones (--json for scripts); --retry-failed queues them again. Reading and "
        "updating the outbox is platform access, recorded in the audit log only when there is "
        "something to send."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Send what is due, then exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=2.0,
            help="Seconds between looks at the outbox when it is idle (default 2).",
        )
        parser.add_argument(
            "--failed", action="store_true", help="List the e-mails that were given up on."
        )
        parser.add_argument("--json", action="store_true", help="With --failed: print JSON.")
        parser.add_argument(
            "--retry-failed", action="store_true", help="Queue every failed e-mail again."
        )

    def handle(self, *args, **options):
        if options["failed"]:
            return self._list_failed(as_json=options["json"])
        if options["retry_failed"]:
            count = outbox_retry()
            self.stdout.write(f"{count} failed e-mail(s) queued again.")
            return
        if options["once"]:
            self._send_all_due()
            return
        self._loop(options["interval"])

    def _list_failed(self, *, as_json: bool) -> None:
        rows = outbox_failures(reason="manage.py send_outbox --failed")
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            self.stdout.write(
                f"{row['created_at'][:19]}  {row['template']:<16} {row['recipient']:<32} "
                f"{row['attempts']} tries  {row['last_error']}"
            )
        self.stdout.write(f"{len(rows)} failed e-mail(s).")

    def _send_all_due(self) -> int:
        """Send batches until nothing more is due now; returns how many were handled."""
        handled = 0
        while True:
            result = outbox_send_due()
            handled += result.handled
            if result.handled:
                self.stdout.write(
                    f"e-mails: {result.sent} sent, {result.retrying} to retry, "
                    f"{result.failed} failed"
                )
            if result.handled < settings.OUTBOX_BATCH_SIZE or result.sent == 0:
                return handled

    def _loop(self, interval: float) -> None:
        stopping = []

        def stop(signum, frame):
            stopping.append(signum)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Sending queued e-mails every {interval:g}s (stop with Ctrl-C).")
        last_prune = 0.0
        while not stopping:
            try:
                if time.monotonic() - last_prune > PRUNE_EVERY_SECONDS:
                    outbox_prune()
                    last_prune = time.monotonic()
                self._send_all_due()
            except Exception as exc:  # the database restarting must not end the worker
                self.stderr.write(f"send_outbox: {type(exc).__name__}: {exc}")
            finally:
                close_old_connections()
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(0.2, interval))
        self.stdout.write("send_outbox stopped.")
