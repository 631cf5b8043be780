"""Razorpay: checkout through the official client (mocked at its boundary, so nothing calls
the network) and webhooks, signed with a test secret, shaped as Razorpay documents them
(https://razorpay.com/docs/webhooks/payloads/payments/ and .../refunds/)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client

from accounts.testing import create_clinic
from clinics.billing.services import invoice_checkout, plan_request
from tenants import plans
from tenants.billing.models import Invoice, Payment, PaymentEvent
from tenants.context import tenant_context
from tenants.models import AuditEvent, PlatformAuditEvent, Tenant
from tenants.platform import platform_access

SECRET = "whsec_test_0123456789"
URL = "/api/v1/billing/webhooks/razorpay/"


class FakeOrders:
    count = 0  # order ids are unique across clients, as Razorpay's are

    def __init__(self):
        self.created = []

    def create(self, data):
        self.created.append(data)
        FakeOrders.count += 1
        return {"id": f"order_TEST{FakeOrders.count:04d}", "entity": "order", **data}


class FakeRazorpayClient:
    """Stands in for razorpay.Client: records what would have been sent, sends nothing."""

    instances: list[FakeRazorpayClient] = []

    def __init__(self, auth):
        self.auth = auth
        self.order = FakeOrders()
        FakeRazorpayClient.instances.append(self)


@pytest.fixture(autouse=True)
def razorpay_settings(settings, monkeypatch):
    settings.BILLING_PROVIDER = "razorpay"
    settings.RAZORPAY_KEY_ID = "rzp_test_key"
    settings.RAZORPAY_KEY_SECRET = "rzp_test_secret"
    settings.RAZORPAY_WEBHOOK_SECRET = SECRET
    settings.PLATFORM_GST_STATE = "29"
    FakeRazorpayClient.instances = []
    FakeOrders.count = 0
    monkeypatch.setattr("razorpay.Client", FakeRazorpayClient)


@pytest.fixture
def clinic(live_db):
    return create_clinic("Asha Dental Care", owner_email="alice@asha.example", billing_state="29")


@pytest.fixture
def other(live_db):
    return create_clinic("Bharat Family Clinic", owner_email="charlie@bharat.example")


def checkout(tenant, plan=plans.BASIC) -> Invoice:
    invoice = plan_request(tenant=tenant, actor=tenant.owner, plan=plan).invoice
    invoice_checkout(invoice=invoice, actor=tenant.owner)
    with tenant_context(tenant):
        return Invoice.objects.get(pk=invoice.pk)


def payment_entity(invoice: Invoice, *, pay_id="pay_29QQoUBi66xm2f", amount=None, notes=None):
    return {
        "id": pay_id,
        "entity": "payment",
        "amount": invoice.amount_paise if amount is None else amount,
        "currency": "INR",
        "status": "captured",
        "order_id": invoice.provider_reference,
        "invoice_id": None,
        "international": False,
        "method": "upi",
        "amount_refunded": 0,
        "refund_status": None,
        "captured": True,
        "description": f"Invoice {invoice.number}",
        "card_id": None,
        "bank": None,
        "wallet": None,
        "vpa": "gaurav.kumar@exampleupi",
        "email": "alice@asha.example",
        "contact": "+919876543210",
        "notes": notes if notes is not None else [],
        "fee": 2,
        "tax": 0,
        "error_code": None,
        "error_description": None,
        "created_at": 1567674599,
    }


def event(name: str, **entities) -> dict:
    return {
        "entity": "event",
        "account_id": "acc_BFQ7uQEaa7j2z7",
        "event": name,
        "contains": list(entities),
        "payload": {key: {"entity": value} for key, value in entities.items()},
        "created_at": 1567674606,
    }


def captured(invoice, **kwargs) -> dict:
    return event("payment.captured", payment=payment_entity(invoice, **kwargs))


def refund(invoice, *, pay_id="pay_29QQoUBi66xm2f", refund_id="rfnd_FP8QHiV938haTz") -> dict:
    return event(
        "refund.processed",
        refund={
            "id": refund_id,
            "entity": "refund",
            "amount": invoice.amount_paise,
            "currency": "INR",
            "payment_id": pay_id,
            "notes": [],
            "receipt": None,
            "acquirer_data": {"rrn": "291212012022"},
            "created_at": 1567675000,
            "batch_id": None,
            "status": "processed",
            "speed_processed": "normal",
            "speed_requested": "normal",
        },
        payment=payment_entity(invoice, pay_id=pay_id),
    )


def post(body: dict | bytes, *, event_id="evt_001", secret=SECRET, signature=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sig = signature or hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return Client().post(
        URL,
        data=raw,
        content_type="application/json",
        HTTP_X_RAZORPAY_SIGNATURE=sig,
        HTTP_X_RAZORPAY_EVENT_ID=event_id,
    )


def state(tenant) -> tuple:
    with tenant_context(tenant):
        t = Tenant.objects.get(pk=tenant.pk)
        statuses = tuple(Invoice.objects.order_by("created_at").values_list("status", flat=True))
        return t.plan, statuses, Payment.objects.count(), PaymentEvent.objects.count()


# --- checkout ----------------------------------------------------------------------------------


def test_checkout_creates_one_razorpay_order_for_the_invoice_total(clinic):
    invoice = checkout(clinic)
    [client] = FakeRazorpayClient.instances
    assert client.auth == ("rzp_test_key", "rzp_test_secret")
    [order] = client.order.created
    assert order == {
        "amount": 353882,
        "currency": "INR",
        "receipt": invoice.number,
        "notes": {"invoice_id": str(invoice.pk), "tenant_id": str(clinic.pk)},
    }
    assert (invoice.provider, invoice.provider_reference) == ("razorpay", "order_TEST0001")
    details = invoice_checkout(invoice=invoice, actor=clinic.owner)
    assert details["order_id"] == "order_TEST0001" and details["amount"] == 353882
    assert sum(len(c.order.created) for c in FakeRazorpayClient.instances) == 1, "idempotent"


# --- webhooks ----------------------------------------------------------------------------------


def test_a_valid_payment_pays_the_invoice_and_opens_the_plan(clinic):
    invoice = checkout(clinic)
    response = post(captured(invoice))
    assert response.status_code == 200 and response.json() == {"status": "paid"}
    assert state(clinic) == ("basic", ("paid",), 1, 1)
    with tenant_context(clinic):
        payment = Payment.objects.get()
    assert (payment.reference, payment.amount, payment.provider) == (
        "pay_29QQoUBi66xm2f",
        Decimal("3538.82"),
        "razorpay",
    )


def test_a_bad_signature_is_refused_before_anything_is_read_or_stored(clinic):
    invoice = checkout(clinic)
    response = post(captured(invoice), secret="not-the-secret")
    assert response.status_code == 400 and response.json()["code"] == "bad_signature"
    assert post(b"{not json", signature="0" * 64).json()["code"] == "bad_signature"
    unsigned = Client().post(URL, data=b"{}", content_type="application/json")
    assert unsigned.status_code == 400
    assert state(clinic) == ("trial", ("open",), 0, 0)


def test_a_replayed_event_changes_nothing_more(clinic):
    invoice = checkout(clinic)
    assert post(captured(invoice)).json() == {"status": "paid"}
    assert post(captured(invoice)).json() == {"status": "duplicate"}
    # order.paid carries the same payment: recorded once, whatever the order of arrival.
    order_paid = event(
        "order.paid",
        payment=payment_entity(invoice),
        order={"id": invoice.provider_reference, "entity": "order", "status": "paid"},
    )
    assert post(order_paid, event_id="evt_002").json() == {"status": "already_recorded"}
    assert state(clinic) == ("basic", ("paid",), 1, 2)


def test_an_event_naming_another_clinics_invoice_pays_neither(clinic, other):
    mine = checkout(clinic)
    theirs = checkout(other)
    forged = captured(mine, notes={"invoice_id": str(theirs.pk), "tenant_id": str(other.pk)})
    assert post(forged).json() == {"status": "invoice_mismatch"}
    assert state(clinic) == ("trial", ("open",), 0, 1)
    assert state(other) == ("trial", ("open",), 0, 0)
    with tenant_context(clinic):
        assert AuditEvent.objects.filter(action="billing.webhook_refused").exists()


def test_a_payment_for_one_clinic_leaves_the_other_untouched(clinic, other):
    mine = checkout(clinic)
    checkout(other)
    assert post(captured(mine)).json() == {"status": "paid"}
    assert state(other) == ("trial", ("open",), 0, 0)


def test_an_amount_that_does_not_match_pays_nothing(clinic):
    invoice = checkout(clinic)
    response = post(captured(invoice, amount=299900))
    assert response.status_code == 200 and response.json() == {"status": "amount_mismatch"}
    assert state(clinic) == ("trial", ("open",), 0, 1)


def test_an_unknown_invoice_is_acknowledged_and_changes_nothing(clinic):
    invoice = checkout(clinic)
    payload = captured(invoice)
    payload["payload"]["payment"]["entity"]["order_id"] = "order_SOMEONEELSE"
    assert post(payload).json() == {"status": "unknown_invoice"}
    assert state(clinic) == ("trial", ("open",), 0, 0)
    with platform_access(reason="test: read the audit log"):
        assert PlatformAuditEvent.objects.filter(action="billing.webhook_unmatched").exists()


def test_a_refund_arriving_before_its_capture_keeps_the_plan_closed(clinic):
    invoice = checkout(clinic)
    assert post(refund(invoice), event_id="evt_r1").json() == {"status": "refund_recorded"}
    assert post(captured(invoice), event_id="evt_c1").json() == {
        "status": "refunded_before_capture"
    }
    assert state(clinic) == ("trial", ("open",), 1, 2)


def test_a_refund_after_payment_is_recorded_and_the_paid_invoice_stays(clinic):
    invoice = checkout(clinic)
    post(captured(invoice), event_id="evt_c1")
    assert post(refund(invoice), event_id="evt_r1").json() == {"status": "refund_recorded"}
    assert post(refund(invoice), event_id="evt_r2").json() == {"status": "already_recorded"}
    assert state(clinic) == ("basic", ("paid",), 2, 3)
    with tenant_context(clinic):
        assert AuditEvent.objects.filter(action="invoice.refunded").count() == 1


def test_events_with_nothing_to_do_are_ignored(clinic):
    body = event("payment.authorized", payment={"id": "pay_x", "entity": "payment"})
    assert post(body).json() == {"status": "ignored"}


def test_the_same_event_delivered_twice_at_once_pays_once(clinic):
    invoice = checkout(clinic)
    body = captured(invoice)
    answers = []

    def deliver():
        try:
            answers.append(post(body, event_id="evt_race").json()["status"])
        finally:
            for alias in connections:
                connections[alias].close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["duplicate", "duplicate", "duplicate", "paid"]
    assert state(clinic) == ("basic", ("paid",), 1, 1)
