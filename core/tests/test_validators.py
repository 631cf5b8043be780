from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from core.validators import normalize_indian_mobile, normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("9876543210", "9876543210"),
        ("98765 43210", "9876543210"),
        ("+91-98765-43210", "9876543210"),
        ("+91 98765 43210", "9876543210"),
        ("919876543210", "9876543210"),
        ("09876543210", "9876543210"),
        ("(987) 654-3210", "9876543210"),
    ],
)
def test_mobile_numbers_are_normalised(raw, expected):
    assert normalize_indian_mobile(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "12345", "5876543210", "98765432101", "abcdefghij", "+1 415 555 0100", "9876５43210"],
)
def test_bad_mobile_numbers_are_refused(raw):
    with pytest.raises(ValidationError) as excinfo:
        normalize_indian_mobile(raw)
    assert "Indian mobile number" in excinfo.value.messages[0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("080 4000 1234", "08040001234"),
        ("044-2811-4455", "04428114455"),
        ("+91 98450 12345", "9845012345"),
        ("9845012345", "9845012345"),
    ],
)
def test_phone_numbers_accept_landlines_and_mobiles(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["call me", "0000", "1800", "080 4000"])
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw)
