"""Shared pieces of the benchmarks: a dedicated database, timing, progress, reporting.

Every script measures two things side by side, interleaved (A, B, A, B, ...) so that a
noisy machine slows both alike, and prints medians and the ratio to the baseline. Numbers
from different runs are comparable through those ratios, not through absolute times.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(database: str = "clinic_saas_bench", *, migrate: bool = True) -> None:
    """Configure Django on a benchmark database of its own (created, owned and migrated like
    the real one), so benchmarks never touch development or test data."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_saas.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "benchmarks-only-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ.setdefault("HTTPS", "0")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from tenants import dbroles

    # A script may move between databases (the clinic-count benchmark uses three).
    for connection in connections.all():
        connection.close()
    for alias in settings.DATABASES:
        settings.DATABASES[alias]["NAME"] = database
        connections[alias].settings_dict["NAME"] = database
    admin = dbroles.conninfo_from_url(settings.DATABASE_ADMIN_URL)
    spec = dbroles.RoleSpec(
        database,
        *(
            dbroles.Role(settings.DATABASES[a]["USER"], settings.DATABASES[a].get("PASSWORD"))
            for a in ("owner", "default", "platform")
        ),
    )
    dbroles.ensure_roles(admin, spec)
    dbroles.ensure_database(admin, spec, database)
    if migrate:
        call_command("migrate", database="owner", verbosity=0, interactive=False)


def drop_database(database: str) -> None:
    from django.conf import settings
    from django.db import connections

    from tenants import dbroles

    for connection in connections.all():
        connection.close()
    dbroles.drop_database(dbroles.conninfo_from_url(settings.DATABASE_ADMIN_URL), database)


def progress(items: Iterable, total: int, label: str) -> Iterator:
    """Yield the items while drawing a progress line on stderr."""
    start = time.perf_counter()
    width = 30
    for done, item in enumerate(items, start=1):
        yield item
        if done == total or done % max(1, total // 200) == 0:
            filled = int(width * done / total)
            elapsed = time.perf_counter() - start
            eta = elapsed / done * (total - done)
            sys.stderr.write(
                f"\r  {label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} "
                f"{elapsed:6.1f}s elapsed, {eta:6.1f}s left "
            )
            sys.stderr.flush()
    sys.stderr.write("\n")


def interleaved(
    cases: dict[str, Callable[[], object]], *, rounds: int, warmup: int = 3
) -> dict[str, list[float]]:
    """Run the cases alternately; return each case's durations in seconds."""
    for _ in range(warmup):
        for run in cases.values():
            run()
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, run in cases.items():
            start = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - start)
    return timings


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def verdict(ratio: float, goal: float, *, higher_is_better: bool = False) -> str:
    ok = ratio >= goal if higher_is_better else ratio <= goal
    return "meets goal" if ok else "MISSES goal"


def machine() -> str:
    import platform

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    return (
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"PostgreSQL {server}"
    )
