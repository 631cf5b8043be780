"""Indian formats for prints: dates as dd/mm/yyyy and rupees with lakh grouping (₹1,23,456.50).

Used by the PDF layouts and, through the `print_formats` template filters, by the HTML print
pages, so both show the same text.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import timezone


def group_indian(digits: str) -> str:
    """'12345678' -> '1,23,45,678': the last three digits, then groups of two."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join(groups) + "," + tail


def format_inr(amount, *, symbol: bool = True) -> str:
    """An amount in rupees: ₹1,23,456.50 (paise always shown); '' for None or non-numbers."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return ""
    sign = "-" if value < 0 else ""
    rupees, paise = f"{abs(value):.2f}".split(".")
    return f"{sign}{'₹' if symbol else ''}{group_indian(rupees)}.{paise}"


def format_date(value) -> str:
    """dd/mm/yyyy (en-IN); a datetime is shown in the clinic's time zone."""
    if not value:
        return ""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%d/%m/%Y")
    return value.strftime("%d/%m/%Y")


def format_datetime(value) -> str:
    """dd/mm/yyyy HH:MM in the clinic's time zone."""
    if not value:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime("%d/%m/%Y %H:%M")
