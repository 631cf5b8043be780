"""Whole requests: the API's own endpoints with row-level security on, against the same code
and the same SQL with it off.

    python bench/request_overhead.py [--clinics 300] [--patients 1000] [--rounds 40]

The everyday workload's endpoints (bench/workload.py: patient list and searches, a patient,
a day's appointments, prescriptions, medicines, doctors) are requested in-process through
Django's test client with a clinic owner's JWT: middleware, DRF, authentication with its
membership check, the views, serializers and the audit entries, exactly as served.

- RLS on: the `default` alias as the runtime role, as in production;
- RLS off: the very same alias, settings and code, connected as the platform role
  (BYPASSRLS) instead. The application still sends its context and its own clinic filters,
  so the SQL is byte for byte the same and so are the answers (checked before timing).

Both sides keep their own persistent connection; rounds alternate them (in a random order
per request) on the same endpoint and clinic, so a noisy machine slows both alike. Goal:
every endpoint at <= 1.05x.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, datagen, workload

GOAL = 1.05


def targets(clinic, number: int) -> list[tuple[str, str, dict]]:
    """(endpoint, path, headers) of the workload for one clinic, its owner's token."""
    from django.utils import timezone

    from accounts.models import Membership
    from accounts.tokens import issue_tokens
    from clinical.models import Patient, Prescription
    from tenants.context import tenant_context

    with tenant_context(clinic):
        membership = Membership.objects.select_related("user", "tenant").get(role="owner")
        patient = Patient.objects.order_by("first_name", "last_name", "id").first()
        prescription = Prescription.objects.filter(patient=patient).first()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_tokens(membership)['access']}"}
    return [
        (name, path.format(patient=patient.pk, prescription=prescription.pk), headers)
        for name, path in workload._requests(number, timezone.localdate())
    ]


def off_connection():
    """The default alias's wrapper, same settings, connected as the platform role."""
    from django.conf import settings
    from django.db import connections
    from django.db.utils import load_backend

    config = copy.deepcopy(connections["default"].settings_dict)
    platform = settings.DATABASES["platform"]
    config["USER"], config["PASSWORD"] = platform["USER"], platform.get("PASSWORD", "")
    return load_backend(config["ENGINE"]).DatabaseWrapper(config, "default")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=300)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--sample", type=int, default=3, help="clinics whose requests are made")
    args = parser.parse_args()
    # Connections stay open for the whole run (no reconnect inside a timing), and the
    # per-clinic throttle never refuses a request (it still runs).
    os.environ["DB_CONN_MAX_AGE"] = "3600"
    os.environ.setdefault("THROTTLE_CLINIC", "100000000/minute")
    datagen.ensure(args.clinics, args.patients, quiet=True)
    # One log line per request would drown the table.
    logging.getLogger("clinic_saas.request").setLevel(logging.WARNING)

    from django.db import connections
    from django.test import Client

    clinics = datagen.bench_clinics()
    chosen = sorted(random.Random(8).sample(range(len(clinics)), min(args.sample, len(clinics))))
    per_clinic = [targets(clinics[n], n) for n in chosen]
    names = [name for name, _, _ in per_clinic[0]]
    sides = {"on": connections["default"], "off": off_connection()}
    client = Client()

    def get(side: str, path: str, headers: dict):
        connections["default"] = sides[side]
        return client.get(path, **headers)

    for requests in per_clinic:  # same answers, and warm caches on both sides
        for name, path, headers in requests:
            bodies = {}
            for side in sides:
                response = get(side, path, headers)
                if response.status_code != 200:
                    raise SystemExit(f"{name}: {response.status_code} with RLS {side}")
                bodies[side] = json.loads(response.content)
            if bodies["on"] != bodies["off"]:
                raise SystemExit(f"{name}: different answers with RLS on and off")
    with sides["off"].cursor() as cursor:
        cursor.execute("SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            raise SystemExit("the RLS-off side does not bypass row-level security")

    print(f"Whole requests, RLS on vs off, on {common.machine()}")
    print(
        f"  {args.clinics:,} clinics x {args.patients:,} patients; {len(names)} endpoints of "
        f"{len(chosen)} clinics, {args.rounds} interleaved rounds, in-process (Django test "
        "client, JWT); RLS off = the same code and SQL on a BYPASSRLS connection"
    )
    timings = {name: {"on": [], "off": []} for name in names}
    for _ in common.progress(range(args.rounds), args.rounds, "rounds"):
        for requests in per_clinic:
            for name, path, headers in requests:
                for side in ("on", "off") if random.random() < 0.5 else ("off", "on"):
                    start = time.perf_counter()
                    get(side, path, headers)
                    timings[name][side].append(time.perf_counter() - start)
    connections["default"] = sides["on"]
    sides["off"].close()

    rows, worst = [], (0.0, "")
    for name in names:
        on, off = (statistics.median(timings[name][side]) for side in ("on", "off"))
        ratio = on / off
        worst = max(worst, (ratio, name))
        rows.append(
            [
                name,
                f"{off * 1000:.2f}",
                f"{on * 1000:.2f}",
                f"{(on - off) * 1e6:+.0f}",
                f"{ratio:.3f}x",
                "ok" if ratio <= GOAL else "OVER",
            ]
        )
    print(
        common.table(rows, ["endpoint", "RLS off ms", "RLS on ms", "extra us", "ratio", "<= 1.05x"])
    )
    total = sum(statistics.median(t["on"]) for t in timings.values()) / sum(
        statistics.median(t["off"]) for t in timings.values()
    )
    print(f"all endpoints together: {total:.3f}x")
    print(
        f"worst endpoint: {worst[1]} {worst[0]:.3f}x (goal <= {GOAL}x on each: "
        f"{common.verdict(worst[0], GOAL)})"
    )


if __name__ == "__main__":
    main()
