"""Idempotency-Key: a retried POST is answered once, never creating a second record."""

from __future__ import annotations

import threading

from django.db import connection
from rest_framework.test import APIClient

from accounts.testing import add_member, bearer, create_clinic
from clinical.models import Office
from tenants.context import tenant_context

URL = "/api/v1/tenants/offices"


def post(api, headers, key, body=None):
    return api.post(
        URL, body or {"name": "Koramangala"}, format="json", HTTP_IDEMPOTENCY_KEY=key, **headers
    )


def offices(clinic) -> list[str]:
    with tenant_context(clinic):
        return list(Office.objects.values_list("name", flat=True))


def test_retry_with_the_same_key_replays_the_first_answer(api, clinic_a, alice):
    headers = bearer(alice, clinic_a)
    first = post(api, headers, "create-office-1")
    again = post(api, headers, "create-office-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert offices(clinic_a) == ["Koramangala"]


def test_a_new_key_creates_a_new_record(api, clinic_a, alice):
    headers = bearer(alice, clinic_a)
    post(api, headers, "k1")
    second = post(api, headers, "k2", {"name": "Jayanagar"})
    assert second.status_code == 201
    assert sorted(offices(clinic_a)) == ["Jayanagar", "Koramangala"]


def test_reusing_a_key_for_another_request_is_refused(api, clinic_a, alice):
    headers = bearer(alice, clinic_a)
    post(api, headers, "k1")
    other = post(api, headers, "k1", {"name": "Somewhere else"})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert offices(clinic_a) == ["Koramangala"]


def test_a_failed_request_does_not_burn_the_key(api, clinic_a, alice):
    headers = bearer(alice, clinic_a)
    failed = post(api, headers, "k1", {"name": ""})
    assert failed.status_code == 400
    retry = post(api, headers, "k1", {"name": ""})
    assert retry.status_code == 400 and "Idempotent-Replayed" not in retry


def test_keys_belong_to_one_person_in_one_clinic(api, clinic_a, alice, clinic_b, charlie):
    admin = add_member(clinic_a, email="admin@asha.example", role="admin").user
    assert post(api, bearer(alice, clinic_a), "shared").status_code == 201
    assert post(api, bearer(admin, clinic_a), "shared", {"name": "Admin's"}).status_code == 201
    assert post(api, bearer(charlie, clinic_b), "shared").status_code == 201
    assert sorted(offices(clinic_a)) == ["Admin's", "Koramangala"]
    assert offices(clinic_b) == ["Koramangala"]


def test_an_unusable_key_is_a_400(api, clinic_a, alice):
    response = post(api, bearer(alice, clinic_a), "x" * 300)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"


def test_concurrent_retries_create_one_record(live_db):
    clinic = create_clinic()
    headers = bearer(clinic.owner, clinic)
    barrier = threading.Barrier(8)
    answers = []

    def send():
        client = APIClient()
        barrier.wait()
        try:
            response = post(client, headers, "flaky-network-42")
            answers.append((response.status_code, response.json().get("id")))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert offices(clinic) == ["Koramangala"]
    assert {status for status, _ in answers} == {201}
    assert len({office_id for _, office_id in answers}) == 1
