"""Values of the earlier system, in this system's form. Each function returns the new value
and, when it had to change the meaning or drop something, a sentence for the report."""

from __future__ import annotations

import datetime
import re
import uuid
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateparse import parse_datetime

LEGACY_NAMESPACE = uuid.UUID("6f1d4a52-3c55-4d0e-9a4e-3b1f0c2f7d11")
NUMBER = re.compile(r"^(APT|RX)(\d{8})(\d{4,})$")
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
BCRYPT = re.compile(r"^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$")

FORMS = {
    "tablet": "tablet",
    "tablets": "tablet",
    "tab": "tablet",
    "capsule": "capsule",
    "capsules": "capsule",
    "cap": "capsule",
    "syrup": "syrup",
    "suspension": "suspension",
    "solution": "solution",
    "oral solution": "solution",
    "drops": "drops",
    "injection": "injection",
    "cream": "cream",
    "ointment": "ointment",
    "gel": "gel",
    "lotion": "lotion",
    "inhaler": "inhaler",
    "nasal spray": "nasal_spray",
    "nasal_spray": "nasal_spray",
    "powder": "powder",
    "mouthwash": "mouthwash",
    "lozenge": "lozenge",
    "suppository": "suppository",
}
SURFACES = {
    "mesial": "mesial",
    "distal": "distal",
    "occlusal": "occlusal",
    "incisal": "occlusal",
    "buccal": "buccal",
    "labial": "buccal",
    "facial": "buccal",
    "lingual": "lingual",
    "palatal": "lingual",
}
CONDITIONS = {
    "caries": "caries",
    "cavity": "caries",
    "decay": "caries",
    "fracture": "fracture",
    "fractured": "fracture",
    "missing": "missing",
    "filled": "filled",
    "filling": "filled",
    "restoration": "filled",
    "crown": "crown",
    "root_canal_treated": "root_canal_treated",
    "root canal treated": "root_canal_treated",
    "rct": "root_canal_treated",
    "mobility": "mobility",
    "mobile": "mobility",
    "periodontal_pocket": "periodontal_pocket",
    "periodontal pocket": "periodontal_pocket",
    "impacted": "impacted",
    "other": "other",
}
SEVERITIES = {"mild": "mild", "moderate": "moderate", "severe": "severe"}
FILE_TYPES = {
    "xray": "xray",
    "photo_before": "before",
    "photo_after": "after",
    "test_result": "other",
    "document": "other",
    "other": "other",
}
PROCEDURE_STATUSES = {"planned", "in_progress", "completed", "cancelled"}


def derived_id(tenant_id, table: str, legacy_id) -> uuid.UUID:
    """A stable id for a row of `table` adopted into one clinic: a second run finds it."""
    return uuid.uuid5(LEGACY_NAMESPACE, f"{tenant_id}:{table}:{legacy_id}")


def aware(value):
    if isinstance(value, datetime.datetime) and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def iso_datetime(text):
    """`last_login_at` was text: an ISO timestamp, or anything."""
    try:
        value = parse_datetime(str(text or "").strip())
    except ValueError:
        return None
    return aware(value) if value else None


def password(hashed: str | None) -> tuple[str | None, str | None]:
    """Django's form of a bcrypt hash (`bcrypt$<hash>`): BCryptPasswordHasher verifies it and
    the login rehashes it with argon2. Anything else cannot be verified here."""
    hashed = (hashed or "").strip()
    if BCRYPT.match(hashed):
        return "bcrypt$" + hashed, None
    if not hashed:
        return None, "no password: the person sets one through password reset"
    return None, "password hash not bcrypt: the person sets a new one through password reset"


def number(value: str, kind: str) -> tuple[str | None, datetime.date | None, int | None]:
    """`APT202601060001` → (`APT-20260106-0001`, day, 1); (None, None, None) if malformed."""
    match = NUMBER.match((value or "").strip().upper())
    if not match or match.group(1) != kind:
        return None, None, None
    try:
        digits = match.group(2)
        day = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None, None, None
    return f"{kind}-{match.group(2)}-{match.group(3)}", day, int(match.group(3))


def money(value, *, places: int = 2) -> tuple[Decimal | None, str | None]:
    """The earlier system's fee was text ("500", "₹500", "500.00")."""
    if value is None or str(value).strip() == "":
        return None, None
    text = re.sub(r"[^\d.]", "", str(value))
    try:
        amount = Decimal(text).quantize(Decimal(1).scaleb(-places))
    except (InvalidOperation, ValueError):
        return None, f"{value!r} is not an amount"
    return amount, None if text == str(value).strip() else f"amount {value!r} read as {amount}"


def clamp(value, low: int, high: int, what: str) -> tuple[int | None, str | None]:
    if value is None:
        return None, None
    if value < low or value > high:
        bounded = min(max(value, low), high)
        return bounded, f"{what} {value} outside {low}-{high}: set to {bounded}"
    return value, None


def text(value, limit: int, what: str) -> tuple[str, str | None]:
    value = (
        (value or "").strip() if isinstance(value, str) else ("" if value is None else str(value))
    )
    if len(value) > limit:
        return value[:limit], f"{what} cut to {limit} characters"
    return value, None


def dosage_form(forms) -> tuple[str, str | None]:
    first = (list(forms or []) or [""])[0]
    key = str(first or "").strip().lower()
    if key in FORMS:
        return FORMS[key], None
    return "other", f"dosage form {first!r} not known here: stored as other"


def time_window(window) -> tuple[datetime.time, datetime.time] | None:
    try:
        start = datetime.time.fromisoformat(str(window["start_time"]))
        end = datetime.time.fromisoformat(str(window["end_time"]))
    except (KeyError, TypeError, ValueError):
        return None
    return (start, end) if end > start else None


def teeth(value: str | None, valid) -> tuple[list[int], list[str]]:
    """Comma-separated FDI numbers → list; the parts that are not teeth, for the report."""
    numbers, bad = [], []
    for part in re.split(r"[,\s;]+", value or ""):
        if not part:
            continue
        if part.isdigit() and int(part) in valid and int(part) not in numbers:
            numbers.append(int(part))
        else:
            bad.append(part)
    return numbers, bad


def emergency_contact(value) -> str:
    if not isinstance(value, dict):
        return str(value or "")[:200]
    name = str(value.get("name") or "").strip()
    relation = str(value.get("relationship") or "").strip()
    phone = str(value.get("phone") or "").strip()
    label = f"{name} ({relation})" if name and relation else name or relation
    return " ".join(p for p in (label, phone) if p)[:200]


def end_time(start: datetime.time, minutes: int) -> tuple[datetime.time, str | None]:
    moment = datetime.datetime.combine(datetime.date(2000, 1, 1), start)
    end = moment + datetime.timedelta(minutes=minutes)
    if end.date() != moment.date():
        return datetime.time(23, 59), "appointment ran past midnight: ends at 23:59"
    return end.time(), None
