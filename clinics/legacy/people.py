"""People and doctors of the earlier system: users become people and members (or invitations,
when the person already has an account here), doctors keep their licence, fee, hours and
offices."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import Invitation, Membership, Role, User
from clinical.models import Doctor, DoctorAvailability, DoctorOffice, Office
from clinics.legacy import convert
from core.errors import ApplicationError
from tenants.platform import platform_access

# The earlier system's roles → this system's clinic roles. `super_admin` was the platform's
# own staff and `patient` a patient's login: neither is a member of a clinic.
ROLES = {"admin": "admin", "doctor": "doctor", "nurse": "nurse", "receptionist": "receptionist"}
NOT_MEMBERS = {
    "super_admin": "super_admin is the earlier platform's staff, not a clinic member",
    "patient": "patient logins have no clinic role here",
}


def message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


def accounts_by_email(emails) -> dict:
    """E-mail → id of the people who already have an account here. People are not a clinic's
    rows, and the runtime role sees only those of the clinic in context; this import is a
    platform operation, so it asks through the platform role (audited)."""
    emails = sorted({e for e in emails if e})
    if not emails:
        return {}
    with platform_access(
        reason="legacy import: which people of the earlier clinic have an account",
        action="platform.command",
        details={"emails": len(emails)},
    ):
        return dict(User.objects.filter(email__in=emails).values_list("email", "id"))


def check_owner(source, owner_email: str) -> None:
    """The owner is one of the clinic's users in the source, or a person with an account
    here; refused before anything is written."""
    row = None
    for candidate in source.rows("users"):
        if (candidate["email"] or "").strip().lower() == owner_email:
            row = candidate
            break
    if row is not None:
        if row["role"] in NOT_MEMBERS:
            raise ApplicationError(
                f"{owner_email} is a {row['role']} user of the earlier system and cannot own "
                "the clinic.",
                code="owner_unknown",
            )
        return
    if not accounts_by_email([owner_email]):
        raise ApplicationError(
            f"{owner_email} is neither a user of the earlier clinic nor an account here.",
            code="owner_unknown",
        )


def import_users(ctx) -> None:
    report = ctx.report
    bar = ctx.bar("users")
    members = {
        m.user_id: m for m in Membership.objects.all().only("id", "user_id", "role", "is_active")
    }
    known = accounts_by_email(
        [(r["email"] or "").strip().lower() for r in ctx.source.rows("users")] + [ctx.owner_email]
    )
    owner_seen = False
    for row in ctx.source.rows("users"):
        if bar:
            bar.advance()
        email = (row["email"] or "").strip().lower()
        role = str(row["role"] or "")
        if role in NOT_MEMBERS:
            report.skip("users", row["id"], f"{email}: {NOT_MEMBERS[role]}")
            continue
        is_owner = email == ctx.owner_email
        owner_seen = owner_seen or is_owner
        new_role = Role.OWNER if is_owner else ROLES.get(role)
        if new_role is None:
            report.skip("users", row["id"], f"{email}: unknown role {role!r}")
            continue
        user_id = known.get(email)
        if user_id is not None:
            if user_id in members:
                ctx.users[row["id"]] = user_id
                report.existing("users")
                continue
            if is_owner:
                # The operator names the owner on the owner's own request: they join at once.
                Membership.objects.create(user_id=user_id, role=Role.OWNER, is_active=True)
                ctx.users[row["id"]] = user_id
                report.new("users")
                report.change("users", row["id"], f"{email}: existing account, joined as owner")
                continue
            pending = _open_invitation(email)
            if pending is not None:  # invited by a previous run, not accepted yet
                ctx.invited[row["id"]] = pending
                report.existing("users")
                continue
            _invite(ctx, row, email, new_role)
            continue
        hashed, why = convert.password(row["hashed_password"])
        user = User(
            id=row["id"],
            email=email,
            first_name=(row["first_name"] or "")[:100],
            last_name=(row["last_name"] or "")[:100],
            phone=(row["phone"] or "")[:20],
            is_active=bool(row["is_active"]),
            date_joined=convert.aware(row["created_at"]) or timezone.now(),
            last_login=convert.iso_datetime(row.get("last_login_at")),
        )
        if row.get("is_email_verified"):
            user.email_verified_at = user.date_joined
        if hashed:
            user.password = hashed
        else:
            user.set_unusable_password()
            report.change("users", row["id"], f"{email}: {why}")
        try:
            user.full_clean(exclude=["password", "date_joined"], validate_unique=False)
        except ValidationError as exc:
            report.skip("users", row["id"], f"{email}: {message(exc)}")
            continue
        user.save(force_insert=True)
        ctx.users[row["id"]] = user.pk
        Membership.objects.create(user=user, role=new_role, is_active=bool(row["is_active"]))
        members[user.pk] = True
        report.new("users")
    if bar:
        bar.finish()
    if not owner_seen:
        owner = known[ctx.owner_email]
        if owner not in members:
            Membership.objects.create(user_id=owner, role=Role.OWNER, is_active=True)
            report.note(f"{ctx.owner_email} (an existing account) joined as the owner.")


def _open_invitation(email: str):
    return (
        Invitation.objects.filter(email=email, accepted_at=None, revoked_at=None, declined_at=None)
        .order_by("-created_at")
        .first()
    )


def _invite(ctx, row, email: str, role: str) -> None:
    """A person who already has an account here is invited, never made a member without
    their consent (issue 12): the invitation service decides what exists before they accept.
    Their earlier records stay the clinic's; a doctor profile waits on the invitation."""
    kwargs = {
        "tenant": ctx.tenant,
        "actor": None,
        "email": email,
        "role": role,
        "first_name": (row["first_name"] or "")[:100],
        "last_name": (row["last_name"] or "")[:100],
    }
    try:
        # A platform import invites a whole staff at once: no per-clinic e-mail limit.
        invitation = accounts_services.invitation_create(**kwargs, enforce_limits=False)
    except ApplicationError as exc:
        ctx.report.skip("users", row["id"], f"{email}: not invited: {exc.detail}")
        return
    ctx.invited[row["id"]] = invitation
    ctx.report.new("users")
    ctx.report.change(
        "users",
        row["id"],
        f"{email} already has an account here: invited as {role}; joins when they accept",
    )


def import_doctors(ctx) -> None:
    report = ctx.report
    existing_offices = {o.name.lower(): o.pk for o in Office.objects.all().only("id", "name")}
    existing_doctors = {
        d.pk: d.user_id for d in Doctor.objects.all().only("id", "user_id", "license_number")
    }
    licences = set(Doctor.objects.values_list("license_number", flat=True))
    users_with_doctor = {u for u in existing_doctors.values() if u}
    links, windows = [], []
    bar = ctx.bar("doctors")
    for row in ctx.source.rows("doctors"):
        if bar:
            bar.advance()
        where = ("doctors", row["id"])
        doctor_id = ctx.id("doctors", row["id"])
        user_id = ctx.users.get(row["user_id"])
        invitation = ctx.invited.get(row["user_id"])
        if user_id is None and invitation is None:
            report.skip(*where, "its user was not imported (see users)")
            continue
        ctx.doctor_of_user[row["user_id"]] = doctor_id
        ctx.doctors.add(doctor_id)
        offices = _offices(ctx, row, existing_offices)
        if doctor_id in existing_doctors:
            report.existing("doctors")
            continue
        if user_id and user_id in users_with_doctor:
            report.skip(*where, "this person already has a doctor profile in the clinic")
            ctx.doctors.discard(doctor_id)
            continue
        fee, why = convert.money(row["consultation_fee"])
        if why:
            report.change(*where, f"consultation fee: {why}")
        duration, why = convert.clamp(
            row["consultation_duration"] or 30, 5, 240, "consultation duration"
        )
        if why:
            report.change(*where, why)
        experience, why = convert.clamp(row["experience_years"], 0, 70, "experience")
        if why:
            report.change(*where, why)
        licence = (row["license_number"] or "").strip().upper()
        if licence in licences:
            report.skip(*where, f"licence {licence} is already used in the clinic")
            ctx.doctors.discard(doctor_id)
            continue
        doctor = Doctor(
            id=doctor_id,
            user_id=user_id,
            license_number=licence,
            specialization=(row["specialization"] or "")[:100],
            qualification=(row["qualification"] or "")[:200],
            experience_years=experience,
            consultation_fee=fee if fee is not None else 0,
            consultation_duration=duration,
            is_active=bool(row["is_active"]),
            created_at=convert.aware(row["created_at"]),
        )
        if invitation is not None:
            # The profile hangs on the invitation until the person accepts it.
            doctor.invitation_id = invitation.pk
        try:
            doctor.full_clean(exclude=["user", "invitation", "offices"], validate_unique=False)
        except ValidationError as exc:
            report.skip(*where, message(exc))
            ctx.doctors.discard(doctor_id)
            continue
        doctor.save(force_insert=True)
        licences.add(licence)
        users_with_doctor.add(user_id)
        report.new("doctors")
        for office_id in dict.fromkeys(offices):
            links.append(DoctorOffice(doctor_id=doctor_id, office_id=office_id))
        windows.extend(_availability(ctx, row, doctor_id))
    if bar:
        bar.finish()
    DoctorOffice.objects.bulk_create(links)
    DoctorAvailability.objects.bulk_create(windows)
    report.new("doctor hours", len(windows))


def _offices(ctx, row, existing_offices: dict) -> list:
    """The doctor's JSONB offices as Office rows: one per earlier id across all doctors, and
    one per name (a clinic's office names are unique here)."""
    found = []
    for entry in row["offices"] or []:
        if not isinstance(entry, dict) or not entry.get("id"):
            ctx.report.change("doctors", row["id"], f"office entry without an id ignored: {entry}")
            continue
        legacy = str(entry["id"])
        if legacy in ctx.offices:
            found.append(ctx.offices[legacy])
            continue
        name = str(entry.get("name") or "Office").strip()[:200]
        office_id = existing_offices.get(name.lower())
        if office_id is not None and office_id != ctx.id("offices", legacy):
            ctx.report.change(
                "offices", legacy, f"same name as another office ({name}): merged into it"
            )
        elif office_id is None:
            office = Office(
                id=ctx.id("offices", legacy),
                name=name,
                address=str(entry.get("address") or ""),
                phone=str(entry.get("phone") or "")[:20],
                is_primary=bool(entry.get("is_tenant_default") or entry.get("is_primary")),
            )
            office.save(force_insert=True)
            office_id = office.pk
            existing_offices[name.lower()] = office_id
            ctx.report.new("offices")
        else:
            ctx.report.existing("offices")
        ctx.offices[legacy] = office_id
        found.append(office_id)
    return found


def _availability(ctx, row, doctor_id) -> list:
    schedule = row["availability_schedule"] or {}
    windows, seen = [], set()
    for weekday, day in enumerate(convert.WEEKDAYS):
        for window in schedule.get(day) or [] if isinstance(schedule, dict) else []:
            times = convert.time_window(window)
            if times is None:
                ctx.report.change("doctors", row["id"], f"{day} hours {window} are not a window")
                continue
            if (weekday, times[0]) in seen:
                continue
            seen.add((weekday, times[0]))
            windows.append(
                DoctorAvailability(
                    doctor_id=doctor_id, weekday=weekday, start_time=times[0], end_time=times[1]
                )
            )
    return windows
