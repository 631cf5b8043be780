"""Transactional e-mail templates: each message is a subject, a text and an HTML body.

`templates/emails/<name>-subject.txt`, `<name>-body.txt` and `<name>-body.html` make one
message. This module only renders them; `tenants.outbox.send_templated_email` renders and
queues one in the surrounding transaction, because the queue is a clinic-scoped table of the
tenancy kernel.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
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


def emails_are_suppressed() -> bool:
    return _suppressed.get()


def render_email(name: str, context: dict) -> tuple[str, str, str]:
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"emails/{name}-subject.txt", context).strip().replace("\n", " ")
    text = render_to_string(f"emails/{name}-body.txt", context)
    html = render_to_string(f"emails/{name}-body.html", context)
    return subject, text, html
