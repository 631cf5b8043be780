"""Clinical demo records for the demo clinics (see tenants.demo)."""

from __future__ import annotations

from clinical.models import Patient
from tenants.context import tenant_context

DEMO_PATIENTS = {
    "dental": [
        ("Arjun", "Menon", "9845012345"),
        ("Kavya", "Menon", "9845012345"),
        ("Farah", "Khan", "9900112233"),
        ("Suresh", "Gowda", "9886543210"),
    ],
    "general": [
        ("Lalitha", "Raman", "9444012345"),
        ("Karthik", "Raman", "9444012345"),
        ("Anand", "Varghese", "9840098400"),
    ],
}


def seed_clinic(*, tenant, kind: str) -> None:
    with tenant_context(tenant):
        for first_name, last_name, mobile in DEMO_PATIENTS[kind]:
            Patient.objects.create(first_name=first_name, last_name=last_name, mobile=mobile)
