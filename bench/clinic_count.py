"""Per-clinic latency as the number of clinics grows: the same per-clinic workload on
databases of 10 to 10,000 clinics of equal size (100 patients each by default).

    python bench/clinic_count.py [--sizes 10,100,1000,10000] [--patients 100] [--rounds 100]

Each database comes from bench/datagen.py (`clinic_saas_bench_<N>x<M>`, made or reused). The
workload is a clinic's everyday reads as the API sends them (bench/workload.py), replayed as
the runtime role with row-level security on. Rounds go round-robin over the databases and
over ten clinics spread through each, so a noisy moment slows every size alike. Goal: the
largest size within 1.10x of the smallest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, datagen, workload

GOAL = 1.10
SAMPLE = 10


def prepare(size: int, patients: int):
    """The size's database, a runtime-role connection to it, and the workload of ten
    clinics spread through it."""
    datagen.ensure(size, patients, quiet=False)
    clinics = datagen.bench_clinics()
    picks = [round(i * (len(clinics) - 1) / (SAMPLE - 1)) for i in range(SAMPLE)]
    workloads = [workload.capture(clinics[n], n) for n in picks]
    return workload.connect("default").cursor(), workloads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    # `make bench BENCH_CLINICS=100` asks for 10,100,100: each size once.
    sizes = sorted({int(s) for s in args.sizes.split(",")})

    prepared = {size: prepare(size, args.patients) for size in sizes}
    for cursor, workloads in prepared.values():  # warm up each database's cache
        for queries in workloads:
            for query in queries:
                workload.run(cursor, query)

    print(f"Clinic count on {common.machine()}")
    print(
        f"  {args.patients:,} patients per clinic; workload: {len(prepared[sizes[0]][1][0])} "
        f"statements of a clinic's everyday reads, {args.rounds} rounds x {SAMPLE} clinics"
    )
    timings: dict[int, list[float]] = {size: [] for size in sizes}
    for r in common.progress(range(args.rounds), args.rounds, "rounds"):
        for size in sizes if r % 2 else sizes[::-1]:
            cursor, workloads = prepared[size]
            queries = workloads[r % SAMPLE]
            start = time.perf_counter()
            for query in queries:
                workload.run(cursor, query)
            timings[size].append(time.perf_counter() - start)

    base = statistics.median(timings[sizes[0]])
    rows = []
    for size in sizes:
        median = statistics.median(timings[size])
        p90 = statistics.quantiles(timings[size], n=10)[-1]
        rows.append(
            [
                f"{size:,}",
                f"{size * args.patients:,}",
                f"{median * 1000:.2f}",
                f"{p90 * 1000:.2f}",
                f"{median / base:.2f}x",
            ]
        )
    print(common.table(rows, ["clinics", "patients", "workload ms (median)", "p90 ms", "ratio"]))
    worst = max(statistics.median(t) for t in timings.values()) / base
    print(f"largest vs smallest: {worst:.2f}x (goal <= {GOAL}x: {common.verdict(worst, GOAL)})")


if __name__ == "__main__":
    main()
