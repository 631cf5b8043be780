"""The subscription plans of the design, as code.

A plan's limits are the defaults; an enterprise clinic may carry per-clinic overrides on its
Tenant row. `None` means unlimited.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    max_doctors: int | None
    max_patients: int | None
    monthly_price_inr: Decimal | None  # None: custom pricing
    notes: str
    trial_days: int | None = None

    @property
    def price_display(self) -> str:
        if self.monthly_price_inr is None:
            return "Custom"
        if self.monthly_price_inr == 0:
            return "Free"
        return f"₹{self.monthly_price_inr:,.0f}/month"


TRIAL = "trial"
BASIC = "basic"
PREMIUM = "premium"
ENTERPRISE = "enterprise"

PLANS: dict[str, Plan] = {
    TRIAL: Plan(TRIAL, "Trial", 5, 1_000, Decimal("0"), "30 days", trial_days=30),
    BASIC: Plan(BASIC, "Basic", 20, 10_000, Decimal("2999"), "Multi-clinic support"),
    PREMIUM: Plan(PREMIUM, "Premium", 100, None, Decimal("9999"), "Priority support"),
    ENTERPRISE: Plan(ENTERPRISE, "Enterprise", None, None, None, "Per-clinic overrides"),
}
PLAN_CHOICES = [(plan.code, plan.name) for plan in PLANS.values()]
TRIAL_DAYS = PLANS[TRIAL].trial_days


def get_plan(code: str) -> Plan:
    try:
        return PLANS[code]
    except KeyError:
        raise ValueError(f"Unknown plan {code!r}; choose one of {', '.join(PLANS)}.") from None
