"""Human-readable numbers per clinic: APT-YYYYMMDD-NNNN and RX-YYYYMMDD-NNNN.

One statement both creates the day's counter and increments it:

    INSERT … ON CONFLICT (tenant_id, kind, day) DO UPDATE SET last = last + 1 RETURNING last

The row it writes stays locked until the caller's transaction ends, so two concurrent
requests of one clinic can never draw the same number, and other clinics (other rows) never
wait. A rolled-back transaction takes its increment with it; numbers are unique per clinic,
and gaps would be harmless (design invariant 9: gap-tolerant and race-free).
"""

from __future__ import annotations

import datetime

from django.db import connection
from django.utils import timezone

from clinical.models import NumberCounter
from tenants.context import require_tenant_id

_NEXT = (
    f'INSERT INTO "{NumberCounter._meta.db_table}" (id, tenant_id, kind, day, last) '
    "VALUES (gen_random_uuid(), %s, %s, %s, 1) "
    "ON CONFLICT (tenant_id, kind, day) DO UPDATE SET last = "
    f'"{NumberCounter._meta.db_table}".last + 1 RETURNING last'
)


def next_number(kind: str, *, day: datetime.date | None = None) -> str:
    """The next number of `kind` (NumberCounter.Kind) for the clinic in context. Call it
    inside the transaction that saves the record."""
    if kind not in NumberCounter.Kind.values:
        raise ValueError(f"Unknown number kind {kind!r}.")
    day = day or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(_NEXT, [require_tenant_id(), kind, day])
        (last,) = cursor.fetchone()
    return f"{kind}-{day:%Y%m%d}-{last:04d}"
