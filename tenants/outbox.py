"""The e-mail outbox: every e-mail is a row written in the transaction of the change causing
it, and a worker (`manage.py send_outbox`) sends it.

So a committed invitation, verification or password reset never loses its e-mail (a mail
server that is down only delays it: the worker retries with backoff and, after
OUTBOX_MAX_ATTEMPTS, marks it failed for operators to see in the admin and in
`manage.py tenants`), a rolled-back change never sends one, and no request waits on the mail
server, which would tell an observer whether an account exists.

Who may do what (tenants.dbroles.RUNTIME_LIMITED_TABLES, row-level security kind "outbox"):

* the runtime role inserts rows, for the clinic in context or for none (a person's own events,
  such as a password reset, have no clinic), and reads only the progress columns (status and
  times), which is all the backlog, the worker's polling and /readyz need;
* the worker reads recipients and contents and updates rows as the platform role, inside
  `platform_access(...)`, entered only when something is due, so an idle worker writes nothing
  to the audit log.

Sending is at least once: a worker that dies between handing a batch to the mail server and
committing sends that batch again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from core.email import emails_are_suppressed, render_email
from tenants.context import current
from tenants.models import OutboxEmail
from tenants.platform import platform_access

logger = logging.getLogger(__name__)

PENDING, SENT, FAILED = (
    OutboxEmail.Status.PENDING,
    OutboxEmail.Status.SENT,
    OutboxEmail.Status.FAILED,
)


@transaction.atomic
def outbox_email_enqueue(
    *, template: str, to: str, subject: str, text: str, html: str = ""
) -> OutboxEmail:
    """Queue one e-mail in the current transaction (the caller's change commits with it)."""
    email = OutboxEmail(
        tenant_id=current().tenant_id,
        template=template,
        recipient=to,
        subject=subject[:300],
        body_text=text,
        body_html=html,
    )
    # No uniqueness check: it would read the table, which the runtime role may not.
    email.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
    email.save(force_insert=True)
    return email


@dataclass
class Backlog:
    pending: int
    failed: int
    oldest_pending_at: datetime | None
    next_due_at: datetime | None

    @property
    def oldest_pending_seconds(self) -> float:
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, (timezone.now() - self.oldest_pending_at).total_seconds())


def outbox_backlog() -> Backlog:
    """How far behind sending is, read as the runtime role from the progress columns only."""
    row = OutboxEmail.objects.filter(status__in=[PENDING, FAILED]).aggregate(
        pending=Count("status", filter=Q(status=PENDING)),
        failed=Count("status", filter=Q(status=FAILED)),
        oldest=Min("created_at", filter=Q(status=PENDING)),
        due=Min("next_attempt_at", filter=Q(status=PENDING)),
    )
    return Backlog(row["pending"], row["failed"], row["oldest"], row["due"])


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the n-th failed attempt, capped."""
    base = settings.OUTBOX_RETRY_SECONDS
    return timedelta(
        seconds=min(base * 2 ** max(attempts - 1, 0), settings.OUTBOX_RETRY_MAX_SECONDS)
    )


@dataclass
class SendResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed


def _record_failure(email: OutboxEmail, error: str, now: datetime, result: SendResult) -> None:
    email.attempts += 1
    email.last_error = error[:500]
    if email.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        email.status = FAILED
        result.failed += 1
        logger.error(
            "E-mail %s (%s) failed %s times; giving up: %s",
            email.pk,
            email.template,
            email.attempts,
            email.last_error,
        )
    else:
        email.next_attempt_at = now + retry_delay(email.attempts)
        result.retrying += 1
        logger.warning(
            "E-mail %s (%s) not sent (attempt %s), retrying at %s: %s",
            email.pk,
            email.template,
            email.attempts,
            email.next_attempt_at.isoformat(),
            email.last_error,
        )
    result.errors.append(email.last_error)
    email.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])


def _message(email: OutboxEmail, connection) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        email.subject,
        email.body_text,
        settings.DEFAULT_FROM_EMAIL,
        [email.recipient],
        connection=connection,
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    return message


def outbox_send_due(*, limit: int | None = None) -> SendResult:
    """Send the e-mails that are due (one batch). Safe to run in several workers at once:
    rows are claimed with SKIP LOCKED."""
    result = SendResult()
    now = timezone.now()
    backlog = outbox_backlog()
    if not backlog.pending or backlog.next_due_at is None or backlog.next_due_at > now:
        return result  # nothing due: no platform access, nothing in the audit log
    limit = limit or settings.OUTBOX_BATCH_SIZE
    with platform_access(
        reason="send queued e-mails (send_outbox)",
        action="outbox.send",
        details={"pending": backlog.pending},
    ):
        batch = list(
            OutboxEmail.objects.select_for_update(skip_locked=True)
            .filter(status=PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")[:limit]
        )
        if not batch:
            return result
        connection = get_connection(fail_silently=False)
        try:
            connection.open()
        except Exception as exc:  # the mail server is down: every e-mail waits
            error = f"{type(exc).__name__}: {exc}"
            for email in batch:
                _record_failure(email, error, now, result)
            return result
        try:
            for email in batch:
                try:
                    _message(email, connection).send()
                except Exception as exc:
                    _record_failure(email, f"{type(exc).__name__}: {exc}", now, result)
                    continue
                # A sent e-mail's contents (one-time links) are not kept; the row stays as
                # the record of what was sent to whom, until outbox_prune().
                email.status = SENT
                email.sent_at = timezone.now()
                email.attempts += 1
                email.last_error = ""
                email.body_text = email.body_html = ""
                email.save(
                    update_fields=[
                        "status",
                        "sent_at",
                        "attempts",
                        "last_error",
                        "body_text",
                        "body_html",
                    ]
                )
                result.sent += 1
        finally:
            try:
                connection.close()
            except Exception:  # closing a broken SMTP session must not undo the batch
                logger.warning("Closing the mail connection failed", exc_info=True)
    return result


def outbox_failures(*, reason: str = "list failed e-mails") -> list[dict]:
    """The e-mails the worker gave up on, for operators (platform access, audited)."""
    with platform_access(reason=reason, action="outbox.read"):
        return [
            {
                "id": str(email.pk),
                "clinic": str(email.tenant_id) if email.tenant_id else None,
                "template": email.template,
                "recipient": email.recipient,
                "attempts": email.attempts,
                "created_at": email.created_at.isoformat(),
                "last_error": email.last_error,
            }
            for email in OutboxEmail.objects.filter(status=FAILED).order_by("created_at")
        ]


def outbox_counts_by_clinic() -> dict:
    """{clinic id or None: {"pending": n, "failed": n}}; call inside platform_access()."""
    counts: dict = {}
    rows = (
        OutboxEmail.objects.filter(status__in=[PENDING, FAILED])
        .values("tenant_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts.setdefault(row["tenant_id"], {"pending": 0, "failed": 0})[row["status"]] = row["n"]
    return counts


@transaction.atomic
def outbox_retry(*, ids=None, actor=None) -> int:
    """Queue failed e-mails again (all of them, or those ids), with a fresh set of attempts."""
    with platform_access(reason="retry failed e-mails", action="outbox.retry", actor=actor):
        queryset = OutboxEmail.objects.filter(status=FAILED)
        if ids is not None:
            queryset = queryset.filter(pk__in=list(ids))
        return queryset.update(status=PENDING, attempts=0, next_attempt_at=timezone.now())


def outbox_prune(*, keep_days: int | None = None) -> int:
    """Delete sent e-mails queued more than OUTBOX_KEEP_DAYS ago (their contents are already
    gone). Platform access (audited) only when there is something to delete."""
    keep_days = settings.OUTBOX_KEEP_DAYS if keep_days is None else keep_days
    old = OutboxEmail.objects.filter(
        status=SENT, created_at__lt=timezone.now() - timedelta(days=keep_days)
    )
    if not old.exists():  # progress columns only: the runtime role may ask
        return 0
    with platform_access(reason="prune sent e-mails", action="outbox.prune"):
        deleted, _ = old.delete()
    return deleted


def _deliver_now(subject: str, text: str, html: str, recipient: str) -> None:
    # Tests only (OUTBOX_DELIVER_ON_COMMIT): the suite's many flows read Django's test
    # outbox right after a request, so each queued e-mail is also handed to the test mail
    # backend once its transaction commits. The outbox row is written all the same.
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [recipient])
    message.attach_alternative(html, "text/html")
    message.send()


def send_templated_email(name: str, *, to: str | list[str], context: dict) -> None:
    """Render the e-mail and queue it, one outbox row per recipient, in this transaction."""
    if emails_are_suppressed():
        return
    recipients = [to] if isinstance(to, str) else list(to)
    subject, text, html = render_email(name, context)
    for recipient in recipients:
        email = outbox_email_enqueue(
            template=name, to=recipient, subject=subject, text=text, html=html
        )
        if settings.OUTBOX_DELIVER_ON_COMMIT:
            transaction.on_commit(
                partial(_deliver_now, subject, text, html, recipient), using=email._state.db
            )
