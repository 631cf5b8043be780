"""Signing up a clinic, shared schema vs schema-per-clinic.

Shared schema (this project): `clinic_register` inserts the clinic, its owner, the
membership, a doctor profile and an office: a handful of rows.

Schema per clinic (the alternative design): a new clinic needs `CREATE SCHEMA` and the
project's own clinic tables with their indexes and constraints created in it, from the
project's DDL, as the migration owner. Goal: the shared-schema signup is at least 50x
faster (median of 50 each, interleaved).

    python bench/signup.py [--rounds 50]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common


def clinic_ddl() -> list[str]:
    """The DDL that creates every clinic-owned table of the project, with its indexes."""
    from django.db import connections

    from tenants.checks import protected_models

    models_ = [
        m
        for m in protected_models()
        if m.rls_kind in ("tenant", "catalog", "membership", "invitation")
    ]
    with connections["owner"].schema_editor(collect_sql=True, atomic=False) as editor:
        for model in models_:
            editor.create_model(model)
    return list(editor.collected_sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    common.setup("clinic_saas_bench_signup")

    from django.conf import settings

    # Password hashing (argon2, about 0.1 s by design) is the same in both designs: every
    # new owner gets a hashed password. It is left out so the comparison shows what the
    # tenancy model itself costs.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    from django.db import connections, transaction

    from clinics.services import clinic_register
    from core.email import emails_suppressed

    ddl = clinic_ddl()
    counter = itertools.count()

    def shared_schema():
        n = next(counter)
        with emails_suppressed():
            clinic_register(
                clinic_name=f"Bench Clinic {n}",
                clinic_phone="08041102200",
                clinic_address="1 Bench Road",
                owner_first_name="Bench",
                owner_last_name="Owner",
                owner_email=f"owner{n}@bench.example",
                owner_phone="9876500001",
                password="Bench-Password-2026",
                role="admin_doctor",
                license_number=f"B-{n}",
                specialization="Dentistry",
            )

    schemas = []

    def schema_per_clinic():
        name = f"clinic_{next(counter)}"
        owner = connections["owner"]
        with transaction.atomic(using="owner"), owner.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
            cursor.execute(f'SET LOCAL search_path = "{name}", public')
            for statement in ddl:
                cursor.execute(statement)
        schemas.append(name)

    print(f"Signup benchmark on {common.machine()}")
    print(f"  schema-per-clinic DDL: {len(ddl)} statements for the clinic tables")
    timings = common.interleaved(
        {
            "shared schema: clinic_register": shared_schema,
            "schema per clinic: CREATE SCHEMA + DDL": schema_per_clinic,
        },
        rounds=args.rounds,
        warmup=2,
    )
    shared, per_schema = (common.median_ms(t) for t in timings.values())
    speedup = per_schema / shared
    print(
        common.table(
            [
                ["shared schema: clinic_register", f"{shared:.2f}", "1.00x"],
                ["schema per clinic: CREATE SCHEMA + DDL", f"{per_schema:.2f}", f"{speedup:.1f}x"],
            ],
            [f"operation (median of {args.rounds})", "ms", "vs shared"],
        )
    )
    goal = common.verdict(speedup, 50, higher_is_better=True)
    print(f"signup speed-up: {speedup:.1f}x (goal >= 50x: {goal})")

    with connections["owner"].cursor() as cursor:
        for name in schemas:
            cursor.execute(f'DROP SCHEMA "{name}" CASCADE')
    common.drop_database("clinic_saas_bench_signup")


if __name__ == "__main__":
    main()
