"""Issue 12, item 7: smaller leaks.

* A clinic's code does not tell whether another clinic has that name (tenants/tests/
  test_tenants.py checks the codes themselves).
* The loser of two simultaneous sign-ups with one e-mail gets `email_taken`, and nothing of
  its sign-up is written.
* `TESTING=1` with DEBUG off refuses to start with the public development signing key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from accounts import services
from accounts.selectors import person_by_email
from accounts.testing import create_user
from clinics import services as clinic_services
from tenants.context import tenant_context
from tenants.models import Tenant

BASE_DIR = Path(__file__).resolve().parents[2]


def _signup_body(email: str) -> dict:
    return {
        "clinic_name": "Race Clinic",
        "clinic_phone": "080 4000 1234",
        "clinic_address": "5 Lake Road, Mysuru",
        "owner_first_name": "Late",
        "owner_last_name": "Comer",
        "owner_email": email,
        "owner_phone": "9845098450",
        "password": "Lotus-Pond-4821",
        "role": "admin",
    }


def test_the_loser_of_a_sign_up_race_gets_email_taken_and_no_clinic(api, db, monkeypatch):
    """The other sign-up commits right after this one checked that the e-mail is free (the
    window a real race hits): the database's unique index must decide, and answer as
    `email_taken`, not with the constraint's own message."""
    real_check = services.check_password_strength

    def other_signup_wins_meanwhile(password, *, user=None):
        if person_by_email("racer@example.com") is None:
            create_user("racer@example.com")
        return real_check(password, user=user)

    monkeypatch.setattr(clinic_services, "check_password_strength", other_signup_wins_meanwhile)
    created = []
    real_create = clinic_services.tenant_create

    def remember(**kwargs):
        created.append(real_create(**kwargs))
        return created[-1]

    monkeypatch.setattr(clinic_services, "tenant_create", remember)
    response = api.post(
        "/api/v1/tenants/register-clinic", _signup_body("Racer@Example.com"), format="json"
    )
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "email_taken"
    assert "constraint" not in str(response.json()).lower()
    [clinic] = created
    with tenant_context(clinic):
        assert not Tenant.objects.filter(pk=clinic.pk).exists(), "its clinic is rolled back"


def _start_settings(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTEST"))}
    for name in ("SECRET_KEY", "JWT_SIGNING_KEY", "DEBUG", "TESTING"):
        clean.pop(name, None)
    clean.update(
        {
            # An external database, so no embedded server (and its generated key) is used.
            "DATABASE_URL": "postgres://app:pw@127.0.0.1:1/clinic",
            "DATABASE_OWNER_URL": "postgres://owner:pw@127.0.0.1:1/clinic",
            "DATABASE_PLATFORM_URL": "postgres://platform:pw@127.0.0.1:1/clinic",
            "ALLOWED_HOSTS": "clinic.example",
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "-c", "import clinic_saas.settings as s; print(s.SECRET_KEY[:8])"],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_testing_without_debug_refuses_the_public_development_key():
    refused = _start_settings({"TESTING": "1", "DEBUG": "0"})
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr and "SECRET_KEY" in refused.stderr
    # With a real key the same settings start.
    started = _start_settings({"TESTING": "1", "DEBUG": "0", "SECRET_KEY": "k" * 50})
    assert started.returncode == 0, started.stderr
