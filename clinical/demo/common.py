"""What the demo modules share: the starter-catalogue medicines each kind of clinic
prescribes, and the days the demo doctors work."""

from __future__ import annotations

import datetime

from django.utils import timezone

from clinical.models import Medicine
from clinical.selectors import medicine_catalogue

# (name, dosage form, strength): entries of the starter catalogue the demo prescribes.
DEMO_MEDICINES = {
    "dental": [
        ("Amoxicillin", "capsule", "500 mg"),
        ("Metronidazole", "tablet", "400 mg"),
        ("Ibuprofen", "tablet", "400 mg"),
        ("Chlorhexidine mouthwash", "mouthwash", "0.2% w/v"),
    ],
    "general": [
        ("Paracetamol", "tablet", "650 mg"),
        ("Cetirizine", "tablet", "10 mg"),
        ("Azithromycin", "tablet", "500 mg"),
        ("Oral rehydration salts", "powder", "20.5 g/sachet"),
    ],
}


def demo_medicine(name: str, form: str, strength: str):
    """A catalogue entry visible to the clinic (shared or its own); the clinic's own copy
    when the shared catalogue is not loaded."""
    found = medicine_catalogue().filter(name=name, dosage_form=form, strength=strength).first()
    if found is not None:
        return found
    return Medicine.objects.create(
        name=name, generic_name=name, dosage_form=form, strength=strength
    )


def clinic_days(count: int) -> list[datetime.date]:
    """The next `count` days after today on which the demo doctors work (Monday-Saturday)."""
    days, day = [], timezone.localdate()
    while len(days) < count:
        day += datetime.timedelta(days=1)
        if day.weekday() < 6:
            days.append(day)
    return days
