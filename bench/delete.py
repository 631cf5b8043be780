"""Deleting one clinic of 1,000 patients (with its appointments and prescriptions) from a
database of many clinics, through the purge service (`manage.py purge_tenant`).

    python bench/delete.py [--clinics 1000] [--patients 1000] [--runs 5]

Each run adds a fresh clinic of the same size to the scale database (bench/datagen.py) and
purges it; the same is done on a database of 10 clinics as the baseline, interleaved. Every
foreign key of a clinic table has an index that leads with its columns, so the deletes find
their rows through indexes: the time must not grow with the other clinics' data. Goal: under
one second at 1,000 clinics.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, datagen

GOAL_SECONDS = 1.0
PREFIX = "Purge bench "


def purge_one(size: int, patients: int, run: int) -> float:
    datagen.ensure(size, patients, quiet=True)
    from clinics.purge import clinic_purge
    from tenants.services import tenant_suspend

    clinic = datagen.fill_clinic(run, patients, prefix=PREFIX)
    clinic = tenant_suspend(tenant=clinic, actor=None, reason="benchmark")
    start = time.perf_counter()
    counts = clinic_purge(tenant=clinic, reason="benchmark")
    took = time.perf_counter() - start
    if sum(counts.values()) < patients * (2 + datagen.PRESCRIPTIONS_PER_PATIENT):
        raise SystemExit(f"the purge deleted fewer rows than the clinic had: {counts}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=1000)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sizes = [10, args.clinics]
    timings: dict[int, list[float]] = {size: [] for size in sizes}
    for run in common.progress(range(args.runs), args.runs, "runs"):
        for size in sizes if run % 2 else sizes[::-1]:
            timings[size].append(purge_one(size, args.patients, run))

    print(f"Deleting a clinic on {common.machine()}")
    rows_per_clinic = args.patients * (2 + datagen.PRESCRIPTIONS_PER_PATIENT)
    print(f"  a clinic of {args.patients:,} patients ({rows_per_clinic:,} rows), {args.runs} runs")
    base = statistics.median(timings[sizes[0]])
    rows = [
        [f"{size:,}", f"{statistics.median(t) * 1000:.0f}", f"{statistics.median(t) / base:.2f}x"]
        for size, t in timings.items()
    ]
    print(common.table(rows, ["clinics in the database", "purge ms (median)", "ratio"]))
    worst = statistics.median(timings[args.clinics])
    verdict = "meets goal" if worst < GOAL_SECONDS else "MISSES goal"
    print(f"purge at {args.clinics:,} clinics: {worst:.3f} s (goal < {GOAL_SECONDS} s: {verdict})")


if __name__ == "__main__":
    main()
