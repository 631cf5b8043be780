"""HTTP: the patient list API under load, against a bare Django view running the same SQL.

What is measured

* gunicorn serves the project (clinic_saas.wsgi, production middleware, DEBUG off) with two
  sync workers on 127.0.0.1, on the scale database of bench/datagen.py.
* `GET /api/v1/patients/` (DRF, a JWT access token per clinic, issued beforehand for each
  clinic's owner) is compared with a bare Django view (bench/http_urls.py: no DRF, no JWT,
  clinic and person in the URL, plain JsonResponse). The bare view runs the API's SQL in the
  API's transaction and tenant context: the count, the first page and the audit INSERT the
  API writes for every list read (so "same SQL" includes the audit), and answers byte for
  byte the same JSON, which is checked for a sample of clinics before measuring. What the
  API pays on top is therefore the framework: DRF, token verification, the membership check
  and the throttle.
* A separate load-generator process (this script in `--load-generator` mode: threads with
  http.client, a fixed number of connections) picks a random clinic per request. Rounds
  alternate API, bare, API, bare, ...; the report gives the median over rounds of requests
  per second, p50 and p99 latency, the API/bare ratio (goal >= 0.5x) and each worker's peak
  resident memory (VmHWM; goal < 150 MB). gunicorn's sync workers close the connection after
  each response, so every request opens a new loopback connection, for both endpoints alike.
  The clinic throttle runs on every API request, with a rate (THROTTLE_CLINIC) high enough
  never to refuse one.
* The tenant context: the backend (tenants/backend/base.py) prefixes
  `SET LOCAL app.tenant_id = ...; SET LOCAL app.user_id = ...;` to the first statement of
  each transaction. In-process, with a
  libpq protocol trace on the connection, one request of each endpoint through
  django.test.Client shows every round trip: the context rides on existing statements and
  no context statement travels alone (goal: no extra round trip). Then one query is timed with the
  prefix and without it (interleaved, median, ratio).

    python bench/http_load.py [--clinics 1000] [--patients 1000] [--rounds 5] [--seconds 10]
    python bench/http_load.py --clinics 10 --quick      # a short smoke run

Progress goes to stderr, results to stdout. The load generator shares the machine's cores
with gunicorn and PostgreSQL: compare the ratio between runs, not absolute numbers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.loadgen import BenchFailure, run_threads, spawn_load
from bench.servers import Gunicorn, get
from bench.sqltrace import check_same_sql, strip_context, traced_request

API_PATH = "/api/v1/patients/"
RATIO_GOAL = 0.5
WORKER_MEMORY_GOAL_MB = 150
# High enough that the per-clinic throttle never refuses a benchmark request (it still runs).
BENCH_THROTTLE = "100000000/minute"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- The load generator (its own process) -------------------------------------------------


def _hammer(port: int, targets: list, deadline: float, seed: int, out: dict) -> None:
    """One connection's loop: random target, full response read, latency recorded."""
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, statuses, errors = [], Counter(), []
    while time.perf_counter() < deadline:
        path, headers = rng.choice(targets)
        start = time.perf_counter()
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            # http.client reconnects on the next request once this one is closed.
            connection.close()
            statuses["connection error"] += 1
            errors.append(repr(exc))
            continue
        latencies.append(time.perf_counter() - start)
        statuses[str(response.status)] += 1
        if response.status != 200 and len(errors) < 5:
            errors.append(f"{response.status} for {path}")
    connection.close()
    out.update(latencies=latencies, statuses=statuses, errors=errors[:5])


def load_generator() -> None:
    """Read a job from stdin, run it, write the raw results to stdout as JSON."""
    job = json.load(sys.stdin)
    results, elapsed, statuses, errors = run_threads(job, _hammer)
    json.dump(
        {
            "elapsed": elapsed,
            "latencies": [x for result in results for x in result["latencies"]],
            "statuses": statuses,
            "errors": errors,
        },
        sys.stdout,
    )


def run_load(port: int, targets: list, *, seconds: float, connections: int, seed: int) -> dict:
    result = spawn_load(
        __file__, port, targets, seconds=seconds, connections=connections, seed=seed
    )
    if not result["latencies"]:
        raise BenchFailure("the load generator completed no request")
    return result


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


# --- Setup: tokens and targets ------------------------------------------------------------


def clinic_owners(clinics) -> dict:
    """Each clinic's owner membership (with the person), read through the platform role."""
    from accounts.models import Membership
    from tenants.platform import platform_access

    with platform_access(reason="benchmarks: tokens for the HTTP benchmark"):
        memberships = {
            m.tenant_id: m
            for m in Membership.objects.using("platform")
            .select_related("user")
            .filter(tenant__in=[c.id for c in clinics], role="owner", is_active=True)
        }
    missing = [c.name for c in clinics if c.id not in memberships]
    if missing:
        raise BenchFailure(f"{len(missing)} clinics have no active owner, e.g. {missing[0]}")
    return memberships


def bare_path(membership) -> str:
    user = membership.user
    return f"/bench/bare/{membership.tenant_id}/{user.id}/{quote(user.email, safe='')}/"


def make_targets(clinics, owners) -> dict[str, list]:
    from accounts.tokens import issue_tokens

    api, bare = [], []
    for clinic in clinics:
        membership = owners[clinic.id]
        token = issue_tokens(membership)["access"]
        api.append([API_PATH, {"Authorization": f"Bearer {token}"}])
        bare.append([bare_path(membership), {}])
    return {"API": api, "bare": bare}


def check_same_bodies(port: int, targets: dict[str, list], sample: int) -> int:
    """The API and the bare view answer the same bytes for the same clinic."""
    indexes = random.Random(0).sample(range(len(targets["API"])), min(sample, len(targets["API"])))
    for index in indexes:
        bodies = {}
        for name, choices in targets.items():
            path, headers = choices[index]
            status, body = get(port, path, headers)
            if status != 200:
                raise BenchFailure(f"{name} answered {status} for {path}: {body[:300]!r}")
            bodies[name] = body
        if bodies["API"] != bodies["bare"]:
            api, bare = bodies["API"], bodies["bare"]
            at = next((i for i, (a, b) in enumerate(zip(api, bare, strict=False)) if a != b), None)
            at = min(len(api), len(bare)) if at is None else at
            raise BenchFailure(
                f"the API and the bare view answer different bodies (clinic #{index}, "
                f"{len(api)} vs {len(bare)} bytes, first difference at byte {at}):\n"
                f"  API:  ...{api[max(0, at - 60) : at + 60]!r}\n"
                f"  bare: ...{bare[max(0, at - 60) : at + 60]!r}"
            )
    return len(indexes)


# --- The tenant context's cost, in-process ------------------------------------------------


def prefix_timings(clinic, *, rounds: int) -> list[list[str]]:
    """The list's two queries, each timed with the context prefix and without it, inside
    one transaction: forgetting what was sent makes the backend send the prefix again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clinical.models import Patient
    from tenants.context import tenant_context

    rows = []
    with tenant_context(clinic):
        # The statements exactly as the list sends them (values inlined by psycopg's
        # client-side binding), less the prefix the first one carries.
        with CaptureQueriesContext(connection) as captured:
            queryset = Patient.objects.active()
            queryset.count()
            list(queryset[:20])
        statements = [q["sql"] for q in captured.captured_queries]
        statements = [strip_context(s) for s in statements]
        for label, sql in zip(("count", "page of 20"), statements, strict=True):

            def with_prefix(sql=sql):
                connection._sent_context = None
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    cursor.fetchall()

            def without_prefix(sql=sql):
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    cursor.fetchall()

            timings = common.interleaved(
                {"with": with_prefix, "without": without_prefix}, rounds=rounds, warmup=20
            )
            with_ms, without_ms = (common.median_ms(t) for t in timings.values())
            rows.append(
                [
                    label,
                    f"{with_ms:.3f}",
                    f"{without_ms:.3f}",
                    f"{(with_ms - without_ms) * 1000:+.0f}",
                    f"{with_ms / without_ms:.2f}x",
                ]
            )
    return rows


# --- Main ---------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=1000)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each endpoint")
    parser.add_argument("--seconds", type=float, default=10, help="length of one round")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up each")
    parser.add_argument("--sample", type=int, default=5, help="clinics whose bodies are compared")
    parser.add_argument("--query-rounds", type=int, default=500, help="timings of each query")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 s: a smoke run")
    parser.add_argument("--load-generator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warmup, args.query_rounds = 2, 2.0, 1.0, 100
    return args


def main() -> None:
    args = parse_args()
    if args.load_generator:
        load_generator()
        return
    # SIGTERM ends the run through the finally blocks below, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        run(args)
    except BenchFailure as exc:
        log(f"http_load: FAILED: {exc}")
        sys.exit(1)


def run(args: argparse.Namespace) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.http_settings"
    # WhiteNoise warns that static files were not collected; the benchmark serves none.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    os.environ.setdefault("THROTTLE_CLINIC", BENCH_THROTTLE)
    from bench import datagen

    database = datagen.database_name(args.clinics, args.patients)
    log(f"database {database}: making or reusing it (bench/datagen.py)")
    datagen.ensure(args.clinics, args.patients, quiet=True)
    os.environ["BENCH_DATABASE"] = database

    from django.db import connections
    from django.test import Client

    clinics = datagen.bench_clinics()[: args.clinics]
    if len(clinics) < args.clinics:
        raise BenchFailure(f"{database} has {len(clinics)} bench clinics, not {args.clinics}")
    log(f"tokens: issuing an access token for the owner of each of {len(clinics):,} clinics")
    owners = clinic_owners(clinics)
    targets = make_targets(clinics, owners)
    where = common.machine()

    log("tenant context: tracing one request of each endpoint in-process")
    client = Client()
    first = clinics[0]
    api_trace = traced_request(client, *targets["API"][0])
    bare_trace = traced_request(client, *targets["bare"][0])
    check_same_sql(api_trace, bare_trace)
    log(f"tenant context: timing one query with and without the prefix ({args.query_rounds}x)")
    prefix_rows = prefix_timings(first, rounds=args.query_rounds)
    for connection in connections.all():
        connection.close()

    with tempfile.TemporaryFile("w+") as gunicorn_log:
        server = Gunicorn(database=database, workers=args.workers, log=gunicorn_log)
        try:
            log(f"gunicorn: starting {args.workers} sync workers on 127.0.0.1:{server.port}")
            server.start()
            checked = check_same_bodies(server.port, targets, args.sample)
            log(f"bodies: the API and the bare view answer the same bytes for {checked} clinics")

            load = {"seconds": args.warmup, "connections": args.connections}
            for name, choices in targets.items():
                log(f"warm-up: {name}, {args.warmup:g} s")
                run_load(server.port, choices, seed=0, **load)
            load["seconds"] = args.seconds
            rounds: dict[str, list[dict]] = {name: [] for name in targets}
            for number in range(1, args.rounds + 1):
                for name, choices in targets.items():
                    result = run_load(server.port, choices, seed=number, **load)
                    latencies = result["latencies"]
                    measured = {
                        "rps": len(latencies) / result["elapsed"],
                        "p50": percentile(latencies, 0.50) * 1000,
                        "p99": percentile(latencies, 0.99) * 1000,
                        "requests": len(latencies),
                    }
                    rounds[name].append(measured)
                    log(
                        f"round {number}/{args.rounds} {name:4}: {measured['rps']:7.1f} req/s, "
                        f"p50 {measured['p50']:6.1f} ms, p99 {measured['p99']:6.1f} ms"
                    )
            peaks = server.peak_rss_mb()
        finally:
            server.stop()

    report(args, where, database, checked, rounds, peaks, api_trace, bare_trace, prefix_rows)


def report(args, where, database, checked, rounds, peaks, api_trace, bare_trace, prefix_rows):
    median = {
        name: {key: statistics.median(r[key] for r in results) for key in ("rps", "p50", "p99")}
        for name, results in rounds.items()
    }
    ratio = median["API"]["rps"] / median["bare"]["rps"]
    print(f"HTTP: GET {API_PATH} (DRF + JWT) vs a bare Django view running the same SQL")
    print(where)
    print(
        f"database {database}; gunicorn, {args.workers} sync workers; load from a separate "
        f"process, {args.connections} connections, random clinic per request; "
        f"{args.rounds} interleaved rounds of {args.seconds:g} s per endpoint (medians)"
    )
    print(
        "The bare view runs the API's count, page query and audit INSERT (patient.listed) in "
        "one transaction under the same tenant context; "
        f"identical bodies checked for {checked} clinics."
    )
    print()
    rows = [
        [
            name,
            f"{m['rps']:.1f}",
            f"{m['p50']:.1f}",
            f"{m['p99']:.1f}",
            f"{sum(r['requests'] for r in rounds[name]):,}",
            f"{m['rps'] / median['bare']['rps']:.2f}x",
        ]
        for name, m in median.items()
    ]
    print(common.table(rows, ["endpoint", "req/s", "p50 ms", "p99 ms", "requests", "vs bare"]))
    goal = common.verdict(ratio, RATIO_GOAL, higher_is_better=True)
    print(f"API/bare throughput: {ratio:.2f}x (goal >= {RATIO_GOAL}x: {goal})")
    worst = max(peaks.values())
    memory = ", ".join(f"pid {pid}: {mb:.1f} MB" for pid, mb in sorted(peaks.items()))
    print(
        f"peak RSS per worker (VmHWM): {memory} "
        f"(goal < {WORKER_MEMORY_GOAL_MB} MB: {common.verdict(worst, WORKER_MEMORY_GOAL_MB)})"
    )

    print()
    print("Tenant context per request (in-process, libpq protocol trace of one request):")
    rows = [
        [
            name,
            str(trace["round_trips"]),
            str(len(trace["statements"])),
            str(trace["prefixed"]),
            str(trace["standalone"]),
            str(trace["health_checks"]),
        ]
        for name, trace in (("API", api_trace), ("bare", bare_trace))
    ]
    print(
        common.table(
            rows,
            [
                "endpoint",
                "round trips",
                "Django statements",
                "with context prefix",
                "context alone",
                "health check SELECT 1",
            ],
        )
    )
    print(
        "  round trips: messages psycopg sent (BEGIN, COMMIT and Django's CONN_HEALTH_CHECKS "
        "`SELECT 1` included)"
    )
    for name, trace in (("API", api_trace), ("bare", bare_trace)):
        print(f"  {name}: " + " | ".join(_summary(q) for q in trace["sent"]))
    extra = api_trace["standalone"] + bare_trace["standalone"]
    print(
        f"extra round trips for the tenant context: {extra} "
        f"(goal: none: {common.verdict(extra, 0)})"
    )
    print()
    print(
        f"One query with vs without the context prefix (median of {args.query_rounds} "
        "interleaved, in one transaction):"
    )
    print(common.table(prefix_rows, ["query", "with ms", "without ms", "difference us", "ratio"]))


def _summary(sql: str) -> str:
    statements = [s.strip() for s in sql.split("; ") if s.strip()]
    words = []
    for statement in statements:
        if statement.startswith("SET LOCAL app."):
            if not words or words[-1] != "context":
                words.append("context")
            continue
        match = re.search(r'(?:FROM|INTO|UPDATE) "(\w+)"', statement)
        words.append(f"{statement.split()[0]} {match.group(1)}" if match else statement[:20])
    return " + ".join(words)


if __name__ == "__main__":
    main()
