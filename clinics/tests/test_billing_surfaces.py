"""Billing through every surface: the API, the plan page, the admin, the commands, and the
invoice PDF (read back with pypdf). Every path that could give a clinic a paid plan is tried:
only a paid invoice, an operator's decision or an Enterprise agreement does."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from accounts.testing import add_member, bearer, create_clinic, create_user, session_login
from clinics.billing.services import plan_request
from clinics.tests.admin_helpers import log_in, staff
from tenants import plans
from tenants.billing.models import Invoice
from tenants.context import tenant_context
from tenants.models import PlanChange, Tenant


@pytest.fixture(autouse=True)
def _billing_settings(settings):
    settings.PLATFORM_GST_STATE = "29"
    settings.PLATFORM_LEGAL_NAME = "Clinic SaaS Pvt Ltd"
    settings.PLATFORM_GSTIN = "29AAGCC1234D1Z2"
    settings.BILLING_PROVIDER = "manual"


@pytest.fixture
def clinic(live_db):
    return create_clinic("Asha Dental Care", owner_email="alice@asha.example", billing_state="29")


@pytest.fixture
def other(live_db):
    return create_clinic(
        "Bharat Family Clinic", owner_email="charlie@bharat.example", billing_state="27"
    )


def reload(tenant) -> Tenant:
    with tenant_context(tenant):
        return Tenant.objects.get(pk=tenant.pk)


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# --- API -------------------------------------------------------------------------------------


def test_no_api_request_gives_a_paid_plan_for_free(api, clinic):
    headers = bearer(clinic.owner, clinic)
    for plan in ("basic", "premium", "enterprise"):
        api.post("/api/v1/tenants/plan", {"plan": plan}, format="json", **headers)
    enterprise = api.post("/api/v1/tenants/plan", {"plan": "enterprise"}, format="json", **headers)
    assert enterprise.status_code == 403 and enterprise.json()["code"] == "enterprise_by_agreement"
    patch = api.patch(
        "/api/v1/tenants/me",
        {"subscription_plan": "enterprise", "max_doctors": 1000},
        format="json",
        **headers,
    )
    assert patch.status_code == 200
    limits = api.get("/api/v1/tenants/limits", **headers).json()
    assert (limits["plan"], limits["doctors"]["max"], limits["patients"]["max"]) == (
        "trial",
        5,
        1000,
    )


def test_invoices_api_lists_reads_and_prints_only_the_clinics_own(api, clinic, other):
    mine = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    theirs = plan_request(tenant=other, actor=other.owner, plan=plans.BASIC).invoice
    headers = bearer(clinic.owner, clinic)
    listing = api.get("/api/v1/billing/invoices/", **headers).json()
    assert [row["number"] for row in listing["results"]] == [mine.number]
    detail = api.get(f"/api/v1/billing/invoices/{mine.pk}/", **headers).json()
    assert (detail["total"], detail["cgst"], detail["gst_type"]) == (
        "3538.82",
        "269.91",
        "cgst_sgst",
    )
    assert detail["lines"][0]["amount"] == "2999.00"
    for suffix in ("", "pdf/"):
        response = api.get(f"/api/v1/billing/invoices/{theirs.pk}/{suffix}", **headers)
        assert response.status_code == 404
    pdf = api.get(f"/api/v1/billing/invoices/{mine.pk}/pdf/", **headers)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_a_doctor_cannot_read_the_clinics_invoices(api, clinic):
    bob = add_member(clinic, email="bob@asha.example", role="doctor").user
    assert api.get("/api/v1/billing/invoices/", **bearer(bob, clinic)).status_code == 403


def test_the_owner_starts_a_manual_checkout_even_when_read_only(api, live_db):
    lapsed = create_clinic(trial_ends_at=timezone.now() - timedelta(days=1), status="expired")
    headers = bearer(lapsed.owner, lapsed)
    body = api.post("/api/v1/tenants/plan", {"plan": "basic"}, format="json", **headers).json()
    response = api.post(f"/api/v1/billing/invoices/{body['invoice']['id']}/checkout/", **headers)
    assert response.status_code == 200, response.json()
    assert response.json()["details"]["reference"] == body["invoice"]["number"]
    assert reload(lapsed).plan == "trial"


# --- PDF: intra- and inter-state GST -----------------------------------------------------------


def test_the_pdf_of_an_intra_state_invoice_shows_cgst_and_sgst(clinic):
    from clinics.billing.documents import invoice_pdf

    invoice = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    text = pdf_text(invoice_pdf(invoice))
    for expected in (invoice.number, "Asha Dental Care", "CGST @ 9", "SGST @ 9", "269.91"):
        assert expected in text
    assert "3538.82" in text and "IGST" not in text


def test_the_pdf_of_an_inter_state_invoice_shows_igst(other):
    from clinics.billing.documents import invoice_pdf

    invoice = plan_request(tenant=other, actor=other.owner, plan=plans.PREMIUM).invoice
    text = pdf_text(invoice_pdf(invoice))
    for expected in (invoice.number, "IGST @ 18", "1799.82", "11798.82", "Maharashtra"):
        assert expected in text
    assert "CGST" not in text and "SGST" not in text


# --- pages -------------------------------------------------------------------------------------


def test_the_plan_page_shows_the_next_invoice_every_invoice_and_pay_now(client, clinic):
    invoice = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    session_login(client, clinic.owner, clinic)
    page = client.get("/clinic/plan/").content.decode()
    assert "Next invoice" in page and invoice.number in page and "Pay now" in page
    assert f"/clinic/plan/invoices/{invoice.pk}/pdf/" in page
    pdf = client.get(f"/clinic/plan/invoices/{invoice.pk}/pdf/")
    assert pdf.status_code == 200 and invoice.number in pdf_text(pdf.content)
    pay = client.post(f"/clinic/plan/invoices/{invoice.pk}/pay/")
    assert pay.status_code == 200 and invoice.number in pay.content.decode()
    assert reload(clinic).plan == "trial"


def test_another_clinics_invoice_pdf_is_not_found(client, clinic, other):
    theirs = plan_request(tenant=other, actor=other.owner, plan=plans.BASIC).invoice
    session_login(client, clinic.owner, clinic)
    assert client.get(f"/clinic/plan/invoices/{theirs.pk}/pdf/").status_code == 404
    assert client.post(f"/clinic/plan/invoices/{theirs.pk}/pay/").status_code == 404


def test_the_page_cannot_choose_enterprise(client, clinic):
    session_login(client, clinic.owner, clinic)
    response = client.post("/clinic/plan/", {"plan": "enterprise"})
    assert response.status_code == 400
    assert reload(clinic).plan == "trial"


# --- admin -------------------------------------------------------------------------------------


@pytest.fixture
def ops(live_db):
    operator = create_user("ops@platform.example", is_staff=True, is_superuser=True)
    return log_in(Client(), operator)


def test_operators_record_a_payment_in_the_admin_and_the_plan_opens(ops, clinic, other):
    invoice = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    plan_request(tenant=other, actor=other.owner, plan=plans.BASIC)
    listing = ops.get("/admin/tenants/invoice/").content.decode()
    assert "Asha Dental Care" in listing and "Bharat Family Clinic" in listing
    data = {
        "action": "record_payment",
        "_selected_action": [str(invoice.pk)],
        "apply": "1",
        "method": "upi",
        "reference": "UPI-4471",
        "amount": "3538.82",
        "received_on": "2026-12-01",
        "note": "",
    }
    assert ops.post("/admin/tenants/invoice/", data).status_code == 302
    assert reload(clinic).plan == "basic" and reload(other).plan == "trial"


def test_operators_void_an_unpaid_invoice_in_the_admin(ops, clinic):
    invoice = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    data = {
        "action": "void",
        "_selected_action": [str(invoice.pk)],
        "apply": "1",
        "reason": "Issued in error",
    }
    assert ops.post("/admin/tenants/invoice/", data).status_code == 302
    with tenant_context(clinic):
        assert Invoice.objects.get().status == "void"


def test_owners_see_their_invoices_in_the_admin_read_only(clinic, other):
    mine = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    theirs = plan_request(tenant=other, actor=other.owner, plan=plans.BASIC).invoice
    owner = log_in(Client(), staff(clinic.owner), clinic)
    listing = owner.get("/admin/tenants/invoice/").content.decode()
    assert mine.number in listing and theirs.number not in listing
    data = {
        "action": "record_payment",
        "_selected_action": [str(mine.pk)],
        "apply": "1",
        "method": "upi",
        "reference": "self-paid",
        "amount": "3538.82",
        "received_on": "2026-12-01",
    }
    owner.post("/admin/tenants/invoice/", data)
    assert reload(clinic).plan == "trial"
    assert owner.get(f"/admin/tenants/invoice/{theirs.pk}/change/").status_code in (302, 404)


def test_the_admin_sets_enterprise_terms(ops, clinic):
    data = {
        "action": "set_enterprise_terms",
        "_selected_action": [str(clinic.pk)],
        "apply": "1",
        "max_doctors": "250",
        "max_patients": "",
        "monthly_price_inr": "45000",
        "reason": "Agreement 2026-07",
    }
    assert ops.post("/admin/tenants/tenant/", data).status_code == 302
    tenant = reload(clinic)
    assert (tenant.plan, tenant.max_doctors, tenant.max_patients) == ("enterprise", 250, None)
    assert tenant.custom_monthly_price_inr == Decimal("45000.00")


# --- commands ----------------------------------------------------------------------------------


def test_record_payment_command_pays_by_invoice_number(clinic):
    invoice = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    with pytest.raises(CommandError, match="amount_mismatch"):
        run(
            "record_payment",
            invoice.number,
            amount="100",
            method="cheque",
            reference="004512",
        )
    assert reload(clinic).plan == "trial"
    out = run(
        "record_payment", invoice.number, amount="3538.82", method="cheque", reference="004512"
    )
    assert "paid" in out and reload(clinic).plan == "basic"


def test_set_enterprise_command_and_set_plan_are_operator_decisions(clinic):
    run("set_enterprise", clinic.code, max_doctors="50", price="20000", reason="Agreement 7")
    tenant = reload(clinic)
    assert (tenant.plan, tenant.max_doctors, tenant.max_patients) == ("enterprise", 50, None)
    run("set_plan", clinic.code, "premium", reason="Moved at the clinic's request")
    tenant = reload(clinic)
    assert (tenant.plan, tenant.max_doctors, tenant.custom_monthly_price_inr) == (
        "premium",
        100,
        None,
    )
    with tenant_context(clinic):
        reasons = list(PlanChange.objects.order_by("changed_at").values_list("reason", flat=True))
    assert reasons == ["Agreement 7", "Moved at the clinic's request"]


def test_billing_run_command_and_tenants_json_show_the_billing_state(clinic, other):
    run("set_plan", clinic.code, "basic", reason="test")
    out = run("billing_run")
    assert "1 renewal invoice(s) opened." in out
    rows = {row["code"]: row for row in json.loads(run("tenants", json=True))}
    mine, theirs = rows[clinic.code]["billing"], rows[other.code]["billing"]
    assert mine["unpaid_invoices"] == 1 and mine["unpaid_amount"] == "3538.82"
    assert mine["monthly_price_inr"] == "2999" and mine["paid_until"] is not None
    assert theirs["unpaid_invoices"] == 0 and theirs["paid_until"] is None
    assert mine["overdue"] is False
    later = (timezone.localdate() + timedelta(days=30)).isoformat()
    assert f"read-only (unpaid): {clinic.code}" in run("billing_run", date=later)
    rows = {row["code"]: row for row in json.loads(run("tenants", json=True))}
    assert rows[clinic.code]["billing"]["overdue"] is True
    assert rows[clinic.code]["status"] == "past_due"


def test_the_owner_sets_the_clinics_gstin_and_state_through_the_api(api, clinic):
    headers = bearer(clinic.owner, clinic)
    response = api.patch(
        "/api/v1/tenants/me",
        {"gstin": "27aapfu0939f1zv", "billing_state": "27"},
        format="json",
        **headers,
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["gstin"], response.json()["billing_state"]) == (
        "27AAPFU0939F1ZV",
        "27",
    )
    bad = api.patch("/api/v1/tenants/me", {"gstin": "27AAPFU0939F1ZA"}, format="json", **headers)
    assert bad.status_code == 400 and "gstin" in bad.json()["errors"]
    invoice = plan_request(tenant=reload(clinic), actor=clinic.owner, plan=plans.BASIC).invoice
    assert (invoice.bill_to_gstin, invoice.igst) == ("27AAPFU0939F1ZV", Decimal("539.82"))


def test_a_past_due_clinic_is_read_only_and_told_to_pay(api, client, clinic):
    with tenant_context(clinic):
        Tenant.objects.filter(pk=clinic.pk).update(status=Tenant.Status.PAST_DUE)
    response = api.post(
        "/api/v1/tenants/offices", {"name": "Annexe"}, format="json", **bearer(clinic.owner, clinic)
    )
    assert response.status_code == 402 and response.json()["status"] == "past_due"
    session_login(client, clinic.owner, clinic)
    page = client.get("/clinic/").content.decode()
    assert "An invoice is unpaid past its due date" in page


def test_the_settings_page_takes_the_gstin_and_state_and_refuses_a_wrong_gstin(client, clinic):
    session_login(client, clinic.owner, clinic)
    details = {"clinic-name": "Asha Dental Care", "clinic-address": "Pune"}
    response = client.post(
        "/clinic/settings/",
        {**details, "clinic-gstin": "27aapfu0939f1zv", "clinic-billing_state": "27"},
    )
    assert response["Location"] == "/clinic/settings/"
    tenant = reload(clinic)
    assert (tenant.gstin, tenant.billing_state) == ("27AAPFU0939F1ZV", "27")
    response = client.post("/clinic/settings/", {**details, "clinic-gstin": "27AAPFU0939F1ZA"})
    assert response.status_code == 400 and "check character is wrong" in response.content.decode()
    assert reload(clinic).gstin == "27AAPFU0939F1ZV"
