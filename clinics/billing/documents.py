"""The invoice as a PDF, drawn with the project's PDF renderer (clinical.pdf: fpdf2 with
HarfBuzz shaping and the bundled Noto fonts, the same as prescriptions), so a clinic's name
in any Indian script prints correctly on its invoice too.

`invoice_pdf` is the one function that produces the document; the API, the plan page and
the admin all answer with `invoice_pdf_response`.
"""

from __future__ import annotations

from django.http import HttpResponse

from tenants.billing import gst


def _date(value) -> str:
    return f"{value:%d %b %Y}" if value else "—"


def _party(name: str, address: str, gstin: str, state: str) -> str:
    lines = [name, address.strip()]
    if gstin:
        lines.append(f"GSTIN: {gstin}")
    lines.append(
        f"State: {gst.STATES.get(state, state)} ({state})" if state else "State: not given"
    )
    return "\n".join(line for line in lines if line)


def invoice_pdf(invoice) -> bytes:
    # Imported on first use: fpdf2, HarfBuzz and the font tables load only when an invoice is
    # actually printed, not with every process that imports billing.
    from clinical.pdf import Document

    intra = invoice.intra_state
    doc = Document(
        title=f"Tax invoice {invoice.number}",
        footer_text=(
            f"{invoice.number} · Amounts in Indian rupees (INR). "
            + ("Intra-state supply: CGST + SGST." if intra else "Inter-state supply: IGST.")
            + " Computer-generated invoice."
        ),
    )
    doc.add_page()
    doc.heading("Tax invoice", level=1)
    doc.labelled_values(
        [
            ("Invoice number", invoice.number),
            ("Date", _date(invoice.issued_at)),
            ("Due", _date(invoice.due_date)),
            ("Status", invoice.get_status_display()),
        ]
    )
    doc.grid(
        ["Supplier", "Billed to"],
        [
            [
                _party(
                    invoice.seller_name,
                    invoice.seller_address,
                    invoice.seller_gstin,
                    invoice.seller_state,
                ),
                _party(
                    invoice.bill_to_name,
                    invoice.bill_to_address,
                    invoice.bill_to_gstin,
                    invoice.bill_to_state,
                ),
            ]
        ],
    )
    doc.line_text(
        f"Period: {_date(invoice.period_start)} to {_date(invoice.period_end)} "
        "(service until the day before)."
    )
    doc.ln(2)
    rows = [
        [
            str(line.position),
            line.description,
            line.sac_code,
            str(line.quantity),
            f"{line.unit_price:.2f}",
            f"{line.amount:.2f}",
        ]
        for line in invoice.lines.all()
    ]
    rows.append(["", "Taxable value", "", "", "", f"{invoice.subtotal:.2f}"])
    if intra:
        rows.append(["", f"CGST @ {gst.HALF_RATE}%", "", "", "", f"{invoice.cgst:.2f}"])
        rows.append(["", f"SGST @ {gst.HALF_RATE}%", "", "", "", f"{invoice.sgst:.2f}"])
    else:
        rows.append(["", f"IGST @ {gst.GST_RATE}%", "", "", "", f"{invoice.igst:.2f}"])
    rows.append(["", "Total (INR)", "", "", "", f"{invoice.total:.2f}"])
    doc.grid(
        ["#", "Description", "SAC", "Qty", "Rate (INR)", "Amount (INR)"],
        rows,
        widths=(6, 50, 12, 7, 14, 16),
    )
    if invoice.status == "paid":
        doc.line_text(f"Paid on {_date(invoice.paid_at)}. Thank you.")
    elif invoice.status == "void":
        doc.line_text(f"This invoice is void: {invoice.void_reason}")
    return doc.output_bytes()


def pdf_filename(invoice) -> str:
    return f"{(invoice.number or 'draft').replace('/', '-')}.pdf"


def invoice_pdf_response(invoice) -> HttpResponse:
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf_filename(invoice)}"'
    return response
