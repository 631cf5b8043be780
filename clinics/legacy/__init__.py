"""Adopting the earlier single-clinic system's data (import_legacy): see docs/operations.md."""

from __future__ import annotations

from clinics.legacy.importer import DEFAULT_NAME, ImportResult, legacy_import

__all__ = ["DEFAULT_NAME", "ImportResult", "legacy_import"]
