"""Two-factor sign-in on the pages: turning it on and off on /account/two-factor/, the login's
second step, the forced set-up, open sessions, the reminder banner, the clinic setting, and
the admin's operator login."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.clinic_middleware import SESSION_CLINIC_KEY
from accounts.models import RecoveryCode, TwoFactorState
from accounts.testing import TEST_PASSWORD, session_login
from accounts.two_factor import SESSION_VERIFIED_KEY
from tenants.context import tenant_context, user_context
from tenants.models import Tenant

from .two_factor_helpers import enable_two_factor, fresh_code, totp_code, wrong_code


@pytest.fixture(autouse=True)
def _no_device_throttle(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def login(client, email, password=TEST_PASSWORD, **extra):
    return client.post("/login/", {"email": email, "password": password}, **extra)


def require_for(clinic) -> None:
    with tenant_context(clinic):
        Tenant.objects.filter(pk=clinic.pk).update(require_two_factor=True)


def end_grace(user) -> None:
    with user_context(user):
        TwoFactorState.objects.update_or_create(
            user_id=user.pk,
            defaults={
                "required_since": timezone.now()
                - timedelta(days=settings.TWO_FACTOR_GRACE_DAYS + 1)
            },
        )


def secret_on(page: str) -> str:
    """The key shown next to the QR code, as the hex django-otp stores."""
    from base64 import b32decode

    shown = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    return b32decode(shown).hex()


# --- turning it on and off ------------------------------------------------------------------


def test_a_doctor_turns_it_on_from_the_account_page(client, clinic_a, bob):
    session_login(client, bob, clinic_a)
    assert "Off" in client.get("/account/two-factor/").content.decode()
    page = client.get("/account/two-factor/?setup=1").content.decode()
    assert "data:image/svg+xml" in page  # the QR code
    key = secret_on(page)
    wrong = client.post("/account/two-factor/", {"action": "confirm", "code": "000000"})
    assert wrong.status_code == 400 and "not valid" in wrong.content.decode()
    done = client.post("/account/two-factor/", {"action": "confirm", "code": totp_code(key)})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>", done.content.decode())
    assert len(codes) == 10
    with user_context(bob):
        assert TOTPDevice.objects.get(user_id=bob.pk).confirmed
        assert RecoveryCode.objects.filter(user_id=bob.pk).count() == 10
    # Shown once: the page does not show them again.
    again = client.get("/account/two-factor/").content.decode()
    assert codes[0] not in again and "Recovery codes left: <strong>10</strong>" in again


def test_turning_it_off_needs_a_code(client, clinic_a, bob):
    enable_two_factor(bob)
    session_login(client, bob, clinic_a)
    session = client.session
    session[SESSION_VERIFIED_KEY] = True
    session.save()
    refused = client.post("/account/two-factor/", {"action": "disable", "code": wrong_code(bob)})
    assert refused.status_code == 400
    off = client.post("/account/two-factor/", {"action": "disable", "code": fresh_code(bob)})
    assert off.status_code == 302
    with user_context(bob):
        assert not TOTPDevice.objects.filter(user_id=bob.pk).exists()
        assert not RecoveryCode.objects.filter(user_id=bob.pk).exists()


def test_an_owner_cannot_turn_off_what_is_required(client, clinic_a, alice):
    enable_two_factor(alice)
    session_login(client, alice, clinic_a)
    session = client.session
    session[SESSION_VERIFIED_KEY] = True
    session.save()
    response = client.post("/account/two-factor/", {"action": "disable", "code": fresh_code(alice)})
    assert response.status_code == 400 and "cannot be turned off" in response.content.decode()
    with user_context(alice):
        assert TOTPDevice.objects.filter(user_id=alice.pk).exists()


def test_new_recovery_codes_replace_the_old_ones(client, clinic_a, bob):
    _, old = enable_two_factor(bob)
    session_login(client, bob, clinic_a)
    session = client.session
    session[SESSION_VERIFIED_KEY] = True
    session.save()
    page = client.post("/account/two-factor/", {"action": "regenerate", "code": fresh_code(bob)})
    new = re.findall(r"<code>([a-z2-9-]{14})</code>", page.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    from accounts.recovery_codes import recovery_code_use

    assert recovery_code_use(user=bob, code=old[0]) is False
    assert recovery_code_use(user=bob, code=new[0]) is True


# --- the login page -------------------------------------------------------------------------


def test_without_two_factor_the_login_is_one_step(client, clinic_a, bob):
    response = login(client, bob.email)
    assert response.status_code == 302 and response["Location"] == "/clinic/"


def test_with_two_factor_the_login_asks_for_the_code(client, clinic_a, bob):
    enable_two_factor(bob)
    response = login(client, bob.email)
    assert response["Location"] == "/login/two-factor/"
    assert "_auth_user_id" not in client.session  # not signed in yet
    assert client.get("/clinic/")["Location"].startswith("/login/")
    page = client.get("/login/two-factor/")
    assert "Enter your code" in page.content.decode()
    wrong = client.post("/login/two-factor/", {"code": wrong_code(bob)})
    assert wrong.status_code == 400 and "not valid" in wrong.content.decode()
    assert "_auth_user_id" not in client.session
    right = client.post("/login/two-factor/", {"code": fresh_code(bob)})
    assert right.status_code == 302 and right["Location"] == "/clinic/"
    assert client.session[SESSION_CLINIC_KEY] == str(clinic_a.pk)
    assert client.session[SESSION_VERIFIED_KEY] is True
    assert client.get("/clinic/").status_code == 200


def test_the_login_accepts_a_recovery_code_once(client, clinic_a, bob):
    _, codes = enable_two_factor(bob)
    login(client, bob.email)
    assert client.post("/login/two-factor/", {"code": codes[3]}).status_code == 302
    other = Client()
    login(other, bob.email)
    assert other.post("/login/two-factor/", {"code": codes[3]}).status_code == 400


def test_wrong_codes_on_the_page_lock_out_like_wrong_passwords(client, clinic_a, bob):
    enable_two_factor(bob)
    login(client, bob.email, REMOTE_ADDR="10.2.0.1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/two-factor/", {"code": wrong_code(bob)}, REMOTE_ADDR="10.2.0.1")
    locked = login(Client(), bob.email, REMOTE_ADDR="10.2.0.1")
    assert locked.status_code == 429


def test_the_second_step_needs_the_first(client, clinic_a, bob):
    response = client.post("/login/two-factor/", {"code": "123456"})
    assert response.status_code == 302 and response["Location"] == "/login/"


def test_a_clinic_requirement_makes_a_doctor_set_it_up_while_signing_in(client, clinic_a, bob):
    require_for(clinic_a)
    response = login(client, bob.email)
    assert response["Location"] == "/login/two-factor/setup/"
    page = client.get("/login/two-factor/setup/").content.decode()
    assert "Set up two-factor sign-in" in page
    assert "_auth_user_id" not in client.session
    key = secret_on(page)
    done = client.post("/login/two-factor/setup/", {"code": totp_code(key)})
    assert done.status_code == 200 and "Your recovery codes" in done.content.decode()
    assert client.session[SESSION_CLINIC_KEY] == str(clinic_a.pk)
    assert client.get("/clinic/").status_code == 200


def test_an_owner_in_the_grace_period_is_reminded(client, clinic_a, alice):
    response = login(client, alice.email)
    assert response["Location"] == "/clinic/"
    page = client.get("/clinic/").content.decode()
    assert 'id="two-factor-banner"' in page and "/account/two-factor/?setup=1" in page


def test_a_doctor_gets_no_reminder(client, clinic_a, bob):
    login(client, bob.email)
    assert 'id="two-factor-banner"' not in client.get("/clinic/").content.decode()


def test_an_owner_after_the_grace_period_must_set_it_up(client, clinic_a, alice):
    end_grace(alice)
    response = login(client, alice.email)
    assert response["Location"] == "/login/two-factor/setup/"


def test_an_open_session_ends_when_the_clinic_starts_requiring_it(client, clinic_a, bob):
    login(client, bob.email)
    assert client.get("/clinic/").status_code == 200
    require_for(clinic_a)
    response = client.get("/clinic/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session


# --- the clinic setting ---------------------------------------------------------------------


def test_only_the_owner_requires_it_for_the_clinic(client, clinic_a, alice):
    from accounts.testing import add_member

    admin = add_member(clinic_a, email="adi@asha.example", role="admin").user
    session_login(client, admin, clinic_a)
    page = client.get("/clinic/settings/").content.decode()
    assert 'name="require_two_factor"' not in page
    refused = client.post("/clinic/settings/two-factor/", {"require_two_factor": "on"})
    assert refused.status_code in (403, 400)
    with tenant_context(clinic_a):
        assert not Tenant.objects.get(pk=clinic_a.pk).require_two_factor


def test_the_owner_must_use_it_before_requiring_it(client, clinic_a, alice):
    session_login(client, alice, clinic_a)
    page = client.get("/clinic/settings/").content.decode()
    assert 'name="require_two_factor"' in page
    refused = client.post("/clinic/settings/two-factor/", {"require_two_factor": "on"})
    assert refused.status_code == 400
    assert "Turn on two-factor sign-in for yourself first" in refused.content.decode()
    enable_two_factor(alice)
    session = client.session
    session[SESSION_VERIFIED_KEY] = True
    session.save()
    done = client.post("/clinic/settings/two-factor/", {"require_two_factor": "on"})
    assert done.status_code == 302
    with tenant_context(clinic_a):
        assert Tenant.objects.get(pk=clinic_a.pk).require_two_factor
