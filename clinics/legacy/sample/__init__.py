"""A database shaped like the earlier system's, for tests, the benchmark and the README.

`create_schema` writes the earlier system's tables (docs: /work/shared/earlier-system.md,
summarised in docs/operations.md) in one of its two shapes: before clinics (no `tenants`, no
`tenant_id`), or with clinics (a `tenants` table and `tenant_id` on the 13 tables that had
it). `generate` fills it with plausible rows, streamed with COPY so a benchmark-sized source
(10,000 patients, 30,000 appointments, …) takes seconds. Everything is derived from a seeded
random generator: the same arguments give the same database.

* `schema` — the tables, in either shape.
* `fill` — `generate`: the shared medicines, the clinics, then each clinic in turn.
* `practice`, `visits`, `dental` — one clinic's rows, by resource; `base` — what they share.
"""

from __future__ import annotations

from clinics.legacy.sample.base import Clinic
from clinics.legacy.sample.fill import generate
from clinics.legacy.sample.schema import create_schema

__all__ = ["Clinic", "create_schema", "generate"]
