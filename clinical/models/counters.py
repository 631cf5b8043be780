"""Per-clinic counters behind the human-readable numbers (APT-YYYYMMDD-NNNN, RX-…)."""

from __future__ import annotations

from django.db import models

from tenants.scoping import TenantOwnedModel


class NumberCounter(TenantOwnedModel):
    """The last number handed out for one kind of record on one day in one clinic.

    Incremented with a single `INSERT … ON CONFLICT DO UPDATE … RETURNING` (see
    clinical.services.numbering): the row lock it takes serialises concurrent requests of one
    clinic, and other clinics never wait for it.
    """

    class Kind(models.TextChoices):
        APPOINTMENT = "APT", "Appointment"
        PRESCRIPTION = "RX", "Prescription"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "day"], name="numbercounter_tenant_kind_day_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.day}: {self.last}"
