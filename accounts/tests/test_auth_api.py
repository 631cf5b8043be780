"""/api/v1/auth/*: login, refresh, logout, me, switch, passwords, verification, invitations."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Invitation, Membership, User
from accounts.selectors import as_person, person_by_email
from accounts.services import invitation_create
from accounts.testing import TEST_PASSWORD, add_member, bearer, create_clinic, membership_of
from accounts.tokens import issue_tokens
from tenants.context import tenant_context
from tenants.models import AuditEvent

TOKEN = "/api/v1/auth/token"


def login(api, email, password=TEST_PASSWORD, *, tenant_id=None, **headers):
    body = {"email": email, "password": password}
    if tenant_id:
        body["tenant_id"] = tenant_id
    return api.post(TOKEN, body, format="json", **headers)


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def auth(access: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}


# --- login ----------------------------------------------------------------------------------


def test_login_returns_a_pair_for_the_clinic(api, clinic_a, alice):
    response = login(api, "ALICE@asha.example")
    assert response.status_code == 200, response.json()
    assert set(response.json()) == {"access", "refresh"}
    access = claims(response.json()["access"])
    assert access["tenant_id"] == str(clinic_a.pk)
    assert access["role"] == "owner" and access["user_id"] == str(alice.pk)
    assert access["token_type"] == "access" and access["aud"] == "clinic-saas-api"


def test_login_picks_the_requested_or_most_recent_clinic(api, clinic_a, clinic_b, bob):
    add_member(clinic_b, user=bob, role="nurse")
    chosen = login(api, bob.email, tenant_id=str(clinic_b.pk))
    assert claims(chosen.json()["access"])["tenant_id"] == str(clinic_b.pk)
    # Logging into B made it the most recently used clinic.
    default = login(api, bob.email)
    assert claims(default.json()["access"])["tenant_id"] == str(clinic_b.pk)


def test_login_to_a_clinic_you_are_not_in_is_refused(api, clinic_a, alice, clinic_b):
    response = login(api, alice.email, tenant_id=str(clinic_b.pk))
    assert response.status_code == 403
    assert response.json()["code"] == "not_a_member"


def test_wrong_password_and_unknown_email_look_the_same(api, clinic_a, alice):
    wrong = login(api, alice.email, "Not-The-Password-1")
    unknown = login(api, "nobody@asha.example", "Not-The-Password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "code": "invalid_credentials",
            "detail": "E-mail or password is incorrect.",
        }
    )


def test_failed_logins_are_audited(api, clinic_a, alice):
    login(api, alice.email, "Not-The-Password-1")
    login(api, alice.email)
    with tenant_context(clinic_a):
        assert AuditEvent.objects.filter(action="auth.login", actor_id=alice.pk).exists()
    from tenants.models import AuditEvent as Event

    assert Event._base_manager.filter(action="auth.login_failed").count() == 0, (
        "failed logins have no clinic; the runtime role cannot read them back"
    )


def test_lockout_is_per_email_and_ip(api, clinic_a, alice, bob):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(api, alice.email, "Wrong-Password-99", REMOTE_ADDR="10.0.0.7")
    locked = login(api, alice.email, REMOTE_ADDR="10.0.0.7")
    assert locked.status_code == 429
    assert locked.json()["code"] == "locked_out"
    # Another person behind the same NAT address is not locked out...
    assert login(api, bob.email, REMOTE_ADDR="10.0.0.7").status_code == 200
    # ...and neither is the same person from another address.
    assert login(api, alice.email, REMOTE_ADDR="10.0.0.8").status_code == 200


def test_login_body_is_validated(api, db):
    response = api.post(TOKEN, {"email": "x", "password": ""}, format="json")
    assert response.status_code == 400
    assert {"email", "password"} <= set(response.json()["errors"])


# --- token validation -----------------------------------------------------------------------


def _forge(payload: dict, *, key=None, algorithm="HS256") -> str:
    return jwt.encode(payload, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm)


@pytest.mark.parametrize(
    "tamper",
    [
        "bad_signature",
        "alg_none",
        "expired",
        "refresh_as_access",
        "wrong_audience",
        "future_nbf",
        "garbage",
    ],
)
def test_bad_tokens_get_401(api, clinic_a, alice, tamper):
    good = claims(issue_tokens(membership_of(alice, clinic_a))["access"])
    refresh = issue_tokens(membership_of(alice, clinic_a))["refresh"]
    token = {
        "bad_signature": lambda: _forge(good, key="another-key-entirely-0123456789abcdef"),
        "alg_none": lambda: jwt.encode(good, None, algorithm="none"),
        "expired": lambda: _forge({**good, "exp": int(timezone.now().timestamp()) - 10}),
        "refresh_as_access": lambda: refresh,
        "wrong_audience": lambda: _forge({**good, "aud": "another-api"}),
        "future_nbf": lambda: _forge({**good, "nbf": int(timezone.now().timestamp()) + 3600}),
        "garbage": lambda: "not.a.token",
    }[tamper]()
    response = api.get("/api/v1/auth/me", **auth(token))
    assert response.status_code == 401
    assert response.json()["code"] in ("token_not_valid", "authentication_failed")


def test_forged_tenant_claim_with_a_valid_signature_is_refused(api, clinic_a, bob, clinic_b):
    """Even a correctly signed token only works for a clinic the person belongs to."""
    forged = _forge(
        {
            **claims(issue_tokens(membership_of(bob, clinic_a))["access"]),
            "tenant_id": str(clinic_b.pk),
        }
    )
    response = api.get("/api/v1/tenants/me", **auth(forged))
    assert response.status_code == 401
    assert response.json()["code"] == "membership_inactive"


def test_deactivated_person_token_is_refused(api, clinic_a, bob):
    token = issue_tokens(membership_of(bob, clinic_a))["access"]
    with as_person(bob):
        User.objects.filter(pk=bob.pk).update(is_active=False)
    response = api.get("/api/v1/tenants/me", **auth(token))
    assert response.status_code == 401
    assert response.json()["code"] == "user_inactive"


def test_token_of_a_deleted_person_is_refused(api, clinic_a, bob):
    token = issue_tokens(membership_of(bob, clinic_a))["access"]
    with tenant_context(clinic_a):
        Membership.objects.filter(user=bob).delete()
    with as_person(bob):
        User.objects.filter(pk=bob.pk).delete()
    response = api.get("/api/v1/tenants/me", **auth(token))
    assert response.status_code == 401
    assert response.json()["code"] == "user_not_found"


def test_api_authentication_reads_person_membership_and_clinic_in_one_query(api, clinic_a, bob):
    """Every API request pays for authentication: one round trip, not one per table."""
    from django.test.utils import CaptureQueriesContext

    headers = bearer(bob, clinic_a)
    with CaptureQueriesContext(connection) as captured:
        assert api.get("/api/v1/tenants/me", **headers).status_code == 200
    # The membership, the person and the clinic come back from clinic_membership_check()
    # (accounts.selectors): one statement, and no other read of people in the request.
    checks = [q["sql"] for q in captured.captured_queries if "clinic_membership_check(" in q["sql"]]
    assert len(checks) == 1
    people = [q["sql"] for q in captured.captured_queries if '"accounts_user"' in q["sql"]]
    assert people == []


# --- refresh --------------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_token_dies(api, clinic_a, alice):
    pair = issue_tokens(membership_of(alice, clinic_a))
    first = api.post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert first.status_code == 200, first.json()
    assert first.json()["refresh"] != pair["refresh"]
    again = api.post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert again.status_code == 401
    assert again.json()["code"] == "token_not_valid"


def test_refresh_carries_the_current_role(api, clinic_a, bob):
    pair = issue_tokens(membership_of(bob, clinic_a))
    with tenant_context(clinic_a):
        Membership.objects.filter(user=bob).update(role="nurse")
    new = api.post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert claims(new.json()["access"])["role"] == "nurse"


def test_refresh_of_a_removed_member_is_refused(api, clinic_a, bob):
    pair = issue_tokens(membership_of(bob, clinic_a))
    with tenant_context(clinic_a):
        Membership.objects.filter(user=bob).update(is_active=False)
    response = api.post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "membership_inactive"


def test_concurrent_reuse_of_one_refresh_token_yields_exactly_one_pair(live_db):
    clinic = create_clinic()
    refresh = issue_tokens(membership_of(clinic.owner, clinic))["refresh"]
    barrier = threading.Barrier(20)
    statuses = []

    def use():
        client = APIClient()
        barrier.wait()
        try:
            statuses.append(
                client.post(
                    "/api/v1/auth/token/refresh", {"refresh": refresh}, format="json"
                ).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=use) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [401] * 19


# --- logout, me, switch ---------------------------------------------------------------------


def test_logout_blacklists_the_refresh_token(api, clinic_a, alice):
    pair = issue_tokens(membership_of(alice, clinic_a))
    response = api.post(
        "/api/v1/auth/logout", {"refresh": pair["refresh"]}, format="json", **auth(pair["access"])
    )
    assert response.status_code == 204
    again = api.post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert again.status_code == 401


def test_logout_cannot_blacklist_someone_elses_token(api, clinic_a, alice, bob):
    bobs = issue_tokens(membership_of(bob, clinic_a))
    response = api.post(
        "/api/v1/auth/logout",
        {"refresh": bobs["refresh"]},
        format="json",
        **bearer(alice, clinic_a),
    )
    assert response.status_code == 401
    ok = api.post("/api/v1/auth/token/refresh", {"refresh": bobs["refresh"]}, format="json")
    assert ok.status_code == 200


def test_me_lists_the_person_and_their_clinics(api, clinic_a, clinic_b, bob):
    add_member(clinic_b, user=bob, role="nurse")
    body = api.get("/api/v1/auth/me", **bearer(bob, clinic_a)).json()
    assert body["user"]["email"] == "bob@asha.example"
    assert body["tenant"]["tenant_id"] == str(clinic_a.pk) and body["role"] == "doctor"
    assert {c["tenant_id"] for c in body["clinics"]} == {str(clinic_a.pk), str(clinic_b.pk)}


def test_me_never_lists_clinics_of_other_people(api, clinic_a, alice, clinic_b):
    body = api.get("/api/v1/auth/me", **bearer(alice, clinic_a)).json()
    assert [c["tenant_id"] for c in body["clinics"]] == [str(clinic_a.pk)]


def test_switch_tenant_issues_tokens_for_another_clinic(api, clinic_a, clinic_b, bob):
    add_member(clinic_b, user=bob, role="nurse")
    response = api.post(
        "/api/v1/auth/switch-tenant",
        {"tenant_id": str(clinic_b.pk)},
        format="json",
        **bearer(bob, clinic_a),
    )
    assert response.status_code == 200
    assert claims(response.json()["access"])["tenant_id"] == str(clinic_b.pk)
    assert claims(response.json()["access"])["role"] == "nurse"


def test_switch_to_a_foreign_clinic_is_404(api, clinic_a, alice, clinic_b):
    response = api.post(
        "/api/v1/auth/switch-tenant",
        {"tenant_id": str(clinic_b.pk)},
        format="json",
        **bearer(alice, clinic_a),
    )
    assert response.status_code == 404


# --- passwords ------------------------------------------------------------------------------


def test_change_password_revokes_every_other_token(api, clinic_a, alice):
    old = issue_tokens(membership_of(alice, clinic_a))
    response = api.post(
        "/api/v1/auth/change-password",
        {"old_password": TEST_PASSWORD, "new_password": "Monsoon-Rain-2027"},
        format="json",
        **auth(old["access"]),
    )
    assert response.status_code == 200, response.json()
    assert api.get("/api/v1/auth/me", **auth(old["access"])).status_code == 401
    assert (
        api.post(
            "/api/v1/auth/token/refresh", {"refresh": old["refresh"]}, format="json"
        ).status_code
        == 401
    )
    assert api.get("/api/v1/auth/me", **auth(response.json()["access"])).status_code == 200
    assert login(api, alice.email, "Monsoon-Rain-2027").status_code == 200


def test_change_password_checks_the_old_one_and_strength(api, clinic_a, alice):
    wrong = api.post(
        "/api/v1/auth/change-password",
        {"old_password": "nope-nope-nope", "new_password": "Monsoon-Rain-2027"},
        format="json",
        **bearer(alice, clinic_a),
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_password"
    weak = api.post(
        "/api/v1/auth/change-password",
        {"old_password": TEST_PASSWORD, "new_password": "12345678901"},
        format="json",
        **bearer(alice, clinic_a),
    )
    assert weak.status_code == 400 and weak.json()["code"] == "weak_password"


def _link(mail, prefix: str) -> list[str]:
    match = re.search(rf"{prefix}(\S+?)/(\S+?)/", mail.body)
    return list(match.groups())


def test_password_reset_flow(api, clinic_a, alice, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/auth/password-reset", {"email": alice.email}, format="json")
    assert response.status_code == 202
    uid, token = _link(mailoutbox[0], "/reset/")
    confirm = api.post(
        "/api/v1/auth/password-reset/confirm",
        {"uid": uid, "token": token, "new_password": "Cardamom-Hills-88"},
        format="json",
    )
    assert confirm.status_code == 200, confirm.json()
    assert login(api, alice.email, "Cardamom-Hills-88").status_code == 200
    reused = api.post(
        "/api/v1/auth/password-reset/confirm",
        {"uid": uid, "token": token, "new_password": "Another-Secret-77"},
        format="json",
    )
    assert reused.status_code == 400 and reused.json()["code"] == "invalid_token"


def test_password_reset_does_not_reveal_accounts(
    api, db, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/auth/password-reset", {"email": "ghost@example.com"}, format="json"
        )
    # The address gets a "no account uses this address" notice, never a reset link; the
    # answer is the one a known address gets (tenants/tests/test_outbox.py compares the work).
    assert response.status_code == 202
    [notice] = mailoutbox
    assert notice.to == ["ghost@example.com"] and "/reset/" not in notice.body


# --- e-mail verification and invitations ----------------------------------------------------


def test_email_verification(api, db, mailoutbox, django_capture_on_commit_callbacks):
    from clinics.tests.test_api_register import URL, signup_body

    with django_capture_on_commit_callbacks(execute=True):
        api.post(URL, signup_body(), format="json")
    token = re.search(r"/verify-email/(\S+?)/", mailoutbox[0].body).group(1)
    response = api.post("/api/v1/auth/verify-email", {"token": token}, format="json")
    assert response.status_code == 200
    assert person_by_email("priya.nair@example.com").email_verified_at is not None
    bad = api.post("/api/v1/auth/verify-email", {"token": token + "x"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_token"


def _invite(clinic, mailoutbox, capture, email="nurse.new@example.com"):
    with capture(execute=True):
        invitation_create(
            tenant=clinic, actor=clinic.owner, email=email, role="nurse", first_name="Nila"
        )
    return re.search(r"/invite/(\S+?)/", mailoutbox[-1].body).group(1)


def test_invitation_accept_sets_password_and_returns_tokens(
    api, clinic_a, mailoutbox, django_capture_on_commit_callbacks
):
    token = _invite(clinic_a, mailoutbox, django_capture_on_commit_callbacks)
    response = api.post(
        "/api/v1/auth/invitation/accept",
        {"token": token, "password": "Jasmine-Court-31"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert claims(response.json()["access"])["tenant_id"] == str(clinic_a.pk)
    assert login(api, "nurse.new@example.com", "Jasmine-Court-31").status_code == 200
    again = api.post(
        "/api/v1/auth/invitation/accept",
        {"token": token, "password": "Jasmine-Court-32"},
        format="json",
    )
    assert again.status_code == 400 and again.json()["code"] == "invalid_token"


@pytest.mark.parametrize("tamper", ["secret", "clinic", "expired", "revoked", "garbage"])
def test_bad_invitation_links_are_refused(
    api, clinic_a, clinic_b, mailoutbox, django_capture_on_commit_callbacks, tamper
):
    token = _invite(clinic_a, mailoutbox, django_capture_on_commit_callbacks)
    tenant_id, invitation_id, secret = token.split(".", 2)
    if tamper == "secret":
        token = f"{tenant_id}.{invitation_id}.{secret[:-2]}xx"
    elif tamper == "clinic":
        token = f"{clinic_b.pk}.{invitation_id}.{secret}"
    elif tamper == "garbage":
        token = "'; DROP TABLE accounts_user; --"
    else:
        with tenant_context(clinic_a):
            changes = (
                {"expires_at": timezone.now() - timedelta(minutes=1)}
                if tamper == "expired"
                else {"revoked_at": timezone.now()}
            )
            Invitation.objects.update(**changes)
    response = api.post(
        "/api/v1/auth/invitation/accept",
        {"token": token, "password": "Jasmine-Court-31"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"


def test_invited_person_cannot_log_in_before_accepting(
    api, clinic_a, mailoutbox, django_capture_on_commit_callbacks
):
    _invite(clinic_a, mailoutbox, django_capture_on_commit_callbacks)
    response = login(api, "nurse.new@example.com", "")
    assert response.status_code == 400  # blank password is invalid input
    assert login(api, "nurse.new@example.com", "Anything-At-All-1").status_code == 401
