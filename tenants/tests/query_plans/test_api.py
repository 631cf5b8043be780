"""Query plans of every read the API issues, under row-level security (issue 8, plan checks).

The API itself is the source of the queries: every GET endpoint of the OpenAPI schema is
called as a clinic owner, with its search and filter variants, on the package's clinics
(conftest.py), and each SELECT it sent is explained again, as the runtime role inside the
same clinic's context, and held to the rules of plans.py. New endpoints are covered without
touching this file; an endpoint that cannot be called with the rows here fails
`test_every_get_endpoint_is_checked`, so nothing is skipped silently. A failure names the
endpoint, the query and the plan node.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.testing import bearer
from tenants.tests.query_plans.plans import (
    Call,
    bitmap_conditions,
    explain,
    get,
    plan_problems,
    scan_problems,
    sort_problems,
    walk,
)


def _endpoints() -> list[str]:
    """Every GET path of the API schema, with its parameters as `{name}`."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(path for path, ops in schema["paths"].items() if "get" in ops)


# Query strings a user sends to lists: the searches and filters of the clinical API.
def _variants(today: str) -> dict[str, list[str]]:
    return {
        "/api/v1/patients/": ["search=Kavya00011", "search=98000001", "mobile_number=9800000012"],
        "/api/v1/appointments/": [f"date={today}", "search=Kavya00011", "status=completed"],
        "/api/v1/prescriptions/": [f"visit_date_from={today}", "search=RX-000001"],
        "/api/v1/medicines/": ["search=para", "scope=clinic", "scope=global"],
        "/api/v1/doctors/": ["search=a"],
        "/api/v1/short-keys/": ["search=a"],
        "/api/v1/dental/observations/": [
            "patient={patient}",
            "tooth_number=11",
            "condition_type=caries&treatment_done=false",
        ],
        "/api/v1/dental/procedures/": ["patient={patient}", "status=planned", "tooth_number=11"],
        "/api/v1/dental/templates/match/": ["condition=caries&surface=mesial&severity=mild"],
        "/api/v1/dental/templates/": ["scope=clinic"],
    }


# Detail paths whose rows are listed somewhere other than the path before the parameter.
PARENTS = {"/api/v1/patients/families/{mobile}/": "/api/v1/patients/"}
# Parameters named differently from the field of the listed row.
FIELDS = {"mobile": "mobile_number"}


def _required_query(client, template: str, today: str) -> str:
    """The query string an endpoint cannot answer without."""
    if template == "/api/v1/appointments/availability/":
        return f"doctor={_first_result(client, '/api/v1/doctors/')['id']}&date={today}"
    return ""


def _first_result(client, list_path: str) -> dict | None:
    response = client.get(list_path)
    if response.status_code != 200:
        return None
    data = response.json()
    rows = data.get("results", data) if isinstance(data, dict) else data
    return rows[0] if isinstance(rows, list) and rows else None


def _fill_path(client, path: str) -> str | None:
    """The path with its parameters taken from the first row of the parent list."""
    params = re.findall(r"\{(\w+)\}", path)
    if not params:
        return path
    parent = PARENTS.get(path, path[: path.index("{")])
    row = _first_result(client, parent)
    if row is None:
        return None
    for name in params:
        key = FIELDS.get(name, name)
        if key not in row:
            return None
        path = path.replace("{" + name + "}", str(row[key]), 1)
        if "{" in path:  # A nested parameter: its parent is the path so far.
            row = _first_result(client, path[: path.index("{")]) or {}
    return path


@pytest.fixture(scope="module")
def calls(clinics, django_db_blocker) -> list[Call]:
    """Every GET endpoint, called as the owner of the first clinic, with the SQL it sent."""
    clinic = clinics[0]
    today = timezone.localdate().isoformat()
    made: list[Call] = []
    with django_db_blocker.unblock():
        client = APIClient()
        client.credentials(**bearer(clinic.owner, clinic))
        patient = _first_result(client, "/api/v1/patients/")["id"]
        variants = {
            path: [q.format(patient=patient) for q in queries]
            for path, queries in _variants(today).items()
        }
        # A first read of patients leaves an audit entry for the audit endpoints to show.
        client.get("/api/v1/patients/")
        for template in _endpoints():
            path = _fill_path(client, template)
            if path is None:
                made.append(Call(template, template))
                continue
            required = _required_query(client, template, today)
            for query in [required, *variants.get(template, [])]:
                url = f"{path}?{query}" if query else path
                made.append(get(client, url, name=f"GET {template}{'?' + query if query else ''}"))
    return made


# Endpoints that answer without reading clinic rows, or serve a file rather than JSON.
NOT_READS = {
    "/api/v1/schema/",
    "/api/v1/tenants/plans/",
}


def test_every_get_endpoint_is_checked(calls):
    failed = [f"{c.name}: {c.status or 'no row to address it'}" for c in calls if c.status != 200]
    assert not failed, "endpoints the plan checks could not call:\n" + "\n".join(failed)
    assert len({c.name.split("?")[0] for c in calls}) >= 20


def test_every_api_read_uses_a_clinic_index(clinics, calls, django_db_blocker):
    with django_db_blocker.unblock():
        problems = plan_problems(clinics[0], calls)
    assert not problems, "\n\n".join(problems)


def test_the_medicine_catalogue_page_reads_both_tables_by_index(clinics, calls, django_db_blocker):
    """The first page of the medicines (the shared catalogue and the clinic's own, one list):
    each table read by index, the clinic's own part by the clinic's index range, the two
    merged in name order (Merge Append), and no sort above a page-sized handful of rows (on a
    clinic with few medicines of its own PostgreSQL may sort those few instead of walking the
    index)."""
    [call] = [c for c in calls if c.name == "GET /api/v1/medicines/"]
    [sql] = [q for q in call.queries if "clinical_medicinecatalogue" in q and " LIMIT " in q]
    with django_db_blocker.unblock():
        root = explain(clinics[0], sql)
    nodes = [node for node, _ in walk(root)]
    scans = {
        n["Relation Name"]: n
        for n in nodes
        if n.get("Relation Name") in ("clinical_medicine", "clinical_sharedmedicine")
    }
    assert set(scans) == {"clinical_medicine", "clinical_sharedmedicine"}, root
    indexed = ("Index Scan", "Index Only Scan", "Bitmap Heap Scan")
    assert all(n["Node Type"] in indexed for n in scans.values()), root
    own = scans["clinical_medicine"]
    condition = bitmap_conditions(own) if own["Node Type"] == "Bitmap Heap Scan" else ""
    assert "tenant_id" in (condition or own.get("Index Cond", "")), root
    assert any(n["Node Type"] == "Merge Append" for n in nodes), root
    assert not sort_problems(root, sql), root


def test_the_check_catches_a_scan_without_the_clinic_index(clinics, django_db_blocker):
    """The checker itself fails on the plans it is there to catch."""
    with django_db_blocker.unblock():
        # LIKE is not leakproof: under RLS it cannot be an index condition, so this search
        # reads the clinic's rows one by one (design: "What is measured").
        # A page in an order no clinic index has sorts the whole clinic.
        unindexed = "SELECT * FROM clinical_patient ORDER BY notes LIMIT 20"
        sorted_whole = sort_problems(explain(clinics[0], unindexed), unindexed)
        # A page in an order that only a global index has walks that index through every
        # clinic's rows, filtered by the policy. (People: their policy is an OR of the person
        # and the clinic's members, which no index condition carries; the clinics table's
        # policy is now a bare `id = clinic`, which the planner uses, accounts/0009.)
        by_key = explain(clinics[0], "SELECT * FROM accounts_user ORDER BY lower(email) LIMIT 20")
        unscoped = [p for node, _ in walk(by_key) for p in scan_problems(node)]
        # The pages the API does serve pass.
        indexed = "SELECT * FROM clinical_patient ORDER BY first_name, last_name, id LIMIT 20"
        good = explain(clinics[0], indexed)
    assert sorted_whole and "Sort of" in sorted_whole[0]
    assert unscoped and "without a clinic condition" in unscoped[0]
    assert not sort_problems(good, indexed)
    assert not [p for node, _ in walk(good) for p in scan_problems(node)]
