"""A noisy clinic is throttled on its own (catalogue item 39)."""

from __future__ import annotations

from accounts.testing import bearer
from tenants.throttling import ClinicRateThrottle


def test_a_flooding_clinic_gets_429_and_others_are_unaffected(
    api, clinic_a, alice, bob, clinic_b, charlie, monkeypatch
):
    monkeypatch.setattr(ClinicRateThrottle, "THROTTLE_RATES", {"clinic": "5/minute"})
    alice_headers, bob_headers = bearer(alice, clinic_a), bearer(bob, clinic_a)
    statuses = [
        api.get("/api/v1/tenants/limits", **(alice_headers if n % 2 else bob_headers)).status_code
        for n in range(7)
    ]
    assert statuses == [200] * 5 + [429] * 2, "the budget is per clinic, across its members"
    throttled = api.get("/api/v1/tenants/limits", **alice_headers)
    assert throttled.json()["code"] == "throttled" and "Retry-After" in throttled
    assert api.get("/api/v1/tenants/limits", **bearer(charlie, clinic_b)).status_code == 200
