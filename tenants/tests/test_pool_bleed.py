"""No clinic bleeds into another over reused connections, under concurrency and errors.

The tenant context travels as `SET LOCAL` inside each transaction (tenants.backend), so a
connection that Django keeps open (CONN_MAX_AGE) or that PgBouncer hands from one client to
the next in transaction mode starts every transaction with no clinic. These tests hammer
that from many threads at once, with requests for several clinics interleaved on the same
connections and transactions that fail half-way, and check the clinic of every row that
comes back. CI runs this module a second time through PgBouncer in transaction mode with a
pool of two server connections (`.ci/run`), where every request shares those two.
"""

from __future__ import annotations

import json
import random
import threading
import urllib.error
import urllib.request

import pytest
from django.db import connection, transaction

from accounts.testing import bearer, create_clinic
from clinical.models import Patient
from tenants.context import tenant_context
from tenants.testing import build

CLINICS = 6
PATIENTS_PER_CLINIC = 4
THREADS = 8
ROUNDS = 30


@pytest.fixture
def clinics(live_db):
    """Clinics with their owner's API headers and the ids of their own patients."""
    result = []
    for n in range(CLINICS):
        clinic = create_clinic(f"Bleed Clinic {n}")
        with tenant_context(clinic):
            patients = {str(build(Patient).pk) for _ in range(PATIENTS_PER_CLINIC)}
        headers = bearer(clinic.owner, clinic)
        result.append(
            {
                "id": str(clinic.pk),
                "patients": patients,
                "authorization": headers["HTTP_AUTHORIZATION"],
            }
        )
    connection.close()
    return result


def _get(url: str, authorization: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": authorization})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _run_threads(target) -> list[str]:
    problems: list[str] = []
    threads = [threading.Thread(target=target, args=(n, problems)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return problems


def test_concurrent_api_requests_only_ever_see_their_own_clinics_rows(clinics, live_server):
    def worker(n: int, problems: list[str]) -> None:
        rng = random.Random(n)
        for _ in range(ROUNDS):
            mine = rng.choice(clinics)
            other = rng.choice([c for c in clinics if c is not mine])
            if rng.random() < 0.3:
                # Another clinic's patient: a 404 whose transaction read nothing it may keep.
                stolen = next(iter(other["patients"]))
                status, _ = _get(
                    f"{live_server.url}/api/v1/patients/{stolen}/", mine["authorization"]
                )
                if status != 404:
                    problems.append(f"another clinic's patient answered {status}")
                continue
            status, body = _get(
                f"{live_server.url}/api/v1/patients/?page_size=100", mine["authorization"]
            )
            if status != 200:
                problems.append(f"list answered {status}: {body}")
                continue
            seen = {row["id"] for row in body["results"]}
            if seen != mine["patients"]:
                problems.append(
                    f"clinic {mine['id']} saw {len(seen - mine['patients'])} foreign and "
                    f"missed {len(mine['patients'] - seen)} own patients"
                )

    problems = _run_threads(worker)
    assert problems == [], problems[:5]


def test_reused_connections_start_every_transaction_without_a_clinic(clinics):
    """ORM work in many threads, half of it failing after the context was sent: whatever ran
    before on a connection, a statement with no clinic in context sees no patient at all."""
    all_patients = {pk for clinic in clinics for pk in clinic["patients"]}

    class Boom(Exception):
        pass

    def worker(n: int, problems: list[str]) -> None:
        from tenants.models import Tenant

        rng = random.Random(100 + n)
        try:
            for _ in range(ROUNDS):
                mine = rng.choice(clinics)
                clinic = Tenant(pk=mine["id"])
                try:
                    with tenant_context(clinic), transaction.atomic():
                        with connection.cursor() as cursor:
                            cursor.execute("SELECT id::text FROM clinical_patient")
                            seen = {row[0] for row in cursor.fetchall()}
                        if seen != mine["patients"]:
                            problems.append(f"in context saw {len(seen & all_patients)} rows")
                        if rng.random() < 0.5:
                            raise Boom
                except Boom:
                    pass
                # No context now: the connection (kept open, or pooled) must carry nothing.
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*), current_setting('app.tenant_id', true) "
                        "FROM clinical_patient"
                    )
                    count, setting = cursor.fetchone()
                if count or setting:
                    problems.append(f"without context: {count} rows, tenant {setting!r}")
        finally:
            connection.close()

    problems = _run_threads(worker)
    assert problems == [], problems[:5]
