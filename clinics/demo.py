"""Demo clinics for `make run`: created once, found again on every later run.

Each clinic is signed up through the same service as the signup page and the API, and its
staff are invited and accept like real people; the clinical records come from
`clinical.demo`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import as_person, memberships_of, person_by_email
from accounts.services import invitation_create
from clinical import demo as clinical_demo
from clinics.services import clinic_register, doctor_invite, invitation_accept
from core.email import emails_suppressed

DEMO_PASSWORD = "Clinic-Demo-2026"


@dataclass(frozen=True)
class DemoStaff:
    email: str
    first_name: str
    last_name: str
    role: str
    license_number: str = ""
    specialization: str = ""
    qualification: str = ""


@dataclass(frozen=True)
class DemoClinic:
    name: str
    phone: str
    address: str
    owner: DemoStaff
    staff: tuple[DemoStaff, ...]
    kind: str  # "dental" or "general": which clinical records to create


DEMO_CLINICS = (
    DemoClinic(
        name="Asha Dental Care",
        phone="080 4110 2200",
        address="14, 12th Main, Indiranagar, Bengaluru 560038",
        owner=DemoStaff(
            "asha@demo.clinic",
            "Asha",
            "Rao",
            "admin_doctor",
            "KA-DENT-20931",
            "Dentistry",
            "BDS, MDS (Prosthodontics)",
        ),
        staff=(
            DemoStaff(
                "vikram@demo.clinic",
                "Vikram",
                "Shetty",
                "doctor",
                "KA-DENT-31877",
                "Orthodontics",
                "BDS, MDS (Orthodontics)",
            ),
            DemoStaff("meena@demo.clinic", "Meena", "Pillai", "receptionist"),
            DemoStaff("priya@demo.clinic", "Priya", "Nair", "nurse"),
        ),
        kind="dental",
    ),
    DemoClinic(
        name="Sunrise Family Clinic",
        phone="044 2811 4455",
        address="22 Cathedral Road, Gopalapuram, Chennai 600086",
        owner=DemoStaff("ravi@demo.clinic", "Ravi", "Subramanian", "admin"),
        staff=(
            DemoStaff(
                "lakshmi@demo.clinic",
                "Lakshmi",
                "Iyer",
                "doctor",
                "TN-MED-55120",
                "General Medicine",
                "MBBS, MD (General Medicine)",
            ),
            DemoStaff("joseph@demo.clinic", "Joseph", "Mathew", "nurse"),
        ),
        kind="general",
    ),
)


# Each demo person's phone number ends in a number of their own (the owners' is 01).
DEMO_STAFF_PHONES = {
    person.email: index for spec in DEMO_CLINICS for index, person in enumerate(spec.staff, start=2)
}


def _accept_demo_invitation(invitation) -> None:
    """Finish an invitation the way the invited person would: follow the link, choose the
    password (which creates their account) and join."""
    invitation_accept(token=invitation.link_token, password=DEMO_PASSWORD)


@transaction.atomic
def _create_clinic(spec: DemoClinic):
    owner = spec.owner
    tenant, user, _membership = clinic_register(
        clinic_name=spec.name,
        clinic_phone=spec.phone,
        clinic_address=spec.address,
        owner_first_name=owner.first_name,
        owner_last_name=owner.last_name,
        owner_email=owner.email,
        owner_phone="9876500001",
        password=DEMO_PASSWORD,
        role=owner.role,
        license_number=owner.license_number,
        specialization=owner.specialization,
        qualification=owner.qualification,
        experience_years=12 if owner.license_number else None,
    )
    with as_person(user):  # only the person writes their own row (row-level security)
        User.objects.filter(pk=user.pk).update(email_verified_at=timezone.now())
    _add_staff(tenant, user, spec.staff)
    clinical_demo.seed_clinic(tenant=tenant, kind=spec.kind)
    return tenant


def _add_staff(tenant, owner, people) -> None:
    """Invite each person as the owner would (a doctor with their profile) and accept the
    invitation as they would: every demo login goes through the real team services."""
    for person in people:
        index = DEMO_STAFF_PHONES[person.email]
        if person.role == "doctor":
            doctor = doctor_invite(
                tenant=tenant,
                actor=owner,
                first_name=person.first_name,
                last_name=person.last_name,
                email=person.email,
                phone=f"98765000{index:02d}",
                license_number=person.license_number,
                specialization=person.specialization,
                qualification=person.qualification,
                experience_years=6,
            )
            invitation = doctor.invitation
        else:
            invitation = invitation_create(
                tenant=tenant,
                actor=owner,
                email=person.email,
                role=person.role,
                first_name=person.first_name,
                last_name=person.last_name,
            )
        _accept_demo_invitation(invitation)


@transaction.atomic
def _add_missing_staff(spec: DemoClinic, tenant, owner) -> list[DemoStaff]:
    """People added to the demo after a clinic was seeded (the receptionist, doctor and nurse
    of the workspace) join it now; nobody who has an account already is touched."""
    missing = [p for p in spec.staff if person_by_email(p.email) is None]
    _add_staff(tenant, owner, missing)
    return missing


def demo_seed(*, write=print) -> list[tuple[str, list[DemoStaff]]]:
    """Create the demo clinics that do not exist yet. Returns (clinic name, logins)."""
    seeded = []
    with emails_suppressed():
        clinical_demo.seed_catalogue(write=write)
        for spec in DEMO_CLINICS:
            _seed_one(spec, write)
            seeded.append((spec.name, [spec.owner, *spec.staff]))
    return seeded


def _seed_one(spec: DemoClinic, write) -> None:
    owner = person_by_email(spec.owner.email)
    if owner is not None and memberships_of(owner):
        write(f"  {spec.name}: already there")
        added = _add_missing_staff(spec, memberships_of(owner)[0].tenant, owner)
        if added:
            write(f"  {spec.name}: added {', '.join(p.email for p in added)}")
        if spec.kind == "dental":
            # Clinics seeded before the dental records existed get their chart now.
            tenant = memberships_of(owner)[0].tenant
            if clinical_demo.seed_dental_chart(tenant=tenant):
                write(f"  {spec.name}: dental chart added")
        # Clinics seeded before print templates existed get their letterhead now.
        if clinical_demo.seed_print_demo(tenant=memberships_of(owner)[0].tenant, kind=spec.kind):
            write(f"  {spec.name}: letterhead added")
    else:
        _create_clinic(spec)
        write(f"  {spec.name}: created")
