"""A clinic's everyday reads, as the application itself sends them to PostgreSQL.

The queries are not written by hand: each request of the workload is made through the real
API (Django's test client, a clinic owner's JWT) and the SQL statements it sent are recorded,
exactly as the ORM compiled them (Django's psycopg 3 cursors bind parameters client-side,
so the recorded text is what travelled). The benchmarks then replay them on plain psycopg
connections, which keeps Python out of the timings and lets the same bytes go to PostgreSQL
as different roles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Query:
    name: str  # the request and the statement's position in it
    sql: str  # without the context prefix
    prefix: str  # the backend's SET LOCAL statements for this clinic and user


def _requests(clinic_number: int, today) -> list[tuple[str, str]]:
    """(name, path) of the workload; `{patient}` and `{prescription}` are filled in."""
    import datetime

    mobile_prefix = f"9{clinic_number % 1000:03d}0001"  # 100 of the clinic's patients
    # bench/datagen.py books 40 a day from a year back: the 11th day has a full list.
    day = (today - datetime.timedelta(days=355)).isoformat()
    return [
        ("patients: first page", "/api/v1/patients/"),
        ("patients: search by name", "/api/v1/patients/?search=Kavya00011"),
        ("patients: search by mobile prefix", f"/api/v1/patients/?search={mobile_prefix}"),
        ("patient: detail", "/api/v1/patients/{patient}/"),
        ("appointments: one day", f"/api/v1/appointments/?date={day}"),
        ("prescriptions: recent, with patient", "/api/v1/prescriptions/"),
        ("prescriptions: of one patient", "/api/v1/prescriptions/?patient={patient}"),
        ("prescription: detail", "/api/v1/prescriptions/{prescription}/"),
        ("medicines: first page", "/api/v1/medicines/"),
        ("doctors: list", "/api/v1/doctors/"),
    ]


def capture(clinic, clinic_number: int) -> list[Query]:
    """The SELECT statements the workload's requests send for this clinic, deduplicated."""
    import logging

    # One log line per recorded request would drown the benchmarks' output.
    logging.getLogger("clinic_saas.request").setLevel(logging.WARNING)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import Membership
    from accounts.tokens import issue_tokens
    from clinical.models import Patient, Prescription
    from tenants.backend.base import context_prefix, without_context
    from tenants.context import tenant_context

    with tenant_context(clinic):
        membership = Membership.objects.select_related("user", "tenant").get(role="owner")
        patient = Patient.objects.order_by("first_name", "last_name", "id").first()
        prescription = Prescription.objects.filter(patient=patient).first()
    token = issue_tokens(membership)["access"]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    prefix = context_prefix(clinic.pk, membership.user_id)

    queries: list[Query] = []
    seen: set[str] = set()
    for name, path in _requests(clinic_number, timezone.localdate()):
        path = path.format(patient=patient.pk, prescription=prescription.pk)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.content!r}")
        # Each statement is replayed with the context it ran under: the prefix the backend
        # sent with it, or the last one sent before it in the same request (the backend sends
        # the context again only when it changes).
        sent = prefix
        for captured_query in captured.captured_queries:
            raw = captured_query["sql"]
            sql = without_context(raw)
            if sql != raw:
                sent = raw[: len(raw) - len(sql)]
            if not sql.startswith("SELECT") or sql in seen:
                continue
            seen.add(sql)
            label = f"{name}: {_describe(sql)}"
            while label in {q.name for q in queries}:  # two statements that read the same
                label += "'"
            queries.append(Query(label, sql, sent))
    return queries


def protected_tables() -> set[str]:
    """The tables under row-level security (each one's policies are planned per statement)."""
    from tenants.checks import protected_models

    return {model._meta.db_table for model in protected_models()}


# The database functions the application reads through (tenants.people_sql.INVOKER_FUNCTIONS),
# with the protected tables each one reads. Their plans are cached per connection, so a role
# switch on the connection (SET ROLE) would throw the plan away: rls_overhead.py times them on
# one connection per role, as the application's own connections are.
CACHED_PLAN_FUNCTIONS = {
    "clinic_membership_check": ["accounts_membership", "accounts_user", "tenants_tenant"],
}


def tables_read(sql: str, views: dict[str, list[str]] | None = None) -> list[str]:
    """The tables a statement reads, once per reference (FROM, JOIN, sub-selects); a view
    (`views`: its name to the tables it reads, from `view_tables`) counts as its tables, and
    so does a function of CACHED_PLAN_FUNCTIONS."""
    names = re.findall(r'(?:FROM|JOIN) "(\w+)"', sql)
    tables = [table for name in names for table in (views or {}).get(name, [name])]
    for function in cached_plan_functions(sql):
        tables += CACHED_PLAN_FUNCTIONS[function]
    return tables


def cached_plan_functions(sql: str) -> list[str]:
    """The functions of CACHED_PLAN_FUNCTIONS the statement calls."""
    return [name for name in CACHED_PLAN_FUNCTIONS if f"{name}(" in sql]


def view_tables(cursor) -> dict[str, list[str]]:
    """Each view of the schema and the tables it reads (the medicine catalogue: the clinic's
    own medicines and the shared ones), from the view's rewrite rule's dependencies."""
    cursor.execute(
        "SELECT v.relname, t.relname FROM pg_depend d "
        "JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class "
        "JOIN pg_class t ON t.oid = d.refobjid "
        "WHERE v.relkind = 'v' AND t.relkind IN ('r', 'p') AND t.oid <> v.oid "
        "AND v.relnamespace = current_schema()::regnamespace "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    views: dict[str, list[str]] = {}
    for view, table in cursor.fetchall():
        views.setdefault(view, []).append(table)
    return views


MEMBERSHIP_CHECK = "per-request membership check (membership + person + clinic)"


def _describe(sql: str) -> str:
    """`count(patient)`, `patient+doctor`: what a statement reads, for the tables."""
    if "clinic_membership_check(" in sql or (
        '"accounts_membership"' in sql and '"tenants_tenant"' in sql and '"accounts_user"' in sql
    ):
        return MEMBERSHIP_CHECK
    tables = re.findall(r'(?:FROM|JOIN) "(?:\w+?)_(\w+)"', sql)
    label = "+".join(dict.fromkeys(tables))
    return f"count({label})" if "COUNT(" in sql[:40] else label


def connect(alias: str):
    """A plain psycopg connection as the role of a Django database alias, in autocommit, with
    client-side binding (as Django's), so a statement can carry the context prefix."""
    import psycopg
    from django.conf import settings

    config = settings.DATABASES[alias]
    return psycopg.connect(
        dbname=config["NAME"],
        user=config["USER"],
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        autocommit=True,
        cursor_factory=psycopg.ClientCursor,
    )


def connect_admin():
    """The same kind of connection as the server's administrator (DATABASE_ADMIN_URL), on the
    benchmark database: it may `SET ROLE` to any of the project's roles."""
    import psycopg
    from django.conf import settings
    from django.db import connection

    from tenants import dbroles

    conninfo = dbroles.conninfo_from_url(settings.DATABASE_ADMIN_URL)
    return psycopg.connect(
        conninfo,
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
        cursor_factory=psycopg.ClientCursor,
    )


def run(cursor, query: Query) -> int:
    """Send the statement as the application does: the context prefix and the query in one
    round trip (one implicit transaction). Returns the number of rows."""
    from tenants.backend.base import PREFIX_STATEMENTS

    cursor.execute(query.prefix + query.sql)
    # The prefix's results come first; the query's rows are the result set after them.
    for _ in range(PREFIX_STATEMENTS):
        cursor.nextset()
    return len(cursor.fetchall())
