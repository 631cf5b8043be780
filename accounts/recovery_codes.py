"""Two-factor recovery codes: ten one-time codes a person keeps for when their phone is
gone. Only salted digests are stored; the codes themselves are shown once."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from accounts.models import RecoveryCode, User
from tenants.context import user_context

RECOVERY_CODE_COUNT = 10


# 12 characters of a 31-character alphabet without look-alikes (no i, l, o, 0, 1): about
# 59 random bits per code.
RECOVERY_CODE_LENGTH = 12


_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def normalized_code(code: str) -> str:
    """A typed code as compared: no spaces or dashes, lower case (TOTP and recovery codes)."""
    return "".join(str(code or "").split()).replace("-", "").lower()


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{normalized_code(code)}".encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


@transaction.atomic
def recovery_codes_generate(*, user: User) -> list[str]:
    """A fresh set of recovery codes (the old ones stop working). Only digests are stored;
    the returned codes are shown once."""
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    with user_context(user):
        RecoveryCode.objects.filter(user_id=user.pk).delete()
        rows = []
        for code in codes:
            salt = secrets.token_hex(16)
            row = RecoveryCode(user_id=user.pk, salt=salt, digest=_digest(salt, code))
            row.full_clean(exclude=["user"])
            rows.append(row)
        RecoveryCode.objects.bulk_create(rows)
    return codes


@transaction.atomic
def recovery_code_use(*, user: User, code: str) -> bool:
    """Accept an unused recovery code once."""
    with user_context(user):
        unused = list(
            RecoveryCode.objects.select_for_update().filter(user_id=user.pk, used_at__isnull=True)
        )
        for row in unused:
            # Compared in constant time; every unused code is checked, match or not.
            if hmac.compare_digest(row.digest, _digest(row.salt, code)):
                RecoveryCode.objects.filter(pk=row.pk).update(used_at=timezone.now())
                return True
    return False


def recovery_codes_left(*, user: User) -> int:
    with user_context(user):
        return RecoveryCode.objects.filter(user_id=user.pk, used_at__isnull=True).count()
