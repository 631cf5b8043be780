"""Transactional e-mail: templates as subject, text and HTML, queued in the outbox.

`templates/emails/<name>-subject.txt`, `<name>-body.txt` and `<name>-body.html` make one
message. It is rendered at once and written to the e-mail outbox (tenants.outbox) in the
surrounding transaction: a rolled-back signup never e-mails anyone, a committed one never
loses its e-mail, and the request never waits on the mail server. `manage.py send_outbox`
sends it (beside `make run`'s server; a separate process in production).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

_suppressed: ContextVar[bool] = ContextVar("clinic_email_suppressed", default=False)


@contextmanager
def emails_suppressed() -> Iterator[None]:
    """Send nothing inside the block (demo data: nobody reads those inboxes)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def render_email(name: str, context: dict) -> tuple[str, str, str]:
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"emails/{name}-subject.txt", context).strip().replace("\n", " ")
    text = render_to_string(f"emails/{name}-body.txt", context)
    html = render_to_string(f"emails/{name}-body.html", context)
    return subject, text, html


def _deliver_now(subject: str, text: str, html: str, recipient: str) -> None:
    # Tests only (OUTBOX_DELIVER_ON_COMMIT): the suite's many flows read Django's test
    # outbox right after a request, so each queued e-mail is also handed to the test mail
    # backend once its transaction commits. The outbox row is written all the same.
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [recipient])
    message.attach_alternative(html, "text/html")
    message.send()


def send_templated_email(name: str, *, to: str | list[str], context: dict) -> None:
    """Render the e-mail and queue it, one outbox row per recipient, in this transaction."""
    if _suppressed.get():
        return
    from tenants.outbox import outbox_email_enqueue

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
