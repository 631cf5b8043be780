"""Configuration stays documented: .env.example lists every variable settings.py reads."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _read_by_code() -> set[str]:
    names = set()
    for path in ("clinic_saas/settings.py", "clinic_saas/embedded_db.py"):
        text = (ROOT / path).read_text()
        names |= set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
        names |= set(re.findall(r"environ\.get\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
    return names


def test_env_example_lists_every_variable():
    # Production-only settings are documented commented out (`#DATABASE_URL=...`).
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", text, re.M))
    read = _read_by_code()
    assert "ALLOWED_HOSTS" in read and "DATABASE_URL" in read
    assert read - documented == set(), "add these to .env.example"
    assert documented - read == set(), "these are documented but no longer read"
