"""`Idempotency-Key` for API writes: a retried POST gets the first answer, not a duplicate.

The key is claimed by inserting a row inside the request's own transaction. A concurrent
request with the same key blocks on the unique index until the first one commits (then it
replays the stored answer) or rolls back (then it proceeds as if it were first). Keys are
per clinic and per person, and expire after a day.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.errors import ApplicationError, ConflictError
from tenants.models import IdempotencyKey

HEADER = "Idempotency-Key"
LIFETIME = timedelta(hours=24)


class IdempotentReplay(Exception):
    """Raised to short-circuit a view with the stored answer of an earlier request."""

    def __init__(self, response: Response):
        self.response = response


@dataclass
class Claim:
    row: IdempotencyKey


def _request_hash(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.path.encode())
    if request.content_type.startswith("multipart/"):
        _hash_form(digest, request)
    else:
        digest.update(request.body or b"")
    return digest.hexdigest()


def _hash_form(digest, request) -> None:
    """An upload's fields and files, as parsed. Its raw body may be larger than Django holds
    in memory (DATA_UPLOAD_MAX_MEMORY_SIZE; files above it are streamed to disk), so the
    files are read back in chunks and rewound for the view."""
    for name, values in sorted(request.POST.lists()):
        digest.update(repr(("field", name, values)).encode())
    for name, files in sorted(request.FILES.lists()):
        for upload in files:
            digest.update(repr(("file", name, upload.name, upload.size)).encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)


def claim(request) -> Claim | None:
    """Claim the request's key, or raise IdempotentReplay with the earlier answer."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ApplicationError(
            f"{HEADER} must be 1 to 255 printable characters.", code="invalid_idempotency_key"
        )
    fingerprint = _request_hash(request)
    user_id = request.user.pk
    IdempotencyKey.objects.filter(
        user_id=user_id, key=key, created_at__lt=timezone.now() - LIFETIME
    ).delete()
    try:
        with transaction.atomic():
            row = IdempotencyKey.objects.create(user_id=user_id, key=key, request_hash=fingerprint)
        return Claim(row)
    except IntegrityError:
        pass
    earlier = IdempotencyKey.objects.get(user_id=user_id, key=key)
    if earlier.request_hash != fingerprint:
        raise ApplicationError(
            f"This {HEADER} was already used for a different request.",
            code="idempotency_key_reused",
            status_code=422,
        )
    if earlier.status_code is None:
        raise ConflictError(
            "A request with this key is still being processed.", code="idempotency_in_progress"
        )
    response = Response(earlier.response_body, status=earlier.status_code)
    response["Idempotent-Replayed"] = "true"
    raise IdempotentReplay(response)


def record(claim_: Claim, response) -> None:
    """Store a successful answer for replays; forget the key otherwise so a retry runs."""
    if transaction.get_rollback():
        return  # the request failed: its claim is rolled back with everything else
    if 200 <= response.status_code < 300:
        body = json.loads(JSONRenderer().render(response.data)) if response.data else None
        IdempotencyKey.objects.filter(pk=claim_.row.pk).update(
            status_code=response.status_code, response_body=body
        )
    else:
        IdempotencyKey.objects.filter(pk=claim_.row.pk).delete()
