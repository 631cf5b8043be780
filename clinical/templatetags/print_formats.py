"""Template filters for the print pages: Indian dates and rupees, the same text as the PDF's
(clinical/formats.py)."""

from __future__ import annotations

from django import template

from clinical import formats

register = template.Library()


@register.filter
def dmy(value) -> str:
    """dd/mm/yyyy."""
    return formats.format_date(value)


@register.filter
def dmy_hm(value) -> str:
    """dd/mm/yyyy HH:MM in the clinic's time zone."""
    return formats.format_datetime(value)


@register.filter
def inr(value) -> str:
    """₹ with lakh grouping: ₹1,23,456.00."""
    return formats.format_inr(value)


# The families of the bundled fonts, as the HTML print pages name them in @font-face.
PRINT_SCRIPTS = (
    "Devanagari",
    "Bengali",
    "Gurmukhi",
    "Gujarati",
    "Oriya",
    "Tamil",
    "Telugu",
    "Kannada",
    "Malayalam",
)


@register.inclusion_tag("clinical/includes/print_head.html")
def print_head():
    """The viewport, the bundled fonts and the shared screen and print styles of a print page."""
    return {"print_scripts": PRINT_SCRIPTS}
