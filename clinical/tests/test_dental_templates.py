"""Dental observation templates: the shared starter set (read-only to clinics, written only by
load_dental_templates through the platform role) and each clinic's own; matching a finding,
most specific first."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.testing import create_clinic
from clinical.models import DentalTemplate, SharedDentalTemplate
from clinical.services.catalogues import CatalogueError
from clinical.services.dental.templates import STARTER_TEMPLATES, read_dental_templates
from clinical.tests.conftest import h
from tenants.context import tenant_context
from tenants.platform import platform_access
from tenants.testing import build

URL = "/api/v1/dental/templates"


@pytest.fixture
def clinics(live_db):
    """Clinic A (owner alice) and clinic B (owner charlie), committed: shared templates are
    written through the platform role's own connection, which sees only committed rows."""
    a = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    b = create_clinic("Bharat Family Clinic", owner_email="charlie@bharat.example")
    return a, b


def shared(**fields) -> SharedDentalTemplate:
    with platform_access(reason="test: shared template"):
        return SharedDentalTemplate.objects.create(**fields)


def load_starter_set() -> str:
    out = io.StringIO()
    call_command("load_dental_templates", stdout=out)
    return out.getvalue()


def test_the_starter_set_loads_once_and_is_read_by_every_clinic(api, clinics):
    clinic_a, clinic_b = clinics
    alice = clinic_a.owner
    first = load_starter_set()
    assert "created" in first
    again = load_starter_set()
    assert "0 created, 0 updated" in again
    with STARTER_TEMPLATES.open(encoding="utf-8") as handle:
        rows = read_dental_templates(handle)
    assert len(rows) >= 25
    conditions = {values["condition_type"] for _line, values in rows}
    assert {"caries", "fracture", "missing", "periodontal_pocket", "impacted"} <= conditions
    for clinic in (clinic_a, clinic_b):
        with tenant_context(clinic):
            assert SharedDentalTemplate.objects.count() == len(rows)
            assert not DentalTemplate.objects.exists()
    listed = api.get(URL, {"scope": "global", "page_size": 100}, **h(alice, clinic_a)).json()
    assert listed["count"] == len(rows)
    assert {row["scope"] for row in listed["results"]} == {"global"}


def test_a_bad_template_file_is_refused_with_line_numbers(tmp_path, db):
    path = tmp_path / "bad.csv"
    path.write_text(
        "name,condition_type,tooth_surface,severity,treatment_required,procedure_code,notes\n"
        "A,decay,,,no,,Text\n"
        "B,caries,,,no,X1,Text\n"
        "C,caries,,,no,,\n"
    )
    with pytest.raises(CatalogueError) as excinfo:
        read_dental_templates(path.open())
    assert [line for line, _ in excinfo.value.errors] == [2, 3, 4]
    with pytest.raises(CommandError, match="3 invalid row"):
        call_command("load_dental_templates", str(path), stdout=io.StringIO(), stderr=io.StringIO())


def test_clinics_cannot_change_or_delete_shared_templates(api, clinics):
    clinic_a, alice = clinics[0], clinics[0].owner
    template = shared(name="Shared caries", condition_type="caries", notes="Shared text.")
    headers = h(alice, clinic_a)
    changed = api.patch(f"{URL}/{template.pk}", {"notes": "Mine"}, format="json", **headers)
    assert changed.status_code == 403 and changed.json()["code"] == "catalogue_read_only"
    deleted = api.delete(f"{URL}/{template.pk}", **headers)
    assert deleted.status_code == 403
    # And the database refuses it even without the services.
    with tenant_context(clinic_a):
        assert SharedDentalTemplate.objects.filter(pk=template.pk).update(notes="Mine") == 0
        assert SharedDentalTemplate.objects.filter(pk=template.pk).delete()[0] == 0
        with pytest.raises(DatabaseError), transaction.atomic():
            SharedDentalTemplate(name="Sneaky", notes="x").save_base(force_insert=True)
        # Nor can the clinic table hold a row of no clinic any more.
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO clinical_dentaltemplate (id, tenant_id, name, condition_type, "
                "tooth_surface, severity, notes, treatment_required, procedure_code, is_active, "
                "created_at, updated_at) VALUES (gen_random_uuid(), NULL, 'Sneaky', '', '', '', "
                "'x', false, '', true, now(), now())"
            )
    with platform_access(reason="test: read the shared set"):
        assert SharedDentalTemplate.objects.get(pk=template.pk).notes == "Shared text."


def test_a_clinic_writes_its_own_templates_and_another_clinic_never_sees_them(
    api, clinic_a, clinic_b, alice, charlie
):
    headers = h(alice, clinic_a)
    created = api.post(
        URL,
        {
            "name": "Deep caries, our wording",
            "condition_type": "caries",
            "severity": "severe",
            "notes": "Deep caries; vitality test today.",
            "procedure_code": "d3310",
            "treatment_required": True,
        },
        format="json",
        **headers,
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["scope"] == "clinic" and body["procedure_code"] == "D3310"
    assert body["specificity"] == 2
    duplicate = api.post(
        URL, {"name": "Deep caries, our wording", "notes": "x"}, format="json", **headers
    )
    assert duplicate.status_code == 400 and duplicate.json()["code"] == "duplicate_template"
    # The same name in another clinic is not a conflict (and reveals nothing).
    theirs = api.post(
        URL,
        {"name": "Deep caries, our wording", "notes": "x"},
        format="json",
        **h(charlie, clinic_b),
    )
    assert theirs.status_code == 201
    outsider = h(charlie, clinic_b)
    assert api.get(f"{URL}/{body['id']}", **outsider).status_code == 404
    assert (
        api.patch(f"{URL}/{body['id']}", {"notes": "x"}, format="json", **outsider).status_code
        == 404
    )
    assert api.delete(f"{URL}/{body['id']}", **outsider).status_code == 404
    match = api.get(f"{URL}/match", {"condition": "caries", "severity": "severe"}, **outsider)
    assert body["id"] not in {row["id"] for row in match.json()}
    assert (
        api.patch(f"{URL}/{body['id']}", {"notes": "Reworded."}, format="json", **headers).json()[
            "notes"
        ]
        == "Reworded."
    )
    assert api.delete(f"{URL}/{body['id']}", **headers).status_code == 204


@pytest.mark.parametrize(
    ("field", "value"),
    [("condition_type", "decay"), ("tooth_surface", "top"), ("notes", ""), ("procedure_code", "1")],
)
def test_bad_template_input_is_a_field_error(api, clinic_a, alice, field, value):
    body = {"name": "T", "notes": "Text", field: value}
    response = api.post(URL, body, format="json", **h(alice, clinic_a))
    assert response.status_code == 400 and field in response.json()["errors"]


def test_matching_puts_the_most_specific_first(api, clinics):
    clinic_a, clinic_b = clinics
    alice = clinic_a.owner
    generic = shared(name="Any finding", notes="n")
    caries = shared(name="Caries", condition_type="caries", notes="n")
    occlusal = shared(
        name="Caries occlusal", condition_type="caries", tooth_surface="occlusal", notes="n"
    )
    exact = shared(
        name="Caries occlusal severe",
        condition_type="caries",
        tooth_surface="occlusal",
        severity="severe",
        notes="n",
    )
    shared(name="Caries mesial", condition_type="caries", tooth_surface="mesial", notes="n")
    shared(name="Fracture", condition_type="fracture", notes="n")
    shared(name="Caries mild", condition_type="caries", severity="mild", notes="n")
    shared(name="Inactive", condition_type="caries", notes="n", is_active=False)
    with tenant_context(clinic_a):
        own = build(DentalTemplate, name="Ours: caries", condition_type="caries", notes="Our text")
    with tenant_context(clinic_b):
        build(DentalTemplate, name="Theirs: caries", condition_type="caries", notes="n")

    response = api.get(
        f"{URL}/match",
        {"condition": "caries", "surface": "occlusal", "severity": "severe"},
        **h(alice, clinic_a),
    )

    assert response.status_code == 200
    names = [row["name"] for row in response.json()]
    assert names == [exact.name, occlusal.name, own.name, caries.name, generic.name]
    assert [row["specificity"] for row in response.json()] == [3, 2, 1, 1, 0]


def test_matching_without_a_surface_offers_no_surface_specific_text(api, clinics):
    clinic_a, alice = clinics[0], clinics[0].owner
    shared(name="Caries", condition_type="caries", notes="n")
    shared(name="Caries mesial", condition_type="caries", tooth_surface="mesial", notes="n")
    names = [
        row["name"]
        for row in api.get(f"{URL}/match", {"condition": "caries"}, **h(alice, clinic_a)).json()
    ]
    assert names == ["Caries"]


@pytest.mark.parametrize(
    "params", [{"condition": "decay"}, {"surface": "top"}, {"severity": "worst"}]
)
def test_matching_with_unknown_values_is_a_400(api, clinic_a, alice, params):
    response = api.get(f"{URL}/match", params, **h(alice, clinic_a))
    assert response.status_code == 400
    assert set(params) <= set(response.json()["errors"])


def test_matching_runs_one_query_for_the_templates(api, clinics):
    clinic_a, alice = clinics[0], clinics[0].owner
    for n in range(5):
        shared(name=f"Caries {n}", condition_type="caries", notes="n")
    headers = h(alice, clinic_a)
    api.get(f"{URL}/match", {"condition": "caries"}, **headers)
    with CaptureQueriesContext(connection) as captured:
        assert len(api.get(f"{URL}/match", {"condition": "caries"}, **headers).json()) == 5
    template_queries = [q for q in captured.captured_queries if "dentaltemplate" in q["sql"]]
    assert len(template_queries) == 1


def test_receptionists_do_not_read_templates(api, clinic_a, staff):
    assert api.get(URL, **h(staff["receptionist"], clinic_a)).status_code == 403


def test_the_list_offers_the_shared_set_and_the_clinics_own_but_never_another_clinics(api, clinics):
    clinic_a, clinic_b = clinics
    common = shared(name="B shared caries", condition_type="caries", notes="Shared text.")
    shared(name="Z shared fracture", condition_type="fracture", notes="Shared text.")
    with tenant_context(clinic_a):
        own = build(DentalTemplate, name="A own caries", condition_type="caries")
    with tenant_context(clinic_b):
        build(DentalTemplate, name="C their caries", condition_type="caries")
    headers = h(clinic_a.owner, clinic_a)

    body = api.get(URL, **headers).json()
    assert [(row["name"], row["scope"]) for row in body["results"]] == [
        ("A own caries", "clinic"),
        ("B shared caries", "global"),
        ("Z shared fracture", "global"),
    ]
    assert body["count"] == 3
    caries = api.get(URL, {"condition_type": "caries", "ordering": "-name"}, **headers).json()
    assert [row["name"] for row in caries["results"]] == ["B shared caries", "A own caries"]
    only_own = api.get(URL, {"scope": "clinic"}, **headers).json()["results"]
    assert [row["id"] for row in only_own] == [str(own.pk)]
    only_shared = api.get(URL, {"scope": "global", "page_size": 1}, **headers).json()
    assert only_shared["count"] == 2 and only_shared["results"][0]["id"] == str(common.pk)
    one = api.get(f"{URL}/{common.pk}", **headers).json()
    assert one["id"] == str(common.pk) and one["scope"] == "global"
    # Clinic B sees the same shared set beside its own, and nothing of clinic A's.
    theirs = api.get(URL, **h(clinic_b.owner, clinic_b)).json()["results"]
    assert [row["name"] for row in theirs] == [
        "B shared caries",
        "C their caries",
        "Z shared fracture",
    ]
    assert api.get(f"{URL}/{own.pk}", **h(clinic_b.owner, clinic_b)).status_code == 404
    assert api.get(f"{URL}/not-an-id", **headers).status_code == 404


class _SchemaEditor:
    """What the migration's RunPython function uses of a schema editor."""

    def __init__(self, connection):
        self.connection = connection


def test_the_migration_moves_the_shared_templates_keeping_ids_and_times(clinics):
    """clinical.0011's data step, run as `migrate` runs it (the owner role, FORCE row-level
    security) on a shared template stored the old way (no clinic); all inside a transaction
    that is rolled back, so the test database keeps its schema."""
    import datetime
    import importlib
    import uuid

    from django.apps import apps
    from django.db import connections

    from tenants import keys

    migration = importlib.import_module("clinical.migrations.0011_shared_dental_templates")
    owner = connections["owner"]
    moved, kept = uuid.uuid4(), uuid.uuid4()
    when = datetime.datetime(2021, 1, 1, tzinfo=datetime.UTC)
    columns = (
        "(id, tenant_id, name, condition_type, tooth_surface, severity, notes, "
        "treatment_required, procedure_code, is_active, created_at, updated_at)"
    )
    with transaction.atomic(using="owner"), owner.cursor() as cursor:
        # The table as 0011 found it: the primary key (id) of before 0014, and no clinic
        # required, so a shared template can be stored the old way.
        for statement in keys.clinic_primary_key_reverse_sql("clinical_dentaltemplate"):
            cursor.execute(statement)
        cursor.execute("ALTER TABLE clinical_dentaltemplate ALTER COLUMN tenant_id DROP NOT NULL")
        cursor.execute("ALTER TABLE clinical_dentaltemplate NO FORCE ROW LEVEL SECURITY")
        cursor.execute(
            f"INSERT INTO clinical_dentaltemplate {columns} VALUES "
            "(%s, NULL, 'Shared caries', 'caries', '', '', 'n', true, 'D2391', true, %s, %s), "
            "(%s, %s, 'Our caries', 'caries', '', '', 'n', false, '', true, %s, %s)",
            [moved, when, when, kept, clinics[0].pk, when, when],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the clinic key, before ALTER TABLE
        cursor.execute("ALTER TABLE clinical_dentaltemplate FORCE ROW LEVEL SECURITY")

        migration.move_shared_templates(apps, _SchemaEditor(owner))

        for table in ("clinical_dentaltemplate", "clinical_shareddentaltemplate"):
            cursor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        cursor.execute(
            "SELECT id, name, procedure_code, treatment_required, created_at, updated_at "
            "FROM clinical_shareddentaltemplate"
        )
        assert cursor.fetchall() == [(moved, "Shared caries", "D2391", True, when, when)]
        cursor.execute("SELECT id FROM clinical_dentaltemplate WHERE id IN (%s, %s)", [moved, kept])
        assert cursor.fetchall() == [(kept,)]
        transaction.set_rollback(True, using="owner")
