"""The billing terms every billing service shares: the days allowed to pay, the platform as
the seller, the order of the plans, and month arithmetic."""

from __future__ import annotations

import calendar
import datetime

from django.conf import settings
from django.utils import timezone

from tenants import plans

# The order of the plans: a request for a higher one is an upgrade (paid first), a lower one a
# downgrade (at the end of the paid period).
RANK = {plans.TRIAL: 0, plans.BASIC: 1, plans.PREMIUM: 2, plans.ENTERPRISE: 3}
SELF_SERVICE_PLANS = (plans.BASIC, plans.PREMIUM)


# --- settings -------------------------------------------------------------------------------


def due_days() -> int:
    return int(getattr(settings, "BILLING_DUE_DAYS", 7))


def grace_days() -> int:
    return int(getattr(settings, "BILLING_GRACE_DAYS", 7))


def renewal_days() -> int:
    return int(getattr(settings, "BILLING_RENEWAL_DAYS", 7))


def seller() -> dict[str, str]:
    """The platform as the supplier printed on every invoice (settings PLATFORM_*)."""
    return {
        "seller_name": getattr(settings, "PLATFORM_LEGAL_NAME", "") or "Clinic SaaS",
        "seller_address": getattr(settings, "PLATFORM_ADDRESS", ""),
        "seller_gstin": getattr(settings, "PLATFORM_GSTIN", ""),
        "seller_state": getattr(settings, "PLATFORM_GST_STATE", "29"),
    }


# --- dates ----------------------------------------------------------------------------------


def add_month(day: datetime.date) -> datetime.date:
    """The same day next month, or that month's last day (31 Jan → 28/29 Feb)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def today() -> datetime.date:
    return timezone.localdate()
