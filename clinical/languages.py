"""The languages prints come in: English, and every language with a compiled translation
under clinical/locale/ (so adding a language is adding its .po file and compiling it)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import get_language_info

LOCALE_DIR = Path(__file__).resolve().parent / "locale"


@cache
def print_language_codes() -> tuple[str, ...]:
    found = sorted(
        path.parent.parent.name.replace("_", "-").lower()
        for path in LOCALE_DIR.glob("*/LC_MESSAGES/django.mo")
    )
    return ("en", *[code for code in found if code != "en"])


def print_languages() -> list[tuple[str, str]]:
    """(code, name in that language) of each print language: [("en", "English"), ("hi",
    "हिंदी")]."""
    return [(code, get_language_info(code)["name_local"]) for code in print_language_codes()]


def validate_print_language(value: str) -> None:
    if value and value not in print_language_codes():
        raise ValidationError(
            "Prints are available in: %(codes)s.",
            code="invalid_language",
            params={"codes": ", ".join(print_language_codes())},
        )
