from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.management.base import CommandError
from django.utils import timezone

from clinics.billing.services import payment_record
from tenants.billing.models import Invoice, Payment
from tenants.management.ops import OpsCommand
from tenants.platform import platform_access


class Command(OpsCommand):
    help = (
        "Record a payment received outside the platform (bank transfer, UPI, cheque) for an "
        "invoice; the invoice becomes paid and the clinic gets its plan at once. Example: "
        "record_payment INV/2026-27/000123 --amount 3538.82 --method upi --reference 6123..."
    )

    def add_arguments(self, parser):
        parser.add_argument("number", help="The invoice number, e.g. INV/2026-27/000123.")
        parser.add_argument("--amount", required=True, help="Rupees; must equal the total.")
        parser.add_argument(
            "--method",
            required=True,
            choices=[m for m in Payment.Method.values if m != Payment.Method.ONLINE],
        )
        parser.add_argument("--reference", required=True, help="UTR, cheque number or UPI ref.")
        parser.add_argument("--date", help="When it was received (YYYY-MM-DD); default today.")
        parser.add_argument("--note", default="")

    def handle(self, *args, number, amount, method, reference, date, note, **options):
        try:
            amount = Decimal(amount)
            received = datetime.date.fromisoformat(date) if date else timezone.localdate()
        except (InvalidOperation, ValueError) as exc:
            raise CommandError(f"Invalid amount or date: {exc}") from None
        with platform_access(
            reason=f"manage.py record_payment: find invoice {number}",
            action="platform.command",
            details=self.who(),
        ):
            invoice = Invoice.objects.filter(number=number).first()
        if invoice is None:
            raise CommandError(f"No invoice has the number {number!r}.")
        self.run_service(
            payment_record,
            invoice=invoice,
            actor=None,
            provider="manual",
            method=method,
            reference=reference,
            amount=amount,
            received_at=timezone.make_aware(datetime.datetime.combine(received, datetime.time())),
            note=note or "manage.py record_payment",
        )
        self.stdout.write(self.style.SUCCESS(f"{number}: paid ({method} {reference})."))
