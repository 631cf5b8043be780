"""Validators shared by every app (phone numbers, money, the range of accepted dates)."""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError

_SEPARATORS = re.compile(r"[\s\-().]")

# Every date a client sends (appointments, visits, dental records, births, ranges and
# filters) lies in these years. Nothing a clinic records is older (the oldest living
# patient's birth) or further ahead (follow-ups, planned treatment), and the bound keeps
# date arithmetic (`start + timedelta(...)`) far from Python's year 9999 limit.
DATE_MIN = datetime.date(1900, 1, 1)
DATE_MAX = datetime.date(2100, 12, 31)
DATE_RANGE_MESSAGE = f"Enter a date from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}."


def normalize_indian_mobile(value: str) -> str:
    """Return the ten-digit Indian mobile number, or raise ValidationError.

    Accepts the forms people type: "98765 43210", "+91-98765-43210", "0919876543210",
    "09876543210". Indian mobile numbers have ten digits and start with 6, 7, 8 or 9.
    """
    digits = _SEPARATORS.sub("", str(value or ""))
    if digits.startswith("+"):
        digits = digits[1:]
    if len(digits) == 12 and digits.startswith("91"):
        digits = digits[2:]
    elif len(digits) == 13 and digits.startswith("091"):
        digits = digits[3:]
    elif len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    if not re.fullmatch(r"[6-9][0-9]{9}", digits):
        raise ValidationError(
            "Enter a valid Indian mobile number: 10 digits starting with 6, 7, 8 or 9 "
            "(a +91 prefix is fine).",
            code="invalid_mobile",
        )
    return digits


def normalize_phone(value: str) -> str:
    """A mobile (normalised to ten digits) or a landline with its STD code ("080 2345 6789").

    A number written with a leading 0 is kept as written: "080 4000 1234" (a Bengaluru
    landline) and "0 98450 12345" (a mobile dialled with 0) cannot be told apart, and both
    are dialable as they are.
    """
    invalid = ValidationError(
        "Enter a valid phone number: a 10-digit mobile or a landline with its STD code.",
        code="invalid_phone",
    )
    digits = _SEPARATORS.sub("", str(value or ""))
    if not digits.startswith("0"):
        try:
            return normalize_indian_mobile(digits)
        except ValidationError:
            raise invalid from None
    if not re.fullmatch(r"0[1-9][0-9]{8,9}", digits):
        raise invalid
    return digits
