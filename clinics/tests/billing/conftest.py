"""The billing tests' fixtures: the platform's GST settings, two clinics committed for the
platform's own connection (`live_db`), and a paid invoice."""

from __future__ import annotations

import pytest

from accounts.testing import create_clinic
from clinics.billing.services import (
    plan_request,
)
from clinics.tests.billing.helpers import pay
from tenants import plans
from tenants.billing.models import Invoice
from tenants.context import tenant_context


@pytest.fixture(autouse=True)
def _platform_in_karnataka(settings):
    settings.PLATFORM_GST_STATE = "29"
    settings.PLATFORM_LEGAL_NAME = "Clinic SaaS Pvt Ltd"
    settings.BILLING_DUE_DAYS = 7
    settings.BILLING_GRACE_DAYS = 7
    settings.BILLING_RENEWAL_DAYS = 7


@pytest.fixture
def clinic(live_db):
    return create_clinic("Asha Dental Care", owner_email="alice@asha.example", billing_state="29")


@pytest.fixture
def other(live_db):
    return create_clinic(
        "Bharat Family Clinic", owner_email="charlie@bharat.example", billing_state="27"
    )


@pytest.fixture
def paid_invoice(clinic):
    result = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC)
    pay(result.invoice)
    with tenant_context(clinic):
        return Invoice.objects.get(pk=result.invoice.pk)
