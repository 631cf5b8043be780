"""`migrate` time with 10 clinics and with 1,000: a shared schema migrates once, however
many clinics share it (a schema-per-clinic design repeats every migration per clinic).

    python bench/migrate_time.py [--clinics 1000] [--patients 1000] [--runs 3]

On the scale databases of bench/datagen.py (10 clinics, and N), interleaved, as the
migration owner role: the project's latest clinical migration is rolled back and applied
again (its row-level security operations and check included), and a `migrate` with nothing
to apply is timed as well. Goal: equal times (ratio about 1.0x).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, datagen

APP = "clinical"


def latest_migration() -> tuple[str, str]:
    """(latest, its parent) of the app's migrations."""
    from django.db import connections
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connections["owner"])
    [leaf] = [name for app, name in loader.graph.leaf_nodes() if app == APP]
    [parent] = [n for a, n in loader.graph.node_map[(APP, leaf)].parents if a == APP]
    return leaf, parent


def timed_migrate(*args) -> float:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    start = time.perf_counter()
    try:
        call_command(
            "migrate",
            *args,
            database="owner",
            interactive=False,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    except CommandError as exc:
        # Rolled back, a migration that creates a clinic table leaves the row-level security
        # check (run after every migrate) without that table; the rollback itself is done.
        if not str(exc).startswith("Migrated, but"):
            raise
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=300)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    sizes = [10, args.clinics]
    for size in sizes:
        datagen.ensure(size, args.patients)
    leaf, parent = latest_migration()

    cases = ["apply latest", "roll back latest", "migrate, nothing to do"]
    timings = {(size, case): [] for size in sizes for case in cases}
    for run in common.progress(range(args.runs), args.runs, "runs"):
        for size in sizes if run % 2 else sizes[::-1]:
            # Switch databases without migrating (ensure() above did).
            common.setup(datagen.database_name(size, args.patients), migrate=False)
            timings[(size, "roll back latest")].append(timed_migrate(APP, parent))
            timings[(size, "apply latest")].append(timed_migrate(APP, leaf))
            timings[(size, "migrate, nothing to do")].append(timed_migrate())

    print(f"migrate time on {common.machine()}")
    print(f"  latest migration: {APP}.{leaf}; {args.runs} runs each, interleaved")
    rows, worst = [], 0.0
    for case in cases:
        small, large = (statistics.median(timings[(size, case)]) for size in sizes)
        worst = max(worst, large / small)
        rows.append([case, f"{small * 1000:.0f}", f"{large * 1000:.0f}", f"{large / small:.2f}x"])
    header = ["operation", "10 clinics ms", f"{args.clinics:,} clinics ms", "ratio"]
    print(common.table(rows, header))
    print(f"worst ratio: {worst:.2f}x (goal: equal, <= 1.10x: {common.verdict(worst, 1.10)})")


if __name__ == "__main__":
    main()
