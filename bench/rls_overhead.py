"""Row-level security overhead: the application's own queries with the policies as shipped,
against the same queries on the same data with row-level security off.

    python bench/rls_overhead.py [--clinics 300] [--patients 1000] [--rounds 200]

The queries are the ones the API sends for a clinic's everyday reads (bench/workload.py
records them through the real API). Each is sent twice per round, interleaved, byte for
byte the same (the context prefix included):

- RLS on: as the runtime role (`clinic_app`), so PostgreSQL applies the clinic policies;
- RLS off: as the platform role, which has BYPASSRLS. That is the baseline this script sets
  up without touching the schema: same tables, same indexes, same statistics, and the
  queries already carry the ORM's own `tenant_id = ...` filter, so both return the same rows
  (checked before timing).

Both sides run on one connection (the admin URL's role switching with `SET ROLE` between
statements, untimed), so they share a backend process, its caches and its core. The
exception is a statement that reads through a cached-plan function (the membership check:
`clinic_membership_check()`): a role switch throws a function's cached plan away, and the
application's connections never switch roles, so it runs on a connection per role, the two
swapping roles every few rounds.

Goals (issue 17, part 3): every query at <= 1.05x its RLS-off time plus 20 us per protected
table the statement reads (the policies' planning; the table counts each table reference of
the SQL), and the per-request membership check at <= 1.10x. The table also splits the
difference into PostgreSQL's planning and execution time (EXPLAIN ANALYZE), which shows
whether the policies cost a constant (planning the extra conditions) or grow with the data.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, datagen, workload

GOAL = 1.05
# Planning a protected table's policies: the per-query goal allows this much per table read.
PLANNING_ALLOWANCE = 20e-6
MEMBERSHIP_GOAL = 1.10
# Rounds between two role swaps of the per-role connections (cached-plan statements).
SWAP_EVERY = 20


def explain_times(cursor, query) -> tuple[float, float]:
    """PostgreSQL's planning and execution time of the query, in milliseconds."""
    from tenants.backend.base import PREFIX_STATEMENTS

    cursor.execute(query.prefix + "EXPLAIN (ANALYZE, FORMAT JSON) " + query.sql)
    for _ in range(PREFIX_STATEMENTS):
        cursor.nextset()
    plan = cursor.fetchone()[0]
    [root] = json.loads(plan) if isinstance(plan, str) else plan
    return root["Planning Time"], root["Execution Time"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=300)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--sample", type=int, default=5, help="clinics whose queries are replayed")
    args = parser.parse_args()
    datagen.ensure(args.clinics, args.patients)

    from django.conf import settings

    from tenants.platform import platform_access

    clinics = datagen.bench_clinics()
    chosen = sorted(random.Random(8).sample(range(len(clinics)), min(args.sample, len(clinics))))
    per_clinic = [workload.capture(clinics[n], n) for n in chosen]
    names = [q.name for q in per_clinic[0]]

    # One connection for both sides, switching roles between statements: two connections
    # differ by tens of microseconds per query on their own (which backend process, which
    # core), as much as the policies cost.
    cursor = workload.connect_admin().cursor()
    roles = {"on": settings.DATABASES["default"]["USER"]}
    with platform_access(reason="benchmarks: RLS-off baseline"):
        roles["off"] = settings.DATABASES["platform"]["USER"]

    def as_role(side: str):
        cursor.execute(f'SET ROLE "{roles[side]}"')
        return cursor

    for queries in per_clinic:
        for query in queries:
            on, off = workload.run(as_role("on"), query), workload.run(as_role("off"), query)
            if on != off:
                raise SystemExit(f"{query.name}: {on} rows with RLS, {off} without")

    print(f"RLS overhead on {common.machine()}")
    print(
        f"  {args.clinics:,} clinics x {args.patients:,} patients; queries of {len(chosen)} "
        f"clinics, {args.rounds} interleaved rounds; RLS off = the same SQL as a BYPASSRLS role"
        " (SET ROLE on one connection)"
    )
    # A statement that reads through a cached-plan function (workload.CACHED_PLAN_FUNCTIONS)
    # is timed on two more connections, one per role, as the application's own connections
    # never switch roles (a role switch throws the function's cached plan away). The two swap
    # roles every SWAP_EVERY rounds, so neither backend's own speed favours one side.
    cached = {q.name for q in per_clinic[0] if workload.cached_plan_functions(q.sql)}
    pair = [workload.connect_admin().cursor() for _ in range(2)]

    def pair_sides(block: int) -> dict:
        sides = {"on": pair[block % 2], "off": pair[(block + 1) % 2]}
        for side, role_cursor in sides.items():
            role_cursor.execute(f'SET ROLE "{roles[side]}"')
            for queries in per_clinic:  # untimed: the first call after a switch plans again
                for query in queries:
                    if query.name in cached:
                        workload.run(role_cursor, query)
        return sides

    def cursor_for(query, side: str, sides: dict):
        return sides[side] if query.name in cached else as_role(side)

    timings: dict[str, dict[str, list[float]]] = {n: {"on": [], "off": []} for n in names}
    sides = pair_sides(0)
    for round_number in common.progress(range(args.rounds), args.rounds, "rounds"):
        if cached and round_number and round_number % SWAP_EVERY == 0:
            sides = pair_sides(round_number // SWAP_EVERY)
        for queries in per_clinic:
            for query in queries:
                if query.name not in timings:
                    continue
                # Alternate which side goes first, so neither always meets a warmer cache.
                for side in ("on", "off") if random.random() < 0.5 else ("off", "on"):
                    run_cursor = cursor_for(query, side, sides)
                    start = time.perf_counter()
                    workload.run(run_cursor, query)
                    timings[query.name][side].append(time.perf_counter() - start)

    # Where the difference goes: PostgreSQL's own planning and execution times of each query
    # (EXPLAIN ANALYZE), on and off, medians of a few runs.
    split = {name: {"on": ([], []), "off": ([], [])} for name in names}
    for _ in range(max(5, args.rounds // 10)):
        for query in per_clinic[0]:
            for side in ("on", "off"):
                plan, execution = explain_times(cursor_for(query, side, sides), query)
                split[query.name][side][0].append(plan)
                split[query.name][side][1].append(execution)

    protected = workload.protected_tables()
    views = workload.view_tables(cursor)
    by_name = {query.name: query for query in per_clinic[0]}
    rows, verdicts = [], []
    for name in names:
        on, off = statistics.median(timings[name]["on"]), statistics.median(timings[name]["off"])
        ratio = on / off
        tables = [t for t in workload.tables_read(by_name[name].sql, views) if t in protected]
        allowance = off * GOAL + PLANNING_ALLOWANCE * len(tables)
        ok = on <= allowance
        verdicts.append((on / allowance, name, ratio, ok))
        extra_plan, extra_exec = (
            (statistics.median(split[name]["on"][i]) - statistics.median(split[name]["off"][i]))
            * 1000
            for i in (0, 1)
        )
        rows.append(
            [
                name,
                str(len(tables)),
                f"{off * 1000:.3f}",
                f"{on * 1000:.3f}",
                f"{(on - off) * 1e6:+.0f}",
                f"{extra_plan:+.0f}",
                f"{extra_exec:+.0f}",
                f"{ratio:.2f}x",
                f"{allowance * 1000:.3f}",
                "ok" if ok else "OVER",
            ]
        )
    header = [
        "query (as the API sends it)",
        "RLS tables",
        "RLS off ms",
        "RLS on ms",
        "extra us",
        "of it planning",
        "of it execution",
        "ratio",
        "allowed ms",
        "verdict",
    ]
    print(common.table(rows, header))
    total_on = sum(statistics.median(t["on"]) for t in timings.values())
    total_off = sum(statistics.median(t["off"]) for t in timings.values())
    print(f"whole workload: {total_on / total_off:.2f}x")
    print(
        f"allowance per query: RLS off x {GOAL} + {PLANNING_ALLOWANCE * 1e6:.0f} us per protected "
        "table the statement reads (planning its policies)"
    )
    failed = [v for v in verdicts if not v[3]]
    _, worst_name, worst_ratio, _ = max(verdicts)
    print(
        f"worst query against its allowance: {worst_name} ({worst_ratio:.2f}x, "
        f"{max(verdicts)[0]:.2f} of its allowance); {len(failed)} of {len(verdicts)} over: "
        f"{'meets goal' if not failed else 'MISSES goal'}"
    )
    checks = [v for v in verdicts if v[1].endswith(workload.MEMBERSHIP_CHECK)]
    for _, _name, ratio, _ in checks:
        print(
            f"membership check: {ratio:.2f}x (goal <= {MEMBERSHIP_GOAL}x: "
            f"{common.verdict(ratio, MEMBERSHIP_GOAL)})"
        )
    worst = max(v[2] for v in verdicts)
    print(f"worst plain ratio: {worst:.2f}x")


if __name__ == "__main__":
    main()
