"""Two-factor sign-in at the admin's operator login: platform operators must use it (after
their grace period), give the code with the password, or set a device up first."""

from __future__ import annotations

import pytest

from accounts.testing import TEST_PASSWORD, create_user

from .test_two_factor_pages import end_grace, secret_on
from .two_factor_helpers import enable_two_factor, fresh_code, totp_code, wrong_code


@pytest.fixture(autouse=True)
def _no_device_throttle(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


@pytest.fixture
def operator(live_db):
    # Operator requests run on the platform database alias: committed data (live_db).
    return create_user("ops@platform.example", is_staff=True, is_superuser=True)


def operator_login(client, email, otp=None, **extra):
    body = {"email": email, "password": TEST_PASSWORD, "next": "/admin/"}
    if otp is not None:
        body["otp"] = otp
    return client.post("/admin/operator-login/", body, **extra)


def test_an_operator_with_two_factor_needs_the_code_in_the_admin(client, operator):
    enable_two_factor(operator)
    missing = operator_login(client, operator.email)
    assert missing.status_code == 200 and "_auth_user_id" not in client.session
    assert "code" in missing.content.decode().lower()
    wrong = operator_login(client, operator.email, otp=wrong_code(operator))
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session
    right = operator_login(client, operator.email, otp=fresh_code(operator))
    assert right.status_code == 302 and right["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_an_operator_after_the_grace_period_sets_it_up_before_the_admin(client, operator):
    end_grace(operator)
    response = operator_login(client, operator.email)
    assert response.status_code == 302 and response["Location"] == "/login/two-factor/setup/"
    assert "_auth_user_id" not in client.session
    key = secret_on(client.get("/login/two-factor/setup/").content.decode())
    done = client.post("/login/two-factor/setup/", {"code": totp_code(key)})
    assert done.status_code == 200 and "/admin/" in done.content.decode()
    assert client.get("/admin/").status_code == 200


def test_an_operator_in_the_grace_period_signs_in_with_the_password(client, operator):
    response = operator_login(client, operator.email)
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_devices_are_not_in_the_admin(client, operator):
    enable_two_factor(operator)
    operator_login(client, operator.email, otp=fresh_code(operator))
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404


# --- operators reset a person who lost their phone and their codes ------------------------------


def test_an_operator_resets_a_persons_two_factor_with_a_reason(live_db):
    from io import StringIO

    from django.core.management import CommandError, call_command
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import RecoveryCode
    from accounts.testing import create_clinic
    from tenants.context import user_context
    from tenants.testing import audit_events

    clinic = create_clinic("Lotus Eye Clinic", owner_email="latha@lotus.example")
    enable_two_factor(clinic.owner)
    with pytest.raises(CommandError):
        call_command("two_factor_reset", "nobody@lotus.example", reason="ticket 1")
    out = StringIO()
    call_command("two_factor_reset", "LATHA@lotus.example", reason="ticket 4411", stdout=out)
    assert "two-factor sign-in removed" in out.getvalue()
    with user_context(clinic.owner):
        assert not TOTPDevice.objects.filter(user_id=clinic.owner.pk).exists()
        assert not RecoveryCode.objects.filter(user_id=clinic.owner.pk).exists()
    [event] = audit_events(action="auth.two_factor_reset")
    assert event.object_id == str(clinic.owner.pk) and event.reason == "ticket 4411"
