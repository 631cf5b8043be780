"""Billing: invoices with Indian GST, payment providers, and plans that change only when paid.

* `gst` — state codes, GSTIN validation, the tax split (CGST + SGST or IGST) and rounding.
* `models` — Invoice, InvoiceLine, Payment, PaymentEvent (clinic-owned, row-level security)
  and InvoiceCounter (the platform's numbering, reachable only by the platform role).
* `services` — every write: issuing, paying, voiding, plan requests, operator decisions and
  the daily run. Admin, API, pages, commands and webhooks all call these.
* `providers` — the payment-provider interface (manual, Razorpay); invoices never know which.
"""
