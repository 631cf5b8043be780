"""The rules the query-plan checks hold every read to (test_api.py, test_admin.py), and the
helpers that apply them. Each SELECT a request sent is explained again, as the runtime role
inside the same clinic's context. A plan passes when

- no clinic table is read by a sequential scan (`enable_seqscan = off` makes PostgreSQL show
  its best plan without one: if one still appears, no index can serve the query);
- every index scan of a clinic table has a condition on the clinic column (or is a lookup by
  primary key, or, for memberships, by the signed-in user), so it reads one clinic's part of
  the index and not the whole table filtered by the policy;
- a paginated query (one with LIMIT) does not sort the whole clinic: no Sort node above more
  than a page-sized handful of rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.backend.base import without_context
from tenants.checks import protected_models
from tenants.context import tenant_context

# A Sort above more rows than this in a query with LIMIT sorts (a large part of) a clinic.
SORT_ROWS_ALLOWED = 200

CLINIC_TABLES = {m._meta.db_table for m in protected_models()}
# Reference tables (the shared medicines and dental templates) have no clinic column and hold
# no clinic's rows: every clinic reads all of them, so the scan rules (which keep a query
# inside one clinic's part of a table) do not apply, and a count over a substring search may
# read the shared catalogue whole, bounded by the catalogue. Their pages are not excepted
# from the sort rule: the medicine catalogue (shared ∪ own, clinical.models.CatalogueMedicine)
# is a Merge Append of the two tables' name indexes, already in order
# (test_the_medicine_catalogue_page_reads_both_tables_by_index).
REFERENCE_TABLES = {m._meta.db_table for m in protected_models() if m.rls_kind == "reference"}
# Columns that scope an index scan as well as the clinic column does: a primary key (one row),
# a membership looked up by the signed-in user (a person has a handful of memberships), and
# the invitations addressed to the signed-in person's e-mail (a handful, in any clinic).
SCOPE_COLUMNS = {
    "accounts_membership": ("user_id",),
    "accounts_invitation": ("email",),
    # A browser session's per-request checks of the signed-in person (pages and admin): their
    # two-factor device and state, and their doctor profile in this clinic (one per clinic).
    "otp_totp_totpdevice": ("user_id",),
    "accounts_twofactorstate": ("user_id",),
    "clinical_doctor": ("user_id",),
}


def walk(plan, parent=None):
    yield plan, parent
    for child in plan.get("Plans", []):
        yield from walk(child, plan)


@dataclass
class Call:
    """One GET request and the SELECTs it sent."""

    name: str
    path: str
    status: int = 0
    queries: list[str] = field(default_factory=list)


def explain(clinic, sql: str) -> dict:
    with tenant_context(clinic, user=clinic.owner), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    [root] = json.loads(plan) if isinstance(plan, str) else plan
    return root["Plan"]


def scan_problems(node) -> list[str]:
    table = node.get("Relation Name")
    if table not in CLINIC_TABLES or table in REFERENCE_TABLES:
        return []
    kind = node["Node Type"]
    if kind == "Seq Scan":
        return [f"Seq Scan on {table}"]
    if kind in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"):
        cond = bitmap_conditions(node) if kind == "Bitmap Heap Scan" else node.get("Index Cond", "")
        keys = ("tenant_id", *SCOPE_COLUMNS.get(table, ()))
        if any(k in cond for k in keys) or re.search(r"\(id = ", cond):
            return []
        return [
            f"{kind} on {table} using {node.get('Index Name', '?')} without a clinic "
            f"condition ({cond or 'no index condition'})"
        ]
    return []


def bitmap_conditions(node) -> str:
    # The Bitmap Index Scans under a Bitmap Heap Scan (through BitmapAnd/BitmapOr); not its
    # InitPlans and SubPlans, which read other tables.
    conds = []
    for child in node.get("Plans", []):
        if child.get("Parent Relationship") in ("InitPlan", "SubPlan"):
            continue
        conds += [n.get("Index Cond", "") for n, _ in walk(child)]
    return " ".join(conds)


def sort_problems(root, sql: str) -> list[str]:
    if " LIMIT " not in sql:
        return []
    return [
        f"{node['Node Type']} of {node['Plans'][0]['Plan Rows']} rows (key {node.get('Sort Key')})"
        for node, _ in walk(root)
        if node["Node Type"] == "Sort" and node["Plans"][0]["Plan Rows"] > SORT_ROWS_ALLOWED
    ]


def get(client, url: str, *, name: str = "") -> Call:
    """GET `url` (the API's client or a browser session's) and keep the SELECTs it sent."""
    call = Call(name or f"GET {url}", url)
    with CaptureQueriesContext(connection) as captured:
        call.status = client.get(url).status_code
    statements = [without_context(q["sql"]) for q in captured.captured_queries]
    call.queries = [s for s in statements if s.startswith(("SELECT", "WITH"))]
    return call


def plan_problems(clinic, calls: list[Call]) -> list[str]:
    """Each call's SELECTs explained in `clinic`'s context, and what the rules find."""
    problems = []
    for call in calls:
        for sql in call.queries:
            root = explain(clinic, sql)
            found = [p for node, _ in walk(root) for p in scan_problems(node)]
            found += sort_problems(root, sql)
            if found:
                problems.append(f"{call.name}\n  query: {sql[:300]}\n  " + "\n  ".join(found))
    return problems
