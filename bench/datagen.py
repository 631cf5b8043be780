"""Scale data for the benchmarks: N clinics x M patients, with appointments and about three
prescriptions per patient.

    python bench/datagen.py [--clinics 300] [--patients 1000] [--jobs 2]

The data lives in a database of its own, `clinic_saas_bench_<N>x<M>`, created, owned and
migrated like the real one. Rows are written the way the application writes them: each
clinic through the clinic services as the runtime role inside that clinic's context (so row-
level security checks every row), in one transaction per clinic. A clinic is therefore
either complete or absent, and running the script again only adds the clinics still missing:
the data is reusable between runs, and an interrupted run resumes. `--drop` starts over.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

PRESCRIPTIONS_PER_PATIENT = 3
NAME_PREFIX = "Bench clinic "


def database_name(clinics: int, patients: int) -> str:
    return f"clinic_saas_bench_{clinics}x{patients}"


def bench_clinics():
    """The benchmark's clinics, in creation order (read through the platform role)."""
    from tenants.models import Tenant
    from tenants.platform import platform_access

    with platform_access(reason="benchmarks: list the benchmark clinics"):
        return list(
            Tenant.objects.using("platform")
            .filter(name__startswith=NAME_PREFIX)
            .order_by("name")
            .only("id", "name", "code")
        )


def fill_clinic(number: int, patients: int, *, prefix: str = NAME_PREFIX):
    """One clinic with its owner, a doctor, M patients, M appointments and 3M prescriptions,
    in one transaction as the runtime role in the clinic's context."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.testing import add_member
    from clinical.models import Doctor
    from clinical.testing import bulk_clinical_records
    from tenants import plans
    from tenants.context import tenant_context
    from tenants.services import tenant_create
    from tenants.testing import build

    with transaction.atomic():
        clinic = tenant_create(name=f"{prefix}{number:05d}", plan=plans.ENTERPRISE)
        email = f"owner{number}.{clinic.code}@bench.example"
        owner = add_member(clinic, email=email, role="owner")
        with tenant_context(clinic, user=owner.user):
            # The owner is also the doctor, as an "admin_doctor" signup makes them.
            doctor = build(Doctor, user=owner.user)
            bulk_clinical_records(
                doctor=doctor,
                patients=patients,
                prescriptions_per_patient=PRESCRIPTIONS_PER_PATIENT,
                mobile_prefix=f"9{number % 1000:03d}",
                # 40 a day from a year back (bench/workload.py reads the 11th day).
                first_day=timezone.localdate() - datetime.timedelta(days=365),
            )
    return clinic


def analyze() -> None:
    """Planner statistics, as autovacuum would have them in production."""
    from django.db import connections

    from tenants.checks import protected_models

    with connections["owner"].cursor() as cursor:
        for model in protected_models():
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')


def _missing(clinics: int) -> list[int]:
    """The clinic numbers below `clinics` not made yet (a run may have stopped anywhere)."""
    have = {int(c.name[len(NAME_PREFIX) :]) for c in bench_clinics()}
    return [number for number in range(clinics) if number not in have]


def _fill_some(database: str, numbers: list[int], patients: int, show: bool) -> None:
    """One worker process: Django on the scale database, then its share of the clinics."""
    common.setup(database, migrate=False)
    items = common.progress(numbers, len(numbers), "clinics") if show else numbers
    for number in items:
        fill_clinic(number, patients)


def ensure(clinics: int, patients: int, *, quiet: bool = False, jobs: int = 1) -> str:
    """Make (or top up) the scale database and leave Django configured on it. `jobs` worker
    processes share the missing clinics (each clinic is still one transaction)."""
    name = database_name(clinics, patients)
    common.setup(name)
    missing = _missing(clinics)
    if missing:
        if not quiet:
            have = clinics - len(missing)
            print(f"{name}: {have:,} of {clinics:,} clinics present; adding {len(missing):,}")
        start = time.perf_counter()
        if jobs <= 1:
            for number in common.progress(missing, len(missing), "clinics"):
                fill_clinic(number, patients)
        else:
            import multiprocessing

            from django.db import connections

            for connection in connections.all():
                connection.close()
            shares = [missing[i::jobs] for i in range(jobs)]
            context = multiprocessing.get_context("spawn")
            workers = [
                context.Process(target=_fill_some, args=(name, share, patients, i == 0))
                for i, share in enumerate(shares)
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            if any(worker.exitcode for worker in workers):
                raise SystemExit("a datagen worker failed; run again to resume")
        analyze()
        if not quiet:
            rows = len(missing) * patients * (2 + PRESCRIPTIONS_PER_PATIENT)
            took = time.perf_counter() - start
            print(
                f"  wrote {len(missing):,} clinics, {rows:,} rows in {took:.0f} s "
                f"({len(missing) / took:,.1f} clinics/s, {rows / took:,.0f} rows/s, "
                f"{jobs} process{'es' if jobs > 1 else ''})"
            )
    elif not quiet:
        print(f"{name}: {clinics:,} clinics x {patients:,} patients present; reused")
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=300)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--drop", action="store_true", help="drop the database and start over")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (one per core)")
    args = parser.parse_args()
    if args.drop:
        common.setup(database_name(args.clinics, args.patients), migrate=False)
        common.drop_database(database_name(args.clinics, args.patients))
    ensure(args.clinics, args.patients, jobs=args.jobs)


if __name__ == "__main__":
    main()
