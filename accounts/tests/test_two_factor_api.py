"""Two-factor sign-in through the API (`POST /api/v1/auth/token` with `otp`), the refresh
that cannot sidestep it, recovery codes, their storage, and who may read the secrets."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import RecoveryCode, TwoFactorState
from accounts.recovery_codes import recovery_code_use
from accounts.testing import TEST_PASSWORD, bearer, membership_of
from accounts.tokens import issue_tokens
from accounts.two_factor import two_factor_status
from tenants.context import tenant_context, user_context

from .two_factor_helpers import enable_two_factor, fresh_code, wrong_code

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/token/refresh"


@pytest.fixture(autouse=True)
def _no_device_throttle(settings):
    # django-otp makes a device wait after a wrong code; these tests send a right code right
    # after a wrong one on purpose.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def login(api, email, *, otp=None, ip="10.1.0.1", **extra):
    body = {"email": email, "password": TEST_PASSWORD, **extra}
    if otp is not None:
        body["otp"] = otp
    return api.post(TOKEN, body, format="json", REMOTE_ADDR=ip)


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# --- the token endpoint ---------------------------------------------------------------------


def test_without_two_factor_a_doctor_logs_in_with_the_password_alone(api, clinic_a, bob):
    response = login(api, bob.email)
    assert response.status_code == 200, response.json()
    assert claims(response.json()["access"])["mfa"] is False


def test_with_two_factor_the_code_is_required(api, clinic_a, bob):
    enable_two_factor(bob)
    missing = login(api, bob.email)
    assert missing.status_code == 401
    assert missing.json()["code"] == "otp_required" and missing.json()["detail"]
    blank = login(api, bob.email, otp="")
    assert blank.status_code == 401 and blank.json()["code"] == "otp_required"


def test_a_wrong_code_is_refused_and_a_right_one_signs_in(api, clinic_a, bob):
    enable_two_factor(bob)
    wrong = login(api, bob.email, otp=wrong_code(bob))
    assert wrong.status_code == 401 and wrong.json()["code"] == "otp_invalid"
    right = login(api, bob.email, otp=fresh_code(bob))
    assert right.status_code == 200, right.json()
    assert claims(right.json()["refresh"])["mfa"] is True


def test_a_wrong_password_with_a_right_code_still_gets_invalid_credentials(api, clinic_a, bob):
    enable_two_factor(bob)
    response = api.post(
        TOKEN,
        {"email": bob.email, "password": "Wrong-Password-99", "otp": fresh_code(bob)},
        format="json",
    )
    assert response.status_code == 401 and response.json()["code"] == "invalid_credentials"


def test_failed_codes_count_toward_the_password_lockout(api, clinic_a, bob):
    enable_two_factor(bob)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(api, bob.email, otp=wrong_code(bob)).json()["code"] == "otp_invalid"
    # The failure that reaches the limit is answered as the lockout, as for passwords.
    assert login(api, bob.email, otp=wrong_code(bob)).status_code == 429
    locked = login(api, bob.email, otp=fresh_code(bob))
    assert locked.status_code == 429 and locked.json()["code"] == "locked_out"
    # Another address is not locked out (the lockout is per e-mail and IP).
    other = login(api, bob.email, otp=fresh_code(bob), ip="10.1.0.2")
    assert other.status_code == 200, other.json()


def test_a_recovery_code_works_once(api, clinic_a, bob):
    _, codes = enable_two_factor(bob)
    assert len(codes) == 10 and len(set(codes)) == 10
    first = login(api, bob.email, otp=codes[0].upper())
    assert first.status_code == 200, first.json()
    again = login(api, bob.email, otp=codes[0])
    assert again.status_code == 401 and again.json()["code"] == "otp_invalid"
    assert login(api, bob.email, otp=codes[1]).status_code == 200


def test_recovery_codes_are_stored_as_salted_digests(clinic_a, bob):
    _, codes = enable_two_factor(bob)
    with user_context(bob), connection.cursor() as cursor:
        cursor.execute(
            "SELECT salt, digest FROM accounts_recoverycode WHERE user_id = %s", [bob.pk]
        )
        rows = cursor.fetchall()
    assert len(rows) == 10
    stored = " ".join(value for row in rows for value in row)
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored
    assert len({salt for salt, _ in rows}) == 10  # one salt per code
    assert all(len(digest) == 64 for _, digest in rows)


def test_a_refresh_token_from_before_two_factor_cannot_sidestep_it(api, clinic_a, bob):
    tokens = login(api, bob.email).json()
    enable_two_factor(bob)
    response = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401 and response.json()["code"] == "otp_required"


def test_a_refresh_keeps_the_second_factor_of_the_sign_in(api, clinic_a, bob):
    enable_two_factor(bob)
    tokens = login(api, bob.email, otp=fresh_code(bob)).json()
    response = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200, response.json()
    assert claims(response.json()["refresh"])["mfa"] is True


def test_a_refresh_is_refused_when_the_clinic_starts_requiring_it(api, clinic_a, bob):
    tokens = login(api, bob.email).json()
    with tenant_context(clinic_a):
        type(clinic_a).objects.filter(pk=clinic_a.pk).update(require_two_factor=True)
    response = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401 and response.json()["code"] == "otp_required"


# --- who must have it -----------------------------------------------------------------------


def test_a_clinic_requirement_applies_to_a_doctor_at_once(api, clinic_a, bob):
    with tenant_context(clinic_a):
        type(clinic_a).objects.filter(pk=clinic_a.pk).update(require_two_factor=True)
    response = login(api, bob.email)
    assert response.status_code == 403
    assert response.json()["code"] == "otp_setup_required"
    enable_two_factor(bob)
    assert login(api, bob.email).json()["code"] == "otp_required"
    assert login(api, bob.email, otp=fresh_code(bob)).status_code == 200


def test_a_clinic_requirement_does_not_reach_another_clinic(api, clinic_a, clinic_b, charlie):
    with tenant_context(clinic_a):
        type(clinic_a).objects.filter(pk=clinic_a.pk).update(require_two_factor=True)
    assert login(api, charlie.email).status_code == 200


def test_an_owner_within_the_grace_period_signs_in_and_is_reminded(api, clinic_a, alice):
    response = login(api, alice.email)
    assert response.status_code == 200, response.json()
    status = two_factor_status(user=alice, membership=membership_of(alice, clinic_a))
    assert status.reason == "role" and status.reminder and not status.enforced
    with user_context(alice):
        state = TwoFactorState.objects.get(user_id=alice.pk)
    assert state.required_since <= timezone.now()
    assert status.grace_ends_at == state.required_since + timedelta(
        days=settings.TWO_FACTOR_GRACE_DAYS
    )


def test_an_owner_after_the_grace_period_must_set_it_up(api, clinic_a, alice):
    login(api, alice.email)  # starts the grace period
    with user_context(alice):
        TwoFactorState.objects.filter(user_id=alice.pk).update(
            required_since=timezone.now() - timedelta(days=settings.TWO_FACTOR_GRACE_DAYS + 1)
        )
    response = login(api, alice.email)
    assert response.status_code == 403 and response.json()["code"] == "otp_setup_required"
    enable_two_factor(alice)
    assert login(api, alice.email, otp=fresh_code(alice)).status_code == 200


def test_the_grace_period_starts_once_and_does_not_restart(clinic_a, alice):
    membership = membership_of(alice, clinic_a)
    first = two_factor_status(user=alice, membership=membership).grace_ends_at
    later = two_factor_status(user=alice, membership=membership).grace_ends_at
    assert first == later


def test_switching_to_a_clinic_that_requires_it_needs_a_sign_in_with_a_code(
    api, clinic_a, clinic_b, bob
):
    from accounts.testing import add_member

    add_member(clinic_b, user=bob, role="nurse")
    with tenant_context(clinic_b):
        type(clinic_b).objects.filter(pk=clinic_b.pk).update(require_two_factor=True)
    response = api.post(
        "/api/v1/auth/switch-tenant",
        {"tenant_id": str(clinic_b.pk)},
        format="json",
        **bearer(bob, clinic_a),
    )
    assert response.status_code == 403 and response.json()["code"] == "otp_required"


# --- the secrets ----------------------------------------------------------------------------


def test_devices_and_codes_are_readable_only_by_their_person(clinic_a, clinic_b, bob, charlie):
    enable_two_factor(bob)
    # Another clinic's context, another person, no context: nothing.
    with tenant_context(clinic_b, user=charlie):
        assert TOTPDevice.objects.count() == 0 and RecoveryCode.objects.count() == 0
    with tenant_context(clinic_a, user=None):
        assert TOTPDevice.objects.count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM otp_totp_totpdevice")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM accounts_recoverycode")
        assert cursor.fetchone()[0] == 0
    # The person themself: their device.
    with user_context(bob):
        assert TOTPDevice.objects.filter(user_id=bob.pk).count() == 1
        assert RecoveryCode.objects.count() == 10


def test_nobody_can_write_a_device_for_someone_else(clinic_a, bob, charlie):
    from django.db import DatabaseError, transaction

    with user_context(charlie), pytest.raises(DatabaseError), transaction.atomic():
        TOTPDevice.objects.create(user_id=bob.pk, name="planted", confirmed=True)


def test_recovery_code_use_checks_the_person(clinic_a, alice, bob):
    _, codes = enable_two_factor(bob)
    assert recovery_code_use(user=alice, code=codes[0]) is False
    assert recovery_code_use(user=bob, code=codes[0]) is True


def test_tokens_issued_without_a_second_factor_say_so(clinic_a, bob):
    tokens = issue_tokens(membership_of(bob, clinic_a))
    assert claims(tokens["access"])["mfa"] is False


def test_the_device_is_a_standard_totp_for_authenticator_apps(clinic_a, bob):
    from accounts.two_factor import two_factor_setup_start

    device = two_factor_setup_start(user=bob)
    url = device.config_url
    assert url.startswith("otpauth://totp/") and "digits=6" in url and "period=30" in url
    assert f"issuer={settings.OTP_TOTP_ISSUER.replace(' ', '%20')}" in url
    # Not usable until a code from it is confirmed.
    assert two_factor_status(user=bob).enabled is False


# --- the clinic's requirement through the API ---------------------------------------------------


def test_the_clinic_api_shows_and_changes_the_requirement(api, clinic_a, clinic_b, alice, bob):
    from accounts.testing import add_member

    admin = add_member(clinic_a, email="adi@asha.example", role="admin").user
    me = "/api/v1/tenants/me"
    assert api.get(me, **bearer(alice, clinic_a)).json()["require_two_factor"] is False
    # An admin is not the owner; the owner must use it before requiring it.
    refused = api.patch(me, {"require_two_factor": True}, format="json", **bearer(admin, clinic_a))
    assert refused.status_code == 403 and refused.json()["code"] == "owner_only"
    off = api.patch(me, {"require_two_factor": True}, format="json", **bearer(alice, clinic_a))
    assert off.status_code == 400 and off.json()["code"] == "two_factor_off"
    enable_two_factor(alice)
    done = api.patch(me, {"require_two_factor": True}, format="json", **bearer(alice, clinic_a))
    assert done.status_code == 200 and done.json()["require_two_factor"] is True
    # Bob (a doctor of A) now needs it; the other clinic is untouched.
    assert login(api, bob.email).json()["code"] == "otp_setup_required"
    with tenant_context(clinic_b):
        assert type(clinic_b).objects.get(pk=clinic_b.pk).require_two_factor is False


def test_a_doctor_cannot_change_the_requirement(api, clinic_a, bob):
    response = api.patch(
        "/api/v1/tenants/me",
        {"require_two_factor": True},
        format="json",
        **bearer(bob, clinic_a),
    )
    assert response.status_code == 403


def test_the_person_is_told_by_e_mail_when_it_is_turned_on_and_off(
    clinic_a, bob, mailoutbox, django_capture_on_commit_callbacks
):
    from accounts.two_factor import two_factor_disable

    with django_capture_on_commit_callbacks(execute=True):
        enable_two_factor(bob)
    with django_capture_on_commit_callbacks(execute=True):
        two_factor_disable(user=bob, membership=membership_of(bob, clinic_a), code=fresh_code(bob))
    assert [m.to for m in mailoutbox] == [[bob.email], [bob.email]]
    assert "turned on" in mailoutbox[0].subject and "turned off" in mailoutbox[1].subject
    assert "/password-reset/" in mailoutbox[1].body
