"""Billing writes: issuing invoices, recording payments, voiding, and every plan change.

One module per resource; this package is their public surface, and callers import from it
(`from clinics.billing.services import plan_request`):

* `terms` — the billing terms from settings (due, grace and renewal days, the seller), the
  order of the plans and month arithmetic.
* `invoices` — pricing and issuing (as the platform: why, in its docstring), voiding, and
  starting a provider's checkout.
* `plan_changes` — an owner's plan request, and the checks and records every change shares.
* `operators` — an operator's decisions: a plan set now, an Enterprise agreement's terms.
* `payments` — money received (which settles an invoice and moves the clinic) and refunds.
* `daily_run` — the daily job: trials, downgrades, renewals, overdue and unpaid clinics.

The rule the issue asks for: a clinic gets a paid plan's limits only through a paid invoice,
an operator's decision or an Enterprise agreement.
"""

from __future__ import annotations

from clinics.billing.services.daily_run import BillingRunReport, billing_run
from clinics.billing.services.invoices import (
    invoice_checkout,
    invoice_issue,
    invoice_void,
    monthly_price,
)
from clinics.billing.services.operators import enterprise_terms_set, plan_set
from clinics.billing.services.payments import payment_record, refund_record
from clinics.billing.services.plan_changes import PlanRequest, plan_request
from clinics.billing.services.terms import add_month, today

__all__ = [
    "BillingRunReport",
    "PlanRequest",
    "add_month",
    "billing_run",
    "enterprise_terms_set",
    "invoice_checkout",
    "invoice_issue",
    "invoice_void",
    "monthly_price",
    "payment_record",
    "plan_request",
    "plan_set",
    "refund_record",
    "today",
]
