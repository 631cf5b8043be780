"""Indian GST for the platform's invoices: states, GSTIN validation and the tax split.

The platform sells one service (software subscriptions, SAC 998314) at 18% GST. Within the
platform's own state the tax is split into CGST 9% + SGST 9%; to a clinic in another state it
is IGST 18%. Amounts are Decimal rupees, each tax rounded half-up to the paisa on the taxable
value (the way GST returns compute them), and the total is their exact sum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError

PAISA = Decimal("0.01")
GST_RATE = Decimal("18")
HALF_RATE = GST_RATE / 2
SAC_CODE = "998314"  # IT design and development / hosting services, including SaaS

# GST state codes (the first two digits of every GSTIN).
STATES: dict[str, str] = {
    "01": "Jammu and Kashmir",
    "02": "Himachal Pradesh",
    "03": "Punjab",
    "04": "Chandigarh",
    "05": "Uttarakhand",
    "06": "Haryana",
    "07": "Delhi",
    "08": "Rajasthan",
    "09": "Uttar Pradesh",
    "10": "Bihar",
    "11": "Sikkim",
    "12": "Arunachal Pradesh",
    "13": "Nagaland",
    "14": "Manipur",
    "15": "Mizoram",
    "16": "Tripura",
    "17": "Meghalaya",
    "18": "Assam",
    "19": "West Bengal",
    "20": "Jharkhand",
    "21": "Odisha",
    "22": "Chhattisgarh",
    "23": "Madhya Pradesh",
    "24": "Gujarat",
    "26": "Dadra and Nagar Haveli and Daman and Diu",
    "27": "Maharashtra",
    "29": "Karnataka",
    "30": "Goa",
    "31": "Lakshadweep",
    "32": "Kerala",
    "33": "Tamil Nadu",
    "34": "Puducherry",
    "35": "Andaman and Nicobar Islands",
    "36": "Telangana",
    "37": "Andhra Pradesh",
    "38": "Ladakh",
    "97": "Other Territory",
}
STATE_CHOICES = [(code, f"{name} ({code})") for code, name in STATES.items()]

_GSTIN_SHAPE = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def gstin_check_character(first14: str) -> str:
    """The GSTIN check character: a Luhn mod-36 sum over the first 14 characters."""
    total = 0
    for index, char in enumerate(first14):
        product = _ALPHABET.index(char) * (2 if index % 2 else 1)
        total += product // 36 + product % 36
    return _ALPHABET[(36 - total % 36) % 36]


def validate_gstin(value: str) -> None:
    """A GSTIN: 15 characters of the official shape, a known state, a correct check digit."""
    if not value:
        return
    if not _GSTIN_SHAPE.match(value):
        raise ValidationError(
            "A GSTIN has 15 characters: 2 digits (state), the 10-character PAN, an entity "
            "number, 'Z' and a check character, e.g. 27AAPFU0939F1ZV.",
            code="gstin_shape",
        )
    if value[:2] not in STATES:
        raise ValidationError(f"{value[:2]} is not a GST state code.", code="gstin_state")
    if gstin_check_character(value[:14]) != value[14]:
        raise ValidationError("This GSTIN's check character is wrong.", code="gstin_checksum")


def validate_state(value: str) -> None:
    if value and value not in STATES:
        raise ValidationError(f"{value!r} is not a GST state code.", code="invalid_state")


def money(value) -> Decimal:
    return Decimal(value).quantize(PAISA, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TaxSplit:
    taxable: Decimal
    cgst: Decimal
    sgst: Decimal
    igst: Decimal

    @property
    def tax(self) -> Decimal:
        return self.cgst + self.sgst + self.igst

    @property
    def total(self) -> Decimal:
        return self.taxable + self.tax

    @property
    def intra_state(self) -> bool:
        return self.igst == 0 and self.cgst + self.sgst > 0


def tax_split(taxable: Decimal, *, supplier_state: str, place_of_supply: str) -> TaxSplit:
    """CGST + SGST when the clinic is in the platform's state, IGST otherwise.

    A clinic that has not given its state is treated as out of state (IGST): the platform
    cannot claim an intra-state supply it cannot show.
    """
    taxable = money(taxable)
    if place_of_supply and place_of_supply == supplier_state:
        half = money(taxable * HALF_RATE / 100)
        return TaxSplit(taxable, half, half, Decimal("0.00"))
    return TaxSplit(taxable, Decimal("0.00"), Decimal("0.00"), money(taxable * GST_RATE / 100))


def financial_year(day) -> str:
    """India's financial year runs April to March: 2026-04-01 → '2026-27'."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"
