"""GET /api/v1/audit/: the clinic's audit log for its owner, and only its own."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest
from django.db import connection
from django.utils import timezone

from accounts.testing import TEST_PASSWORD, add_member, bearer
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.models import AuditEvent

URL = "/api/v1/audit/"


def record(tenant, action="patient.read", **fields) -> AuditEvent:
    with tenant_context(tenant):
        return audit_record(action=action, tenant=tenant, **fields)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_owner_reads_the_clinics_events_newest_first(api, clinic_a, alice):
    first = record(clinic_a, "auth.login", actor=alice)
    second = record(clinic_a, "patient.read", actor=alice, patient_id=uuid.uuid4())
    response = api.get(URL, **bearer(alice, clinic_a))
    assert ids(response) == [str(second.pk), str(first.pk)]
    row = response.json()["results"][0]
    assert row["actor_email"] == alice.email and row["action"] == "patient.read"
    assert "tenant" not in row


def test_no_other_clinic_or_platform_event_is_visible(api, clinic_a, alice, clinic_b, charlie):
    own = record(clinic_a)
    foreign = record(clinic_b)
    # A failed login belongs to no clinic.
    api.post("/api/v1/auth/token", {"email": alice.email, "password": "wrong-Password-1"})
    assert ids(api.get(URL, **bearer(alice, clinic_a))) == [str(own.pk)]
    assert str(foreign.pk) in ids(api.get(URL, **bearer(charlie, clinic_b)))
    assert str(own.pk) not in ids(api.get(URL, **bearer(charlie, clinic_b)))


def test_another_clinics_event_by_id_is_a_404_like_a_missing_one(api, clinic_a, alice, clinic_b):
    foreign = record(clinic_b)
    other = api.get(f"{URL}{foreign.pk}", **bearer(alice, clinic_a))
    missing = api.get(f"{URL}{uuid.uuid4()}", **bearer(alice, clinic_a))
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    own = record(clinic_a)
    assert api.get(f"{URL}{own.pk}/", **bearer(alice, clinic_a)).json()["id"] == str(own.pk)


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("doctor", 403), ("nurse", 403), ("receptionist", 403)],
)
def test_owners_and_admins_read_the_audit_log(api, clinic_a, role, status):
    member = add_member(clinic_a, role=role).user
    response = api.get(URL, **bearer(member, clinic_a))
    assert response.status_code == status


def test_anonymous_gets_401(api, db):
    assert api.get(URL).status_code == 401


def test_the_log_cannot_be_written_through_the_api(api, clinic_a, alice):
    event = record(clinic_a)
    headers = bearer(alice, clinic_a)
    assert api.post(URL, {"action": "x"}, format="json", **headers).status_code == 405
    assert api.delete(f"{URL}{event.pk}", **headers).status_code == 405


def test_filters_by_patient_actor_and_action(api, clinic_a, alice, bob):
    patient = uuid.uuid4()
    read = record(clinic_a, "patient.read", actor=bob, patient_id=patient)
    printed = record(clinic_a, "patient.printed", actor=alice, patient_id=patient)
    login = record(clinic_a, "auth.login", actor=bob)
    headers = bearer(alice, clinic_a)
    assert ids(api.get(URL, {"patient": str(patient)}, **headers)) == [
        str(printed.pk),
        str(read.pk),
    ]
    assert set(ids(api.get(URL, {"actor": str(bob.pk)}, **headers))) == {
        str(read.pk),
        str(login.pk),
    }
    assert set(ids(api.get(URL, {"actor_email": "BOB@asha.example"}, **headers))) == {
        str(read.pk),
        str(login.pk),
    }
    assert ids(api.get(URL, {"action": "auth.login"}, **headers)) == [str(login.pk)]
    assert set(ids(api.get(URL, {"action": "patient."}, **headers))) == {
        str(read.pk),
        str(printed.pk),
    }


def test_date_filters_are_whole_days_in_the_clinics_time_zone(api, clinic_a, alice):
    # The log is append-only: the events are created with their times.
    events = {}
    with tenant_context(clinic_a):
        for label, local in (
            ("before", "2026-03-09 23:59"),
            ("first", "2026-03-10 00:00"),
            ("last", "2026-03-11 23:59"),
            ("after", "2026-03-12 00:00"),
        ):
            events[label] = AuditEvent.objects.create(
                tenant_id=clinic_a.pk,
                action="patient.read",
                created_at=timezone.make_aware(datetime.fromisoformat(local)),
            )
    response = api.get(
        URL, {"date_from": "2026-03-10", "date_to": "2026-03-11"}, **bearer(alice, clinic_a)
    )
    assert ids(response) == [str(events["last"].pk), str(events["first"].pk)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"patient": "not-a-uuid"}, "patient"),
        ({"actor": "1; DROP TABLE tenants_auditevent"}, "actor"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_from": "2026-03-11", "date_to": "2026-03-10"}, "date_to"),
        ({"page_size": "1000"}, "page_size"),
    ],
)
def test_bad_filters_answer_400_with_the_field(api, clinic_a, alice, params, field):
    response = api.get(URL, params, **bearer(alice, clinic_a))
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_list_runs_a_constant_number_of_queries(
    api, clinic_a, alice, django_assert_max_num_queries
):
    record(clinic_a)
    headers = bearer(alice, clinic_a)
    api.get(URL, **headers)
    with django_assert_max_num_queries(6) as one:
        api.get(URL, **headers)
    for _ in range(30):
        record(clinic_a)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(ids(api.get(URL, **headers))) == 20


def test_the_list_query_reads_the_clinics_index_in_order(live_db):
    """No sequential scan of the log and no sort of a whole clinic's events: the
    (tenant, created_at) index serves the newest-first page directly, with statistics of a
    log shared by many clinics (on a nearly empty table any index is as cheap as another)."""
    from django.db import connections

    from tenants.models import Tenant
    from tenants.platform import platform_access

    # Many busy clinics: a page of one clinic's log must neither fetch and sort all its
    # events nor walk the global created_at index (kept for the operators' log) through
    # everybody's.
    # (With few clinics, walking that index back is the cheaper plan, and PostgreSQL takes it.)
    with platform_access(reason="test: many clinics"):
        clinics = Tenant.objects.using("platform").bulk_create(
            Tenant(name=f"Clinic {n}", code=f"audit-plan-{n}") for n in range(200)
        )
    for clinic in clinics:
        with tenant_context(clinic):
            AuditEvent.objects.bulk_create(
                AuditEvent(tenant_id=clinic.pk, action="patient.viewed") for _ in range(50)
            )
    with connections["owner"].cursor() as cursor:
        cursor.execute('ANALYZE "tenants_auditevent"')
    connections["owner"].close()
    with tenant_context(clinics[0]):
        queryset = AuditEvent.objects.order_by("-created_at")[:20]
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = json.dumps(cursor.fetchone()[0])
    assert "audit_tenant_created" in plan, plan
    assert '"Sort"' not in plan and "Seq Scan" not in plan


def test_logins_appear_in_the_owners_log(api, clinic_a, alice, bob):
    api.post("/api/v1/auth/token", {"email": bob.email, "password": TEST_PASSWORD})
    rows = api.get(URL, {"action": "auth.login"}, **bearer(alice, clinic_a)).json()["results"]
    assert [(r["actor_email"], r["action"]) for r in rows] == [(bob.email, "auth.login")]
