"""Django's per-request connection health check (CONN_HEALTH_CHECKS): what it costs.

With a persistent connection (CONN_MAX_AGE > 0) and CONN_HEALTH_CHECKS on, Django sends its
own `SELECT 1` before the first query of every request to make sure the connection still
works. That is one more round trip, and one more transaction: behind PgBouncer in
transaction mode, one more checkout of a server connection from the pool per request.

This script counts the round trips and transactions of one API request both ways (libpq's
protocol trace, as bench/http_load.py does), then times the same request interleaved, and
prints the ratio. Run it as is (direct to PostgreSQL), or with the environment of
`.ci/pgbouncer-suite` (DATABASE_URL pointing at PgBouncer) to see the pooled case.

    python bench/health_checks.py [--rounds 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    common.setup("clinic_saas_bench_health")

    from django.db import close_old_connections, connection
    from django.test import Client

    from accounts.testing import bearer, create_clinic
    from bench.sqltrace import traced_request
    from clinical.models import Patient
    from tenants.context import tenant_context
    from tenants.testing import build

    clinic = create_clinic("Health Check Clinic")
    with tenant_context(clinic):
        for _ in range(20):
            build(Patient)
    headers = {"Authorization": bearer(clinic.owner, clinic)["HTTP_AUTHORIZATION"]}
    path = "/api/v1/patients/?page_size=20"
    client = Client()
    connection.settings_dict["CONN_MAX_AGE"] = 600

    def use(checks: bool) -> None:
        connection.settings_dict["CONN_HEALTH_CHECKS"] = checks
        connection.health_check_enabled = checks

    traces = {}
    for checks in (True, False):
        use(checks)
        traces[checks] = traced_request(client, path, headers)

    def one(checks: bool) -> float:
        use(checks)
        start = time.perf_counter()
        close_old_connections()  # what request_started does under a real server
        response = client.get(path, headers=headers)
        elapsed = time.perf_counter() - start
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        return elapsed

    timings = {True: [], False: []}
    for _ in common.progress(range(args.rounds), args.rounds, "requests"):
        for checks in (True, False):
            timings[checks].append(one(checks))

    on, off = (common.median_ms(timings[c]) / 1000 for c in (True, False))
    print(f"One API request ({path}), CONN_MAX_AGE=600:")
    for checks in (True, False):
        trace = traces[checks]
        print(
            f"  CONN_HEALTH_CHECKS={checks!s:5}: {trace['round_trips']} round trips, "
            f"{trace['health_checks']} of them Django's SELECT 1 "
            f"(a transaction of its own: one more pool checkout behind PgBouncer)"
        )
    print(
        f"  median latency: on {on * 1000:.2f} ms, off {off * 1000:.2f} ms, "
        f"on/off = {on / off:.3f}x ({args.rounds} interleaved requests each)"
    )
    common.drop_database("clinic_saas_bench_health")


if __name__ == "__main__":
    main()
