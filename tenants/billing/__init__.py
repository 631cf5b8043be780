"""The billing tables of the tenancy kernel: `models` (Invoice, InvoiceLine, Payment,
PaymentEvent under row-level security, and the platform's InvoiceCounter), `gst` (state codes,
GSTIN validation, the tax split) and `operations` (their migrations' grants). Every write and
every way in is in `clinics.billing`."""
