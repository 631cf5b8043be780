"""Scale data for the benchmarks: N clinics x M patients, with appointments and about three
prescriptions per patient.

    python bench/datagen.py [--clinics 1000] [--patients 1000]

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


def ensure(clinics: int, patients: int, *, quiet: bool = False) -> str:
    """Make (or top up) the scale database and leave Django configured on it."""
    name = database_name(clinics, patients)
    common.setup(name)
    have = len(bench_clinics())
    if have < clinics:
        if not quiet:
            print(f"{name}: {have:,} of {clinics:,} clinics present; adding {clinics - have:,}")
        start = time.perf_counter()
        for number in common.progress(range(have, clinics), clinics - have, "clinics"):
            fill_clinic(number, patients)
        analyze()
        if not quiet:
            rows = (clinics - have) * patients * (2 + PRESCRIPTIONS_PER_PATIENT)
            took = time.perf_counter() - start
            print(f"  wrote {rows:,} rows in {took:.0f} s ({rows / took:,.0f} rows/s)")
    elif not quiet:
        print(f"{name}: {clinics:,} clinics x {patients:,} patients present; reused")
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=1000)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--drop", action="store_true", help="drop the database and start over")
    args = parser.parse_args()
    if args.drop:
        common.setup(database_name(args.clinics, args.patients), migrate=False)
        common.drop_database(database_name(args.clinics, args.patients))
    ensure(args.clinics, args.patients)


if __name__ == "__main__":
    main()
