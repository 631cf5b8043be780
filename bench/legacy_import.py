"""import_legacy on an earlier-system database of realistic size: time and memory.

    python bench/legacy_import.py [--scale 1.0] [--skip-half]

The source (clinics.legacy.sample) is generated into its own database,
`clinic_saas_bench_earlier`: at scale 1, 10,000 patients, 30,000 appointments, 30,000
prescriptions with 90,000 items and 5,000 dental observations (2,500 procedures, 20
attachments). It is imported into a fresh benchmark database (`clinic_saas_bench_legacy`),
each import in a child process so its peak memory is its own:

1. half the source (scale/2), then the whole: memory must stay flat (rows are streamed from
   server-side cursors and written in batches), so the peaks should be close;
2. the whole source a second time: nothing is new, so this is the cost of recognising it.

Goal: the whole import in under 60 s on 2 cores. The machine may be shared: the script says
what the load average was, so numbers from different runs can be compared fairly.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

GOAL_SECONDS = 60
TARGET = "clinic_saas_bench_legacy"
SOURCE = "clinic_saas_bench_earlier"
FULL = {
    "patients": 10_000,
    "appointments": 30_000,
    "prescriptions": 30_000,
    "items_per_prescription": 3,
    "dental": 5_000,
    "doctors": 10,
}

# The import in a child process. It prints the CPU seconds it used and those of the database
# backend that did the writing (read from /proc: the benchmark runs next to the server), so
# a run on a busy machine can still be compared: on an idle one, the wall time is about their
# sum.
CHILD = """
import os, sys, time
from bench import common
common.setup(sys.argv[1], migrate=False)
from django.core.management import call_command
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    pid = cursor.fetchone()[0]
def server_cpu():
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")
before, started = server_cpu(), time.process_time()
call_command("import_legacy", *sys.argv[2:])
print(f"CPU {time.process_time() - started:.2f} {server_cpu() - before:.2f}")
"""


def source_url(name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    from django.conf import settings

    return urlunsplit(urlsplit(settings.DATABASE_ADMIN_URL)._replace(path=f"/{name}"))


def make_source(name: str, scale: float, *, seed: int = 1) -> dict[str, int]:
    import psycopg
    from django.conf import settings

    from clinics.legacy import sample
    from tenants import dbroles

    admin = dbroles.conninfo_from_url(settings.DATABASE_ADMIN_URL)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    counts = {
        k: v if k == "items_per_prescription" else max(1, int(v * scale)) for k, v in FULL.items()
    }
    counts["doctors"] = FULL["doctors"]
    with psycopg.connect(dbroles.conninfo_from_url(source_url(name))) as conn:
        sample.create_schema(conn)
        # A clinic code of its own per source: its people are new here (not invited).
        sample.generate(
            conn,
            **counts,
            clinics=(f"LEGACY_{seed:03d}",),
            seed=seed,
            progress=lambda text: print(f"  generated {text}"),
        )
    return counts


def cpu_of(out: str) -> tuple[float, float]:
    """(client, database) CPU seconds the child printed."""
    line = next(line for line in out.splitlines() if line.startswith("CPU "))
    client, server = line.split()[1:]
    return float(client), float(server)


def run_import(source: str, seed: int, *extra: str) -> tuple[float, str]:
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as handle:
        report = handle.name
    args = [
        sys.executable,
        "-c",
        CHILD,
        TARGET,
        "--source",
        source_url(source),
        "--owner-email",
        f"admin@legacy-{seed:03d}.example",
        "--plan",
        "premium",
        "--report",
        report,
        *extra,
    ]
    start = time.perf_counter()
    done = subprocess.run(args, cwd=common.ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    os.unlink(report)
    if done.returncode:
        sys.exit(f"import failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def peak_mb() -> float:
    # Linux reports kilobytes: the largest resident set of any child waited for so far.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--skip-half", action="store_true", help="Only the whole source.")
    args = parser.parse_args()

    # A fresh target every time: each import starts from the same empty database.
    common.setup(TARGET, migrate=False)
    common.drop_database(TARGET)
    common.setup(TARGET)

    print(f"Legacy import on {common.machine()}; load average {os.getloadavg()[0]:.2f}")
    rows = []
    peaks = []
    whole = (0.0, 0.0, 0.0)
    sizes = [] if args.skip_half else [("half", args.scale / 2)]
    for label, scale in [*sizes, ("whole", args.scale)]:
        start = time.perf_counter()
        # Patients keep their earlier UUIDs, which are unique across clinics: a new seed.
        counts = make_source(SOURCE, scale, seed=len(rows) + 1)
        generated = time.perf_counter() - start
        # Each size into a clinic of its own: the whole source's import starts empty too.
        seconds, out = run_import(SOURCE, len(rows) + 1, "--name", f"Legacy {label}")
        client, server = cpu_of(out)
        whole = (seconds, client, server)
        peaks.append(peak_mb())
        total = sum(counts[k] for k in ("patients", "appointments", "dental"))
        total += counts["prescriptions"] * (1 + counts["items_per_prescription"])
        rows.append(
            [
                label,
                f"{counts['patients']:,}",
                f"{counts['appointments']:,}",
                f"{counts['prescriptions']:,}",
                f"{counts['dental']:,}",
                f"{generated:.1f} s",
                f"{seconds:.1f} s",
                f"{client:.1f} + {server:.1f} s",
                f"{total / seconds:,.0f}",
                f"{peaks[-1]:.0f} MB",
            ]
        )
    again, out = run_import(SOURCE, len(rows), "--name", "Legacy whole")
    client, server = cpu_of(out)
    rows.append(
        ["whole, again", "", "", "", "", "", f"{again:.1f} s", f"{client:.1f} + {server:.1f} s"]
        + ["", f"{peak_mb():.0f} MB"]
    )
    header = ["source", "patients", "appointments", "prescriptions", "dental", "generated"]
    header += ["import", "CPU import + db", "rows/s", "peak RSS"]
    print(common.table(rows, header))
    seconds, client, server = whole
    print(
        f"Whole import: {seconds:.1f} s wall (goal < {GOAL_SECONDS} s): "
        f"{common.verdict(seconds, GOAL_SECONDS)}; CPU {client + server:.1f} s "
        f"(the wall time on an idle machine): {common.verdict(client + server, GOAL_SECONDS)}; "
        f"load average now {os.getloadavg()[0]:.2f}"
    )
    if len(peaks) == 2:
        print(
            f"Peak memory, half → whole source: {peaks[0]:.0f} → {peaks[1]:.0f} MB "
            f"({peaks[1] / peaks[0]:.2f}x for 2x the rows)"
        )
    print("Second run's summary (nothing new):")
    print("\n".join(line for line in out.splitlines() if line.startswith("  ")))
    print(f"Load average at the end: {os.getloadavg()[0]:.2f}")
    common.drop_database(SOURCE)


if __name__ == "__main__":
    main()
