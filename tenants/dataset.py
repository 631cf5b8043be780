"""A clinic's data as a whole: every clinic-owned model, in an order that respects references.

Export, purge and the legacy import iterate these generically, so a model added later (with
its file fields) is included without touching them.
"""

from __future__ import annotations

from django.db import models

from tenants.checks import protected_models

CLINIC_KINDS = ("tenant", "catalog", "membership", "invitation")


def clinic_models() -> list[type[models.Model]]:
    """Every clinic-owned model, each after the clinic-owned models it references."""
    found = sorted(
        (m for m in protected_models() if m.rls_kind in CLINIC_KINDS),
        key=lambda m: m._meta.label,
    )
    return _referenced_first(found)


def _references(model, among: set) -> set:
    return {
        field.related_model
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model in among and field.related_model is not model
    }


def _referenced_first(found: list) -> list:
    remaining = {m: _references(m, set(found)) for m in found}
    ordered: list = []
    while remaining:
        ready = [m for m in found if m in remaining and not (remaining[m] - set(ordered))]
        if not ready:  # a cycle: break it in a stable order (deferred constraints cope)
            ready = [next(m for m in found if m in remaining)]
        for model in ready:
            ordered.append(model)
            del remaining[model]
    return ordered


def file_fields(model) -> list[models.FileField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
