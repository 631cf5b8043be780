"""Issue 12, items 4 and 1: invitation e-mails are limited per clinic and per recipient, in
the invitation service, so the API, the team page and the admin share the budgets; a 429
carries Retry-After."""

from __future__ import annotations

import pytest
from django.test import override_settings

from accounts.models import Invitation
from accounts.services import invitation_create, invitation_resend
from accounts.testing import bearer, session_login
from core.errors import Throttled
from tenants.context import tenant_context


def doctor_body(n: int, email: str | None = None) -> dict:
    return {
        "first_name": "Dr",
        "last_name": f"Number{n}",
        "email": email or f"doctor{n}@example.com",
        "license_number": f"LIM-{n}",
        "specialization": "Dentistry",
    }


@override_settings(INVITATION_RATE_PER_RECIPIENT="2/hour")
def test_resending_to_one_recipient_is_limited_with_retry_after(
    client, clinic_a, alice, mailoutbox, django_capture_on_commit_callbacks
):
    invitation = invitation_create(
        tenant=clinic_a, actor=alice, email="target@example.com", role="nurse"
    )
    session_login(client, alice, clinic_a)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/clinic/team/invitations/{invitation.pk}/resend/")
        refused = client.post(f"/clinic/team/invitations/{invitation.pk}/resend/")
    assert first.status_code == 302
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    with tenant_context(clinic_a):
        assert Invitation.objects.get(pk=invitation.pk).send_count == 2
    assert len([m for m in mailoutbox if m.to == ["target@example.com"]]) == 1


@override_settings(INVITATION_RATE_PER_RECIPIENT="2/hour")
def test_the_recipient_limit_holds_across_clinics(clinic_a, alice, clinic_b, charlie):
    invitation_create(tenant=clinic_a, actor=alice, email="popular@example.com", role="nurse")
    invitation_create(tenant=clinic_b, actor=charlie, email="popular@example.com", role="nurse")
    from accounts.testing import create_clinic

    third = create_clinic("Third Clinic")
    with pytest.raises(Throttled) as excinfo:
        invitation_create(
            tenant=third, actor=third.owner, email="popular@example.com", role="nurse"
        )
    assert excinfo.value.status_code == 429 and excinfo.value.retry_after > 0
    with tenant_context(third):
        assert not Invitation.objects.exists()


@override_settings(INVITATION_RATE_PER_CLINIC="3/hour")
def test_the_api_answers_429_with_retry_after_when_a_clinic_invites_too_much(api, clinic_a, alice):
    headers = bearer(alice, clinic_a)
    for n in range(3):
        response = api.post("/api/v1/tenants/doctors", doctor_body(n), format="json", **headers)
        assert response.status_code == 201, response.json()
    refused = api.post("/api/v1/tenants/doctors", doctor_body(9), format="json", **headers)
    assert refused.status_code == 429, refused.json()
    assert refused.json()["code"] == "invitation_throttled"
    assert int(refused["Retry-After"]) > 0
    with tenant_context(clinic_a):
        assert Invitation.objects.count() == 3


@override_settings(INVITATION_RATE_PER_CLINIC="1/hour")
def test_resends_count_against_the_same_clinic_budget(clinic_a, alice):
    invitation = invitation_create(
        tenant=clinic_a, actor=alice, email="a@example.com", role="nurse"
    )
    with pytest.raises(Throttled):
        invitation_resend(tenant=clinic_a, actor=alice, invitation=invitation)
