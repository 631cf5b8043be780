"""The clinics table's policy, before and after accounts/0009, on the same data in one run.

    python bench/tenant_policy_ab.py [--clinics 300] [--patients 1000] [--rounds 200]

The per-request membership check (membership + person + clinic in one statement, as the API
sends it, recorded by bench/workload.py) is timed as the runtime role (RLS on) and as the
BYPASSRLS platform role (RLS off), with each of two policy sets on `tenants_tenant`:

- "member sub-select" (until accounts/0009): this clinic, or any clinic the person in context
  is an active member of (a sub-select on memberships, themselves under RLS);
- "this clinic" (accounts/0009): the bare `id = clinic` equality.

Both policy sets are installed by turns inside one transaction on one connection, which is
rolled back at the end: the database keeps the policies it had. The transaction holds a lock
on the clinics table meanwhile, so run it alone on the benchmark database.

Since accounts/0012 the API sends the check as a call of `clinic_membership_check()`, and the
recorded statement is that call: a role switch on the one connection makes PostgreSQL plan
the function's statement again each time, so this experiment's numbers compare with each
other only. The numbers of docs/performance.md it produced were taken before accounts/0012.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, datagen, workload

VARIANTS = {
    "member sub-select (before)": "tenant_root_with_member_clinics",
    "this clinic (accounts/0009)": "tenant_root",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=300)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    datagen.ensure(args.clinics, args.patients, quiet=True)

    from django.conf import settings

    from tenants import rls

    clinics = datagen.bench_clinics()
    picks = random.Random(8).sample(range(len(clinics)), min(3, len(clinics)))
    checks = []
    for n in picks:
        queries = workload.capture(clinics[n], n)
        checks += [q for q in queries if q.name.endswith(workload.MEMBERSHIP_CHECK)]
    connection = workload.connect_admin()
    connection.autocommit = False
    cursor = connection.cursor()
    roles = {
        "on": settings.DATABASES["default"]["USER"],
        "off": settings.DATABASES["platform"]["USER"],
    }
    timings = {(v, side): [] for v in VARIANTS for side in roles}
    try:
        for _ in common.progress(range(args.rounds), args.rounds, "rounds"):
            for variant, kind in random.sample(list(VARIANTS.items()), len(VARIANTS)):
                cursor.execute("RESET ROLE")
                for statement in rls.enable_sql("tenants_tenant", kind):
                    cursor.execute(statement)
                for query in checks:
                    for side in random.sample(list(roles), 2):
                        cursor.execute(f'SET ROLE "{roles[side]}"')
                        for _ in range(2):  # the first run after the swap plans cold
                            start = time.perf_counter()
                            workload.run(cursor, query)
                        timings[(variant, side)].append(time.perf_counter() - start)
    finally:
        connection.rollback()
        connection.close()

    print(f"Clinics policy before and after accounts/0009, on {common.machine()}")
    print(
        f"  {args.clinics:,} clinics x {args.patients:,} patients; the membership check of "
        f"{len(checks)} clinics, {args.rounds} interleaved rounds"
    )
    rows = []
    for variant in VARIANTS:
        on, off = (statistics.median(timings[(variant, side)]) for side in ("on", "off"))
        rows.append(
            [
                variant,
                f"{off * 1000:.3f}",
                f"{on * 1000:.3f}",
                f"{(on - off) * 1e6:+.0f}",
                f"{on / off:.2f}x",
            ]
        )
    print(common.table(rows, ["clinics policy", "RLS off ms", "RLS on ms", "extra us", "ratio"]))


if __name__ == "__main__":
    main()
