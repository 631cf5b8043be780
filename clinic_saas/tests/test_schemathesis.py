"""schemathesis against the running API, as a clinic owner and as a receptionist.

Bounded (schemathesis.toml: fixed seed and example counts, deterministic generation), and
failing on server errors, accepted negative data, ignored authentication, use after free
and responses that do not match the schema. Skipped unless RUN_SCHEMATHESIS=1: .ci/run runs
it once as its own step, and the README says how to run it locally.
"""

from __future__ import annotations

import datetime
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from accounts.testing import add_member, bearer, create_clinic
from clinical.models import Doctor, DoctorAvailability, Medicine
from clinical.services import patient_create
from tenants.context import tenant_context
from tenants.testing import build

pytestmark = pytest.mark.skipif(
    os.environ.get("RUN_SCHEMATHESIS") != "1", reason="set RUN_SCHEMATHESIS=1 to run it"
)

ROOT = Path(__file__).resolve().parents[2]
PERSONAS = ("owner", "receptionist")
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture
def no_rate_limits(monkeypatch, settings):
    """schemathesis sends thousands of requests in minutes: the throttles, failed-login
    lockouts and invitation budgets would answer 429 to most of them."""
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)
    settings.AXES_ENABLED = False
    settings.INVITATION_RATE_PER_CLINIC = "1000000/hour"
    settings.INVITATION_RATE_PER_RECIPIENT = "1000000/hour"


@pytest.fixture
def clinic(live_db, no_rate_limits, settings, tmp_path):
    """A clinic with something of everything, so that generated ids can hit real rows."""
    settings.MEDIA_ROOT = tmp_path / "media"
    clinic = create_clinic("Schemathesis Clinic", plan="enterprise")
    receptionist = add_member(clinic, email="reception@st.example", role="receptionist").user
    doctor_user = add_member(clinic, email="doctor@st.example", role="doctor").user
    with tenant_context(clinic):
        doctor = build(Doctor, user=doctor_user, specialization="Dentistry")
        for weekday in range(7):
            DoctorAvailability.objects.create(
                doctor=doctor,
                weekday=weekday,
                start_time=datetime.time(8, 0),
                end_time=datetime.time(20, 0),
            )
        build(Medicine, name="Paracetamol", strength="500 mg")
    patient_create(
        tenant=clinic, actor=clinic.owner, first_name="Arjun", mobile="9845012345", gender="male"
    )
    tokens = {
        "owner": bearer(clinic.owner, clinic)["HTTP_AUTHORIZATION"],
        "receptionist": bearer(receptionist, clinic)["HTTP_AUTHORIZATION"],
    }
    connection.close()
    return tokens


@pytest.mark.parametrize("persona", PERSONAS)
def test_schemathesis_finds_nothing(live_server, clinic, persona):
    """Its output goes to artifacts/schemathesis-<persona>.txt (git-ignored) as it runs;
    SCHEMATHESIS_ARGS adds options for a local run (`--phases fuzzing -n 5`, say)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / f"schemathesis-{persona}.txt"
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(ROOT / "schemathesis.toml"),
        "--no-color",
        "run",
        f"{live_server.url}/api/schema/",
        "--url",
        live_server.url,
        "--header",
        f"Authorization: {clinic[persona]}",
        *shlex.split(os.environ.get("SCHEMATHESIS_ARGS", "")),
    ]
    with log.open("w") as output:
        result = subprocess.run(
            command, stdout=output, stderr=subprocess.STDOUT, timeout=900, cwd=ROOT
        )
    assert result.returncode == 0, log.read_text()[-20000:]
