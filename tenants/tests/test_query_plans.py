"""Query plans of every read the API issues, under row-level security (issue 8, plan checks).

The API itself is the source of the queries: every GET endpoint of the OpenAPI schema is
called as a clinic owner, with its search and filter variants, on a few thousand rows per
clinic across several clinics, and each SELECT it sent is explained again, as the runtime
role inside the same clinic's context. A plan passes when

- no clinic table is read by a sequential scan (`enable_seqscan = off` makes PostgreSQL show
  its best plan without one: if one still appears, no index can serve the query);
- every index scan of a clinic table has a condition on the clinic column (or is a lookup by
  primary key, or, for memberships, by the signed-in user), so it reads one clinic's part of
  the index and not the whole table filtered by the policy;
- a paginated query (one with LIMIT) does not sort the whole clinic: no Sort node above more
  than a page-sized handful of rows.

New endpoints are covered without touching this file; an endpoint that cannot be called with
the demo rows here fails `test_every_get_endpoint_is_checked`, so nothing is skipped silently.
A failure names the endpoint, the query and the plan node.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.testing import bearer, create_clinic
from tenants.backend.base import without_context
from tenants.checks import protected_models
from tenants.context import tenant_context
from tenants.testing import build

PATIENTS_PER_CLINIC = 2000
CLINICS = 3
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


def _walk(plan, parent=None):
    yield plan, parent
    for child in plan.get("Plans", []):
        yield from _walk(child, plan)


@dataclass
class Call:
    """One GET request and the SELECTs it sent."""

    name: str
    path: str
    status: int = 0
    queries: list[str] = field(default_factory=list)


def _fill(clinic):
    """A clinic with realistic volume in its busy tables, and a row in every other one."""
    from clinical.models import (
        Doctor,
        Medicine,
        PrescriptionItem,
        SharedMedicine,
        ShortKey,
        ShortKeyItem,
    )
    from clinical.testing import bulk_clinical_records

    with tenant_context(clinic, user=clinic.owner):
        doctor = build(Doctor)
        medicine = build(Medicine)
        Medicine.objects.bulk_create(
            Medicine(name=f"Own medicine {n:03d}", strength="500 mg") for n in range(150)
        )
        build(ShortKey, code="SK1")
        patients = bulk_clinical_records(
            doctor=doctor, patients=PATIENTS_PER_CLINIC, prescriptions_per_patient=3
        )
        _fill_dental(doctor, patients[:PATIENTS_PER_CLINIC])
        # Lines naming a shared medicine and a clinic's own, so the lists join both tables.
        build(PrescriptionItem, shared_medicine=SharedMedicine.objects.order_by("name").first())
        build(ShortKeyItem, shared_medicine=SharedMedicine.objects.order_by("name").first())
        _fill_every_other_table(clinic, medicine)


def _fill_dental(doctor, patients):
    """A dental practice's records: findings and procedures for every patient, and the
    clinic's own observation templates beside the shared ones."""
    from clinical.models import DentalObservation, DentalProcedure, DentalTemplate

    DentalObservation.objects.bulk_create(
        DentalObservation(
            patient=patient,
            doctor=doctor,
            tooth_number=11 + n % 8,
            condition_type="caries",
            treatment_required=True,
        )
        for n, patient in enumerate(patients)
    )
    DentalProcedure.objects.bulk_create(
        DentalProcedure(
            patient=patient,
            doctor=doctor,
            procedure_code="D2391",
            procedure_name="Resin composite, one surface",
            teeth=[11 + n % 8],
        )
        for n, patient in enumerate(patients)
    )
    DentalTemplate.objects.bulk_create(
        DentalTemplate(name=f"Own template {n:03d}", condition_type="caries", notes="Notes")
        for n in range(100)
    )


def _attach_an_xray(clinic):
    """A stored file, so the download endpoint has something to serve."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from clinical.models import DentalObservation
    from clinical.services.dental import dental_attachment_create

    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
    with tenant_context(clinic, user=clinic.owner):
        observation = DentalObservation.objects.order_by("id").first()
        dental_attachment_create(
            tenant=clinic,
            actor=clinic.owner,
            file=SimpleUploadedFile("xray.png", png, content_type="image/png"),
            file_type="xray",
            observation_id=observation.pk,
        )


def _letterhead_images(clinic):
    """A logo and a signature on the clinic's print template, so their endpoints serve."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from clinical.models import PrintTemplate
    from clinical.services.printing import print_template_update

    def png():
        buffer = io.BytesIO()
        Image.new("RGB", (40, 20), "navy").save(buffer, format="PNG")
        return SimpleUploadedFile("image.png", buffer.getvalue(), content_type="image/png")

    with tenant_context(clinic, user=clinic.owner):
        for template in PrintTemplate.objects.all():
            print_template_update(
                tenant=clinic, actor=clinic.owner, template=template, logo=png(), signature=png()
            )


def _fill_every_other_table(clinic, medicine):
    """One row in each clinic table the bulk fill left empty, so detail endpoints have an
    object to show (the builders make valid rows of any tenant-owned model)."""
    from django.apps import apps

    from tenants.scoping import TenantOwnedModel

    for model in apps.get_models():
        if (
            issubclass(model, TenantOwnedModel)
            and not model._meta.abstract
            and not model._default_manager.exists()
        ):
            build(model)


@pytest.fixture(scope="module")
def clinics(django_db_setup, django_db_blocker, tmp_path_factory):
    """Several clinics of equal size, committed and analysed like production tables."""
    import io

    from django.core.management import call_command
    from django.test import override_settings

    from clinical.services.medicines import STARTER_CATALOGUE
    from conftest import _truncate_everything
    from tenants.models import Tenant
    from tenants.platform import platform_access

    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"))
    media.enable()
    with django_db_blocker.unblock():
        call_command("load_medicines", str(STARTER_CATALOGUE), stdout=io.StringIO())
        call_command("load_dental_templates", stdout=io.StringIO())
        made = [create_clinic(f"Plan Clinic {n}") for n in range(CLINICS)]
        # Other clinics, so the clinics table is not small enough to read whole.
        with platform_access(reason="plan checks: many clinics"):
            Tenant.objects.using("platform").bulk_create(
                Tenant(name=f"Other clinic {n}", code=f"other-{n}") for n in range(300)
            )
        for clinic in made:
            _fill(clinic)
        _attach_an_xray(made[0])
        _letterhead_images(made[0])
        # The owner role may ANALYZE (policies do not apply to statistics).
        with connections["owner"].cursor() as cursor:
            for table in sorted(CLINIC_TABLES):
                cursor.execute(f'ANALYZE "{table}"')
        connections["owner"].close()
        yield made
        _truncate_everything()
    media.disable()


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
                made.append(_get(client, url, name=f"GET {template}{'?' + query if query else ''}"))
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


def _explain(clinic, sql: str) -> dict:
    with tenant_context(clinic, user=clinic.owner), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    [root] = json.loads(plan) if isinstance(plan, str) else plan
    return root["Plan"]


def _scan_problems(node) -> list[str]:
    table = node.get("Relation Name")
    if table not in CLINIC_TABLES or table in REFERENCE_TABLES:
        return []
    kind = node["Node Type"]
    if kind == "Seq Scan":
        return [f"Seq Scan on {table}"]
    if kind in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"):
        if kind == "Bitmap Heap Scan":
            cond = _bitmap_conditions(node)
        else:
            cond = node.get("Index Cond", "")
        keys = ("tenant_id", *SCOPE_COLUMNS.get(table, ()))
        if any(k in cond for k in keys) or re.search(r"\(id = ", cond):
            return []
        return [
            f"{kind} on {table} using {node.get('Index Name', '?')} without a clinic "
            f"condition ({cond or 'no index condition'})"
        ]
    return []


def _bitmap_conditions(node) -> str:
    # The Bitmap Index Scans under a Bitmap Heap Scan (through BitmapAnd/BitmapOr); not its
    # InitPlans and SubPlans, which read other tables.
    conds = []
    for child in node.get("Plans", []):
        if child.get("Parent Relationship") in ("InitPlan", "SubPlan"):
            continue
        conds += [n.get("Index Cond", "") for n, _ in _walk(child)]
    return " ".join(conds)


def _sort_problems(root, sql: str) -> list[str]:
    if " LIMIT " not in sql:
        return []
    return [
        f"{node['Node Type']} of {node['Plans'][0]['Plan Rows']} rows (key {node.get('Sort Key')})"
        for node, _ in _walk(root)
        if node["Node Type"] == "Sort" and node["Plans"][0]["Plan Rows"] > SORT_ROWS_ALLOWED
    ]


def test_every_api_read_uses_a_clinic_index(clinics, calls, django_db_blocker):
    problems = []
    with django_db_blocker.unblock():
        for call in calls:
            for sql in call.queries:
                root = _explain(clinics[0], sql)
                found = [p for node, _ in _walk(root) for p in _scan_problems(node)]
                found += _sort_problems(root, sql)
                if found:
                    problems.append(f"{call.name}\n  query: {sql[:300]}\n  " + "\n  ".join(found))
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
        root = _explain(clinics[0], sql)
    nodes = [node for node, _ in _walk(root)]
    scans = {
        n["Relation Name"]: n
        for n in nodes
        if n.get("Relation Name") in ("clinical_medicine", "clinical_sharedmedicine")
    }
    assert set(scans) == {"clinical_medicine", "clinical_sharedmedicine"}, root
    indexed = ("Index Scan", "Index Only Scan", "Bitmap Heap Scan")
    assert all(n["Node Type"] in indexed for n in scans.values()), root
    own = scans["clinical_medicine"]
    condition = _bitmap_conditions(own) if own["Node Type"] == "Bitmap Heap Scan" else ""
    assert "tenant_id" in (condition or own.get("Index Cond", "")), root
    assert any(n["Node Type"] == "Merge Append" for n in nodes), root
    assert not _sort_problems(root, sql), root


def test_the_check_catches_a_scan_without_the_clinic_index(clinics, django_db_blocker):
    """The checker itself fails on the plans it is there to catch."""
    with django_db_blocker.unblock():
        # LIKE is not leakproof: under RLS it cannot be an index condition, so this search
        # reads the clinic's rows one by one (design: "What is measured").
        # A page in an order no clinic index has sorts the whole clinic.
        unindexed = "SELECT * FROM clinical_patient ORDER BY notes LIMIT 20"
        sorted_whole = _sort_problems(_explain(clinics[0], unindexed), unindexed)
        # A page in an order that only a global index has walks that index through every
        # clinic's rows, filtered by the policy. (People: their policy is an OR of the person
        # and the clinic's members, which no index condition carries; the clinics table's
        # policy is now a bare `id = clinic`, which the planner uses, accounts/0009.)
        by_key = _explain(clinics[0], "SELECT * FROM accounts_user ORDER BY lower(email) LIMIT 20")
        unscoped = [p for node, _ in _walk(by_key) for p in _scan_problems(node)]
        # The pages the API does serve pass.
        indexed = "SELECT * FROM clinical_patient ORDER BY first_name, last_name, id LIMIT 20"
        good = _explain(clinics[0], indexed)
    assert sorted_whole and "Sort of" in sorted_whole[0]
    assert unscoped and "without a clinic condition" in unscoped[0]
    assert not _sort_problems(good, indexed)
    assert not [p for node, _ in _walk(good) for p in _scan_problems(node)]


# --- the admin workspace (issue 15): its lists, searches and record pages ------------------

# Searches a member types in the admin's lists, by model label.
ADMIN_SEARCHES = {
    "clinical.patient": ["Kavya00011", "98000001"],
    "clinical.appointment": ["Kavya00011"],
    "clinical.prescription": ["RX-000001"],
    "clinical.medicine": ["para"],
}
# Lists that open on a default filter (the schedule opens on today): also read unfiltered.
ADMIN_EXTRA_QUERIES = {"clinical.appointment": ["day=any"]}


@pytest.fixture(scope="module")
def admin_calls(clinics, django_db_blocker) -> list[Call]:
    """Every admin list the first clinic's owner may open (with its searches and an object's
    page), through the admin itself, with the SQL it sent."""
    from django.contrib import admin
    from django.test import Client

    from accounts.testing import session_login

    clinic = clinics[0]
    made: list[Call] = []
    with django_db_blocker.unblock():
        client = Client()
        session_login(client, clinic.owner, clinic)
        for model in admin.site._registry:
            label = model._meta.label_lower
            base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            queries = ["", *ADMIN_EXTRA_QUERIES.get(label, [])]
            queries += [f"q={term}" for term in ADMIN_SEARCHES.get(label, [])]
            for url in [f"{base}?{q}" if q else base for q in queries]:
                made.append(_get(client, url))
            if made[-1].status != 200:
                continue  # not the owner's to open (a 403, checked below)
            # A record's page: the first row the list shows.
            with tenant_context(clinic, user=clinic.owner):
                first = model._default_manager.values_list("pk", flat=True).first()
            if first is not None:
                made.append(_get(client, f"{base}{first}/change/"))
    return made


def _get(client, url: str, *, name: str = "") -> Call:
    """GET `url` (the API's client or a browser session's) and keep the SELECTs it sent."""
    call = Call(name or f"GET {url}", url)
    with CaptureQueriesContext(connection) as captured:
        call.status = client.get(url).status_code
    statements = [without_context(q["sql"]) for q in captured.captured_queries]
    call.queries = [s for s in statements if s.startswith(("SELECT", "WITH"))]
    return call


def test_the_admin_lists_the_workspace_needs_are_checked(admin_calls):
    opened = {c.path.split("?")[0] for c in admin_calls if c.status == 200}
    for model in ("patient", "appointment", "prescription", "medicine", "doctor"):
        assert f"/admin/clinical/{model}/" in opened, model
    # What the owner may not open answers 403, never a server error.
    assert not [c.name for c in admin_calls if c.status >= 500]


def test_every_admin_read_uses_a_clinic_index(clinics, admin_calls, django_db_blocker):
    problems = []
    with django_db_blocker.unblock():
        for call in admin_calls:
            if call.status != 200:
                continue
            for sql in call.queries:
                root = _explain(clinics[0], sql)
                found = [p for node, _ in _walk(root) for p in _scan_problems(node)]
                found += _sort_problems(root, sql)
                if found:
                    problems.append(f"{call.name}\n  query: {sql[:300]}\n  " + "\n  ".join(found))
    assert not problems, "\n\n".join(problems)
