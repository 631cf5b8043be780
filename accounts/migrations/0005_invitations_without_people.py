"""Undo the people that invitations used to create (issue 12, item 2).

Before, inviting an unknown e-mail created a global person with no usable password and an
inactive membership; inviting a known one made an active membership at once. Such a
password-less person blocked the real owner of the address from signing up, and every clinic
that invited the address later saw the first clinic's names for it.

Here every person who has an unusable password, is no platform operator, was created by an
invitation and never accepted one is removed, and each of their memberships becomes what it
should have been all along, an invitation:

* the invitation that created the person, when still open, stays (its link still works) and
  keeps the names and phone that clinic typed;
* a membership without an open invitation (a clinic that "added" the address afterwards)
  becomes an invitation that has already expired, with no names: that clinic sees the
  e-mail it typed and can send the invitation again;
* a revoked invitation leaves nothing.

A doctor profile of such a person stays with its clinic, attached to the invitation.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import migrations
from django.db.models import Exists, OuterRef
from django.utils import timezone

from tenants.operations import migration_platform_context


def _random_hash() -> str:
    # A secret nobody knows: the clinic sends the invitation again to get a working link.
    return hashlib.sha256(secrets.token_urlsafe(32).encode()).hexdigest()


def forwards(apps, schema_editor):
    alias = schema_editor.connection.alias
    User = apps.get_model("accounts", "User")
    Membership = apps.get_model("accounts", "Membership")
    Invitation = apps.get_model("accounts", "Invitation")
    Doctor = apps.get_model("clinical", "Doctor")

    with migration_platform_context(
        schema_editor,
        User,
        Membership,
        Invitation,
        Doctor,
        reason="issue 12: invitations no longer create people (data migration)",
    ):
        invited = Invitation.objects.using(alias).filter(membership__user=OuterRef("pk"))
        accepted = invited.filter(accepted_at__isnull=False)
        victims = list(
            User.objects.using(alias)
            .filter(password__startswith="!", is_staff=False, is_superuser=False)
            .filter(Exists(invited))
            .exclude(Exists(accepted))
        )
        now = timezone.now()
        for user in victims:
            for membership in Membership.objects.using(alias).filter(user=user):
                _membership_to_invitation(alias, user, membership, Invitation, Doctor, now)
            Membership.objects.using(alias).filter(user=user).delete()
            User.objects.using(alias).filter(pk=user.pk).delete()
        # Check the deferred foreign keys now: FORCE row-level security is restored on these
        # tables when the block ends, which PostgreSQL refuses while checks are pending.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _membership_to_invitation(alias, user, membership, Invitation, Doctor, now) -> None:
    invitations = Invitation.objects.using(alias).filter(membership=membership)
    invitation = invitations.order_by("-created_at").first()
    if invitation is not None and invitation.accepted_at is None and invitation.revoked_at is None:
        # The clinic that created the person typed these names.
        invitation.first_name = user.first_name
        invitation.last_name = user.last_name
        invitation.phone = user.phone
    elif invitation is None and membership.is_active:
        invitation = Invitation(
            tenant_id=membership.tenant_id,
            email=user.email,
            role=membership.role,
            secret_hash=_random_hash(),
            created_at=membership.created_at,
            expires_at=now,
            last_sent_at=membership.created_at,
            send_count=0,
        )
    else:
        invitation = None
    invitations.update(membership=None)
    doctors = Doctor.objects.using(alias).filter(tenant_id=membership.tenant_id, user=user)
    if invitation is None:
        doctors.update(user=None, is_active=False)
        return
    invitation.membership = None
    invitation.save(using=alias)
    doctors.update(user=None, invitation=invitation)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_invitation_consent"),
        ("clinical", "0007_doctor_pending_invitation"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
