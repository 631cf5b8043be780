"""Billing: invoices with Indian GST, payment providers, and plans that change only when paid.

The tables and the GST rules are the tenancy kernel's (`tenants.billing.models`, `gst`); this
package is the clinic as a paying customer:

* `services` — every write: issuing, paying, voiding, plan requests, operator decisions and
  the daily run. Admin, API, pages, commands and webhooks all call these.
* `providers` — the payment-provider interface (manual, Razorpay); invoices never know which.
* `api`, `views`, `admin`, `webhooks` and `documents` — the ways in, and the invoice PDF.
"""
