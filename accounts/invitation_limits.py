"""How many invitation e-mails a clinic may send, and one address may receive (issue 12, item 4).

Every invitation and every resend puts an e-mail with a clinic-chosen name and inviter into
somebody's inbox, so both are limited where they are made, in the invitation service: the
API, the team page, the admin and any later caller share the same budgets.

* per clinic: `INVITATION_RATE_PER_CLINIC` (default 60/hour), so one clinic cannot spray
  e-mails;
* per recipient, across all clinics: `INVITATION_RATE_PER_RECIPIENT` (default 5/hour), so
  one inbox cannot be flooded by many free clinics.

Counters are fixed windows in the cache (`cache.add` then `cache.incr`, both atomic in the
cache backends Django ships), keyed by the clinic's id and by a digest of the address.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

from core.errors import Throttled

PERIODS = {
    **dict.fromkeys(("s", "sec", "second"), 1),
    **dict.fromkeys(("m", "min", "minute"), 60),
    **dict.fromkeys(("h", "hour"), 3600),
    **dict.fromkeys(("d", "day"), 86400),
}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "60/hour" → (60, 3600). A malformed rate is a configuration error, raised at once."""
    try:
        count, period = str(rate).split("/", 1)
        seconds = PERIODS[period.strip().lower().rstrip("s") or period.strip().lower()]
        return int(count), seconds
    except (KeyError, ValueError) as exc:
        raise ValueError(
            f"Invalid rate {rate!r}: use N/second, N/minute, N/hour or N/day."
        ) from exc


def _hit(key: str, limit: int, period: int, now: float) -> int:
    """Count one event in the current window; the seconds to wait when over the limit."""
    window = int(now // period)
    full_key = f"invitation-limit:{key}:{period}:{window}"
    cache.add(full_key, 0, timeout=period + 1)
    try:
        count = cache.incr(full_key)
    except ValueError:
        # The entry expired between add and incr (a window boundary): start again.
        cache.add(full_key, 1, timeout=period + 1)
        count = 1
    if count <= limit:
        return 0
    return max(1, math.ceil((window + 1) * period - now))


def invitation_send_check(*, tenant_id, email: str) -> None:
    """Count one invitation e-mail to `email` from the clinic; raise `Throttled` (429 with
    Retry-After) when the clinic or the recipient is over its limit."""
    now = time.time()
    recipient = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    waits = []
    for key, rate in (
        (f"clinic:{tenant_id}", settings.INVITATION_RATE_PER_CLINIC),
        (f"recipient:{recipient}", settings.INVITATION_RATE_PER_RECIPIENT),
    ):
        limit, period = parse_rate(rate)
        waits.append(_hit(key, limit, period, now))
    wait = max(waits)
    if wait:
        raise Throttled(
            "Too many invitations were sent just now; try again later.",
            code="invitation_throttled",
            retry_after=wait,
        )
