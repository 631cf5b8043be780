"""Rate limits and lockouts key on the real client (issue 12, item 4).

One setting, TRUSTED_PROXY_COUNT, says how many reverse proxies append to X-Forwarded-For.
With the default (0) the header is ignored, so a client cannot rotate it to get a fresh
budget; behind proxies, only the entry the nearest trusted proxy wrote counts. DRF's
throttles and django-axes read the client through the same function.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client

from accounts.testing import TEST_PASSWORD

TOKEN = "/api/v1/auth/token"
REGISTER = "/api/v1/tenants/register-clinic"


def rotating(n: int) -> dict:
    return {"HTTP_X_FORWARDED_FOR": f"198.51.100.{n % 250 + 1}"}


def test_the_default_trusts_no_forwarded_header_for_throttles_or_lockouts():
    assert django_settings.TRUSTED_PROXY_COUNT == 0
    assert django_settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    assert django_settings.AXES_CLIENT_IP_CALLABLE == "accounts.axes.client_ip"


def test_rotating_forwarded_for_does_not_lift_the_login_limit(api, db):
    # Another e-mail each time, so the lockout (per e-mail and address) stays out of the way:
    # only the rate limit of the `auth` scope (30/minute) can refuse these.
    answers = [
        api.post(
            TOKEN,
            {"email": f"nobody{n}@example.com", "password": "Wrong-Password-99"},
            format="json",
            **rotating(n),
        )
        for n in range(60)
    ]
    statuses = [answer.status_code for answer in answers]
    assert statuses == [401] * 30 + [429] * 30
    throttled = answers[-1]
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0


def test_rotating_forwarded_for_does_not_lift_the_signup_limit(api, client, db):
    # An empty body is refused (400) after the throttle has counted it: the limit (20/hour)
    # is what turns the answers into 429, through the API and the page alike.
    statuses = [api.post(REGISTER, {}, format="json", **rotating(n)).status_code for n in range(30)]
    assert statuses == [400] * 20 + [429] * 10
    page = [client.post("/signup/", {}, **rotating(n)).status_code for n in range(30)]
    assert set(page) == {429}, "the signup page shares the API's budget for this client"


@pytest.fixture
def one_proxy(settings):
    """A deployment behind one reverse proxy (TRUSTED_PROXY_COUNT=1), as settings.py builds
    it: the same value reaches DRF's NUM_PROXIES."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}


def behind_proxy(client_address: str, spoofed: str = "") -> dict:
    forwarded = f"{spoofed}, {client_address}" if spoofed else client_address
    return {"HTTP_X_FORWARDED_FOR": forwarded, "REMOTE_ADDR": "10.0.0.1"}


def test_behind_a_proxy_lockouts_are_per_client_and_carry_retry_after(api, alice, one_proxy):
    # The lockout keys on what the proxy wrote (203.0.113.5), not on the proxy's own address
    # and not on anything the client wrote in front of it.
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        api.post(
            TOKEN,
            {"email": alice.email, "password": "Wrong-Password-99"},
            format="json",
            **behind_proxy("203.0.113.5"),
        )
    locked = api.post(
        TOKEN,
        {"email": alice.email, "password": TEST_PASSWORD},
        format="json",
        **behind_proxy("203.0.113.5", spoofed="198.51.100.77"),
    )
    assert locked.status_code == 429 and locked.json()["code"] == "locked_out"
    cool_off = int(django_settings.AXES_COOLOFF_TIME.total_seconds())
    assert int(locked["Retry-After"]) == cool_off
    # Alice on another network, behind the same proxy, is not locked out.
    elsewhere = api.post(
        TOKEN,
        {"email": alice.email, "password": TEST_PASSWORD},
        format="json",
        **behind_proxy("203.0.113.6"),
    )
    assert elsewhere.status_code == 200


def test_a_page_lockout_carries_retry_after(alice):
    client = Client()
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"email": alice.email, "password": "Wrong-Password-99"})
    locked = client.post("/login/", {"email": alice.email, "password": TEST_PASSWORD})
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == int(django_settings.AXES_COOLOFF_TIME.total_seconds())
