"""Transactional e-mail: templates as subject, text and HTML, sent after commit.

`templates/emails/<name>-subject.txt`, `<name>-body.txt` and `<name>-body.html` make one
message. Sending waits for the surrounding transaction to commit, so a rolled-back signup
never e-mails anyone (and a failure to send never rolls back the signup).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)
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


def _send(name: str, to: list[str], context: dict) -> None:
    if _suppressed.get():
        return
    subject, text, html = render_email(name, context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception:
        logger.exception("Could not send the %s e-mail to %s", name, to)


def send_templated_email(name: str, *, to: str | list[str], context: dict) -> None:
    recipients = [to] if isinstance(to, str) else list(to)
    transaction.on_commit(partial(_send, name, recipients, context))
