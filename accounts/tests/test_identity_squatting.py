"""Issue 12, item 2: no identity squatting.

A person exists only once someone signs up, or accepts an invitation with a password they
chose. An invitation (pending, revoked or declined) never blocks the address's owner from
signing up or resetting their password, and never hands another clinic the names one clinic
typed. The data migration removes the password-less people that invitations used to create.
"""

from __future__ import annotations

import importlib
from datetime import timedelta

from django.db import connections
from django.utils import timezone

from accounts.models import Invitation, Membership, User
from accounts.selectors import person_by_email, person_by_id
from accounts.services import invitation_create
from accounts.testing import add_member, bearer, create_clinic
from clinical.models import Doctor
from clinics.services import invitation_revoke
from tenants.context import tenant_context
from tenants.platform import platform_access
from tenants.testing import build

VICTIM = "victim@example.com"


def register(api, email=VICTIM, clinic_name="Victim's Own Clinic"):
    return api.post(
        "/api/v1/tenants/register-clinic",
        {
            "clinic_name": clinic_name,
            "clinic_phone": "080 4000 1234",
            "clinic_address": "5 Lake Road, Mysuru",
            "owner_first_name": "Real",
            "owner_last_name": "Owner",
            "owner_email": email,
            "owner_phone": "9845098450",
            "password": "Lotus-Pond-4821",
            "role": "admin",
        },
        format="json",
    )


def test_an_invited_then_revoked_address_can_still_sign_up_and_reset(
    api, clinic_a, alice, mailoutbox, django_capture_on_commit_callbacks
):
    invitation = invitation_create(
        tenant=clinic_a,
        actor=alice,
        email=VICTIM,
        role="nurse",
        first_name="Squatted",
        last_name="Name",
    )
    invitation_revoke(tenant=clinic_a, actor=alice, invitation=invitation)
    assert person_by_email(VICTIM) is None

    response = register(api)
    assert response.status_code == 201, response.json()
    person = person_by_email(VICTIM)
    assert (person.first_name, person.last_name) == ("Real", "Owner")
    with django_capture_on_commit_callbacks(execute=True):
        reset = api.post("/api/v1/auth/password-reset", {"email": VICTIM}, format="json")
    assert reset.status_code == 202
    assert any("/reset/" in mail.body for mail in mailoutbox if mail.to == [VICTIM])


def test_a_pending_invitation_does_not_block_sign_up_and_waits_for_the_person(api, clinic_a, alice):
    invitation_create(
        tenant=clinic_a,
        actor=alice,
        email=VICTIM,
        role="receptionist",
        first_name="Squatted",
        last_name="Name",
    )
    response = register(api)
    assert response.status_code == 201, response.json()
    person = person_by_email(VICTIM)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access_token']}"}
    [pending] = api.get("/api/v1/auth/invitations", **headers).json()
    assert pending["tenant_name"] == clinic_a.name
    assert (
        api.post(f"/api/v1/auth/invitations/{pending['id']}/accept", **headers).status_code == 200
    )
    with tenant_context(clinic_a):
        member = Membership.objects.select_related("user").get(user=person)
    # The clinic now sees the person's own name, never the one it typed.
    assert member.user.get_full_name() == "Real Owner" and member.is_active


def test_one_clinics_typed_names_never_reach_another_clinic(
    api, clinic_a, alice, clinic_b, charlie
):
    """On main, clinic A's invitation made a global person with A's names, and clinic B's
    later invitation showed B those names (and made B's membership active at once)."""
    invitation_create(
        tenant=clinic_a,
        actor=alice,
        email=VICTIM,
        role="nurse",
        first_name="Squatted",
        last_name="Name",
    )
    response = api.post(
        "/api/v1/tenants/doctors",
        {
            "first_name": "Typed",
            "last_name": "Byb",
            "email": VICTIM,
            "license_number": "B-1",
            "specialization": "Dentistry",
        },
        format="json",
        **bearer(charlie, clinic_b),
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["first_name"], body["last_name"], body["invitation_status"]) == (
        "Typed",
        "Byb",
        "invited",
    )
    assert "Squatted" not in str(body)
    with tenant_context(clinic_b):
        assert not Membership.objects.filter(user__email=VICTIM).exists()


# --- the data migration -----------------------------------------------------------------------


class _SchemaEditor:
    """What the migration's RunPython function uses of a schema editor."""

    def __init__(self, connection):
        self.connection = connection


def run_data_migration() -> None:
    """Run the data migration's function as `migrate` would: as the owner role, with the
    historical models (plain managers) of its place in the migration graph."""
    from django.core.management import call_command
    from django.db import transaction
    from django.db.migrations.loader import MigrationLoader

    name = "0005_invitations_without_people"
    # Later migrations changed the schema its historical models read (0006 moved the
    # password hashes out of accounts_user): take the database back to this migration's
    # place in the graph for the run, and forward again afterwards: every app, since going
    # back also unapplies the other apps' migrations that depend on later accounts ones (the
    # clinic tables' primary keys), and tests that run later need the whole schema.
    call_command("migrate", "accounts", name, verbosity=0)
    try:
        owner = connections["owner"]
        state = MigrationLoader(owner).project_state(("accounts", name))
        migration = importlib.import_module(f"accounts.migrations.{name}")
        with transaction.atomic(using="owner"):
            migration.forwards(state.apps, _SchemaEditor(owner))
    finally:
        call_command("migrate", verbosity=0)


def _old_style_squat(clinic_x, clinic_y):
    """The rows main used to write: clinic X invited a new address (a password-less person,
    an inactive membership, an invitation and a doctor profile), then clinic Y "added" the
    same address (an active membership at once)."""
    victim = User(email=VICTIM, first_name="Squatted", last_name="Byx", phone="9000000001")
    victim.set_unusable_password()
    victim.save()
    with tenant_context(clinic_x):
        membership = Membership.objects.create(user=victim, role="doctor", is_active=False)
        invitation = build(Invitation, email=VICTIM, role="doctor")
        Invitation.objects.filter(pk=invitation.pk).update(
            membership=membership, first_name="", last_name=""
        )
        doctor = build(Doctor, user=victim, license_number="X-1")
    with tenant_context(clinic_y):
        Membership.objects.create(user=victim, role="nurse", is_active=True)
    return victim, invitation, doctor


def test_the_migration_turns_squatted_people_back_into_invitations(live_db):
    clinic_x = create_clinic("Clinic X")
    clinic_y = create_clinic("Clinic Y")
    keeper = create_clinic("Clinic Z")  # a real person who accepted stays untouched
    victim, invitation, doctor = _old_style_squat(clinic_x, clinic_y)
    run_data_migration()

    assert person_by_email(VICTIM) is None
    assert person_by_id(keeper.owner.pk) is not None
    with tenant_context(clinic_x):
        kept = Invitation.objects.get(pk=invitation.pk)
        assert kept.membership_id is None and kept.is_pending
        assert (kept.first_name, kept.last_name, kept.phone) == ("Squatted", "Byx", "9000000001")
        moved = Doctor.objects.get(pk=doctor.pk)
        assert moved.user_id is None and moved.invitation_id == kept.pk
        assert not Membership.objects.filter(user__email=VICTIM).exists()
    with tenant_context(clinic_y):
        [offer] = Invitation.objects.filter(email=VICTIM)
        # Clinic Y typed nothing that survived, and it must not see clinic X's names.
        assert (offer.first_name, offer.last_name, offer.role) == ("", "", "nurse")
        assert offer.status == "expired"
        assert not Membership.objects.filter(user__email=VICTIM).exists()
    with platform_access(reason="test"):
        assert not Membership.objects.filter(user_id=victim.pk).exists()


def test_migration_leaves_people_who_chose_a_password_alone(live_db):
    clinic = create_clinic("Clinic W")
    member = add_member(clinic, email="chose@example.com", role="nurse").user
    with tenant_context(clinic):
        invitation = build(Invitation, email="chose@example.com")
        Invitation.objects.filter(pk=invitation.pk).update(
            accepted_at=timezone.now() - timedelta(days=1),
            membership=Membership.objects.get(user=member),
        )
    run_data_migration()
    assert person_by_id(member.pk) is not None
    with tenant_context(clinic):
        assert Membership.objects.get(user=member).is_active
