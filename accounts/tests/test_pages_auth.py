"""Account pages: log in and out, lockout, passwords, invitations, e-mail verification,
choosing and switching clinics, CSRF."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from accounts.clinic_middleware import SESSION_CLINIC_KEY
from accounts.models import Invitation, Membership
from accounts.selectors import person_by_email, person_by_id
from accounts.services import invitation_create
from accounts.testing import TEST_PASSWORD, add_member, session_login
from tenants.context import tenant_context


def login(client, email, password=TEST_PASSWORD, **extra):
    return client.post("/login/", {"email": email, "password": password}, **extra)


def link_in(mail, prefix: str) -> str:
    return re.search(rf"https?://[^/\s]+({prefix}[^\s]+/)", mail.body).group(1)


# --- log in and out ---------------------------------------------------------------------------


def test_login_opens_a_session_for_the_most_recent_clinic(client, clinic_a, alice):
    response = login(client, "ALICE@asha.example")
    assert response.status_code == 302 and response["Location"] == "/clinic/"
    assert client.session[SESSION_CLINIC_KEY] == str(clinic_a.pk)
    assert "Asha Dental Care" in client.get("/clinic/").content.decode()


def test_wrong_password_and_unknown_email_get_the_same_answer(client, clinic_a, alice):
    wrong = login(client, alice.email, "Not-The-Password-1")
    unknown = login(client, "nobody@asha.example", "Not-The-Password-1")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "E-mail or password is incorrect." in response.content.decode()
    assert SESSION_CLINIC_KEY not in client.session


def test_login_follows_a_local_next_but_never_another_site(client, clinic_a, alice):
    response = client.post(
        "/login/?next=/clinic/team/", {"email": alice.email, "password": TEST_PASSWORD}
    )
    assert response["Location"] == "/clinic/team/"
    client.logout()
    response = client.post(
        "/login/",
        {"email": alice.email, "password": TEST_PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/clinic/"


def test_lockout_is_per_email_and_ip_like_the_api(client, clinic_a, alice, bob):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, alice.email, "Wrong-Password-99", REMOTE_ADDR="10.0.0.7")
    locked = login(client, alice.email, REMOTE_ADDR="10.0.0.7")
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.content.decode()
    assert SESSION_CLINIC_KEY not in client.session
    # Another person behind the same address is not locked out...
    assert login(Client(), bob.email, REMOTE_ADDR="10.0.0.7").status_code == 302
    # ...and neither is the same person from another address.
    assert login(Client(), alice.email, REMOTE_ADDR="10.0.0.8").status_code == 302


def test_lockout_counts_page_and_api_failures_together(client, api, clinic_a, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        api.post(
            "/api/v1/auth/token",
            {"email": alice.email, "password": "Wrong-Password-99"},
            format="json",
            REMOTE_ADDR="10.0.0.9",
        )
    login(client, alice.email, "Wrong-Password-99", REMOTE_ADDR="10.0.0.9")
    assert login(client, alice.email, REMOTE_ADDR="10.0.0.9").status_code == 429


def test_a_member_of_no_active_clinic_cannot_log_in(client, clinic_a, bob):
    with tenant_context(clinic_a):
        Membership.objects.filter(user=bob).update(is_active=False)
    response = login(client, bob.email)
    assert response.status_code == 200
    assert "does not belong to any active clinic" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_needs_a_post_and_ends_the_session(client, clinic_a, alice):
    session_login(client, alice, clinic_a)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response["Location"] == "/login/"
    assert client.get("/clinic/")["Location"].startswith("/login/")


def test_pages_need_a_login(client, db):
    for url in ("/clinic/", "/clinic/team/", "/clinic/plan/", "/clinic/settings/", "/account/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(f"/login/?next={url}")


def test_forms_refuse_a_post_without_the_csrf_token(clinic_a, alice):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/login/", {"email": alice.email, "password": TEST_PASSWORD})
    assert response.status_code == 403
    assert "form has expired" in response.content.decode()
    session_login(browser, alice, clinic_a)
    response = browser.post("/clinic/settings/", {"clinic-name": "Renamed"})
    assert response.status_code == 403
    with tenant_context(clinic_a):
        clinic_a.refresh_from_db()
    assert clinic_a.name == "Asha Dental Care"


def test_forms_work_with_the_csrf_token(clinic_a, alice):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/login/")
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        "/login/", {"email": alice.email, "password": TEST_PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


# --- clinic switcher ----------------------------------------------------------------------


def test_a_person_in_two_clinics_switches_between_them(client, clinic_a, clinic_b, bob):
    add_member(clinic_b, user=bob, role="nurse")
    session_login(client, bob, clinic_a)
    page = client.get("/clinic/").content.decode()
    assert 'name="tenant_id"' in page and "Bharat Family Clinic" in page
    response = client.post("/clinics/switch/", {"tenant_id": str(clinic_b.pk)})
    assert response["Location"] == "/clinic/"
    assert client.session[SESSION_CLINIC_KEY] == str(clinic_b.pk)
    assert "<h1>Bharat Family Clinic</h1>" in client.get("/clinic/").content.decode()


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [("/clinic/team/", "/clinic/team/"), ("https://evil.example/", "/clinic/"), ("", "/clinic/")],
)
def test_switching_returns_to_the_page_it_was_made_from_on_this_site(
    client, clinic_a, alice, clinic_b, next_url, lands_on
):
    add_member(clinic_b, user=alice, role="owner")
    session_login(client, alice, clinic_a)
    response = client.post("/clinics/switch/", {"tenant_id": str(clinic_b.pk), "next": next_url})
    assert response["Location"] == lands_on


def test_the_switcher_is_hidden_for_a_single_clinic(client, clinic_a, alice):
    session_login(client, alice, clinic_a)
    assert 'name="tenant_id"' not in client.get("/clinic/").content.decode()


def test_switching_to_a_clinic_you_are_not_in_is_a_404(client, clinic_a, alice, clinic_b):
    session_login(client, alice, clinic_a)
    assert client.post("/clinics/switch/", {"tenant_id": str(clinic_b.pk)}).status_code == 404
    assert client.post("/clinics/switch/", {"tenant_id": "not-a-uuid"}).status_code == 404
    assert client.session[SESSION_CLINIC_KEY] == str(clinic_a.pk)


def test_a_session_naming_another_clinic_is_dropped(client, clinic_a, alice, clinic_b):
    session_login(client, alice, clinic_b)  # as if the session had been tampered with
    response = client.get("/clinic/")
    assert response["Location"] == "/clinics/"
    assert SESSION_CLINIC_KEY not in client.session


def test_a_removed_member_lands_on_the_clinic_chooser(client, clinic_a, clinic_b, bob):
    add_member(clinic_b, user=bob, role="nurse")
    session_login(client, bob, clinic_a)
    with tenant_context(clinic_a):
        Membership.objects.filter(user=bob).update(is_active=False)
    assert client.get("/clinic/team/")["Location"] == "/clinics/"
    chooser = client.get("/clinics/").content.decode()
    assert "Bharat Family Clinic" in chooser and "Asha Dental Care" not in chooser


# --- passwords ----------------------------------------------------------------------------


def test_password_reset_flow(
    client, clinic_a, alice, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/password-reset/", {"email": alice.email})
    assert response["Location"] == "/password-reset/sent/"
    path = link_in(mailoutbox[0], "/reset/")
    assert "Choose a new password" in client.get(path).content.decode()
    response = client.post(
        path, {"password1": "Saffron-Lane-8841", "password2": "Saffron-Lane-8841"}
    )
    assert response["Location"] == "/login/"
    assert login(client, alice.email, "Saffron-Lane-8841").status_code == 302
    # The link worked once.
    assert client.get(path).status_code == 400


def test_password_reset_answers_the_same_for_unknown_addresses(client, db, mailoutbox):
    response = client.post("/password-reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/password-reset/sent/"
    # Only the queued "no account uses this address" notice, never a reset link.
    assert all("/reset/" not in m.body for m in mailoutbox)


def test_password_reset_refuses_a_weak_password_and_keeps_the_link(client, clinic_a, alice):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(alice.pk))
    path = f"/reset/{uid}/{default_token_generator.make_token(alice)}/"
    response = client.post(path, {"password1": "password123", "password2": "password123"})
    assert response.status_code == 200
    assert "too common" in response.content.decode()
    assert person_by_id(alice.pk).check_password(TEST_PASSWORD)


def test_a_bad_reset_link_says_so(client, db):
    response = client.get("/reset/xx/yy/")
    assert response.status_code == 400
    assert "invalid or has already been used" in response.content.decode()


def test_changing_the_password_keeps_this_session_and_ends_the_others(client, clinic_a, alice):
    other = Client()
    session_login(other, alice, clinic_a)
    session_login(client, alice, clinic_a)
    response = client.post(
        "/account/",
        {
            "old_password": TEST_PASSWORD,
            "password1": "Monsoon-Hill-2277",
            "password2": "Monsoon-Hill-2277",
        },
    )
    assert response["Location"] == "/account/"
    assert client.get("/clinic/").status_code == 200
    assert other.get("/clinic/")["Location"].startswith("/login/")


def test_changing_the_password_needs_the_current_one(client, clinic_a, alice):
    session_login(client, alice, clinic_a)
    response = client.post(
        "/account/",
        {
            "old_password": "wrong",
            "password1": "Monsoon-Hill-2277",
            "password2": "Monsoon-Hill-2277",
        },
    )
    assert "The current password is not correct." in response.content.decode()


# --- invitations --------------------------------------------------------------------------


@pytest.fixture
def invitation_link(clinic_a, alice, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            tenant=clinic_a,
            actor=alice,
            email="nurse.neha@example.com",
            role="nurse",
            first_name="Neha",
            last_name="Iyer",
        )
    return link_in(mailoutbox[-1], "/invite/")


def test_accepting_an_invitation_sets_the_password_and_logs_in(client, clinic_a, invitation_link):
    page = client.get(invitation_link).content.decode()
    assert "Join Asha Dental Care" in page and "Nurse" in page and 'value="Neha"' in page
    response = client.post(
        invitation_link,
        {
            "first_name": "Neha",
            "last_name": "Iyer",
            "password1": "Jasmine-Road-5512",
            "password2": "Jasmine-Road-5512",
        },
    )
    assert response["Location"] == "/clinic/"
    assert client.session[SESSION_CLINIC_KEY] == str(clinic_a.pk)
    user = person_by_email("nurse.neha@example.com")
    assert user.check_password("Jasmine-Road-5512") and user.email_verified_at is not None
    # The link works once.
    assert client.get(invitation_link).status_code == 400


def test_an_invitation_needs_matching_strong_passwords(client, invitation_link):
    mismatch = client.post(
        invitation_link,
        {
            "first_name": "Neha",
            "last_name": "Iyer",
            "password1": "Jasmine-Road-5512",
            "password2": "Jasmine-Road-5513",
        },
    )
    assert "The two passwords do not match." in mismatch.content.decode()
    weak = client.post(
        invitation_link,
        {
            "first_name": "Neha",
            "last_name": "Iyer",
            "password1": "12345678901",
            "password2": "12345678901",
        },
    )
    assert "entirely numeric" in weak.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_revoked_or_forged_invitation_link_is_refused(client, clinic_a, alice, invitation_link):
    with tenant_context(clinic_a):
        invitation = Invitation.objects.get()
    from clinics.services import invitation_revoke

    invitation_revoke(tenant=clinic_a, actor=alice, invitation=invitation)
    response = client.get(invitation_link)
    assert response.status_code == 400
    assert "invalid, expired or already used" in response.content.decode()
    assert client.get("/invite/not-a-token/").status_code == 400


# --- e-mail verification ------------------------------------------------------------------


def test_the_banner_reminds_until_the_email_is_verified(
    client, clinic_a, alice, mailoutbox, django_capture_on_commit_callbacks
):
    session_login(client, alice, clinic_a)
    assert "Please verify your e-mail address" in client.get("/clinic/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/verify-email/resend/", {"next": "/clinic/team/"})
    assert response["Location"] == "/clinic/team/"
    path = link_in(mailoutbox[-1], "/verify-email/")
    assert "E-mail address verified" in client.get(path).content.decode()
    assert "Please verify your e-mail address" not in client.get("/clinic/").content.decode()


def test_a_bad_verification_link_says_so(client, db):
    response = client.get("/verify-email/garbage/")
    assert response.status_code == 400
    assert "invalid or has expired" in response.content.decode()


def test_password_reset_link_valid_checks_without_using_the_link(clinic_a, alice):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from accounts.services import password_reset_confirm, password_reset_link_valid

    uid = urlsafe_base64_encode(force_bytes(alice.pk))
    token = default_token_generator.make_token(alice)
    assert password_reset_link_valid(uid=uid, token=token)
    assert password_reset_link_valid(uid=uid, token=token), "checking must not use the link"
    assert not password_reset_link_valid(uid=uid, token="1-bad")
    assert not password_reset_link_valid(uid="not-base64!", token=token)
    password_reset_confirm(uid=uid, token=token, new_password="Saffron-Lane-8841")
    assert not password_reset_link_valid(uid=uid, token=token)


# --- rate limits --------------------------------------------------------------------------


def test_page_forms_share_the_apis_rate_limits(client, api, db, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**SimpleRateThrottle.THROTTLE_RATES, "auth": "3/minute"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    # One request through the API and two through the page use up the budget of three.
    api.post("/api/v1/auth/password-reset", {"email": "a@example.com"}, format="json")
    for _ in range(2):
        assert client.post("/password-reset/", {"email": "a@example.com"}).status_code == 302
    response = client.post("/password-reset/", {"email": "a@example.com"})
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    # Reading the form is not limited.
    assert client.get("/password-reset/").status_code == 200
