"""Payment providers behind one interface: invoices never know which one is used.

A provider does three things: start a checkout for an invoice (`create_checkout`, answering
the provider's handle that its webhooks will carry), say what the clinic is shown
(`checkout_details`), and turn a webhook request into a `ProviderEvent` after verifying it
(`verify_webhook`, then `parse_webhook`). Marking invoices paid is not a provider's job:
`clinics.billing.webhooks` does it through `services.payment_record`, the same service the
manual provider's operators use. Adding Stripe means one more class here and one line in
`PROVIDERS`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from core.errors import ApplicationError


class WebhookRejected(ApplicationError):
    """The request is not a genuine event of the provider (400, nothing read or stored)."""

    status_code = 400
    code = "webhook_rejected"


@dataclass(frozen=True)
class ProviderEvent:
    provider: str
    event_id: str
    event_type: str
    # "payment" (money received), "refund" (money returned) or "ignored" (nothing to do).
    kind: str
    order_reference: str = ""
    payment_reference: str = ""
    refund_reference: str = ""
    amount: Decimal | None = None
    currency: str = "INR"
    notes: dict = field(default_factory=dict)
    payload: dict = field(default_factory=dict)


class PaymentProvider(ABC):
    name: str
    label: str

    @abstractmethod
    def create_checkout(self, invoice) -> str:
        """Prepare payment of `invoice` with the provider; answer its handle (or '')."""

    @abstractmethod
    def checkout_details(self, invoice) -> dict:
        """What the clinic needs to pay: instructions, a link or checkout options."""

    def verify_webhook(self, *, body: bytes, headers) -> None:
        raise WebhookRejected(f"{self.label} sends no webhooks.")

    def parse_webhook(self, *, body: bytes, headers) -> ProviderEvent:
        raise WebhookRejected(f"{self.label} sends no webhooks.")


class ManualProvider(PaymentProvider):
    """Bank transfer, cheque or UPI to the platform's account; an operator records the
    payment (admin action or `manage.py record_payment`) once it has arrived."""

    name = "manual"
    label = "Bank transfer / UPI / cheque"

    def create_checkout(self, invoice) -> str:
        return ""

    def checkout_details(self, invoice) -> dict:
        return {
            "provider": self.name,
            "instructions": getattr(settings, "BILLING_MANUAL_INSTRUCTIONS", "")
            or "Pay by bank transfer or UPI to the account on the invoice.",
            "reference": invoice.number,
            "amount": str(invoice.total),
            "currency": invoice.currency,
        }


class RazorpayProvider(PaymentProvider):
    """Razorpay Orders with Standard Checkout; webhooks `payment.captured`, `order.paid`,
    `refund.created` and `refund.processed` (https://razorpay.com/docs/webhooks/)."""

    name = "razorpay"
    label = "Razorpay (cards, UPI, netbanking)"
    PAYMENT_EVENTS = ("payment.captured", "order.paid")
    REFUND_EVENTS = ("refund.created", "refund.processed")

    def __init__(self, client=None):
        self._client = client

    @property
    def key_id(self) -> str:
        return getattr(settings, "RAZORPAY_KEY_ID", "")

    @property
    def client(self):
        if self._client is None:
            # Imported on first use: Razorpay's client (and the requests stack under it) is
            # loaded only by a deployment that takes online payments.
            import razorpay

            secret = getattr(settings, "RAZORPAY_KEY_SECRET", "")
            if not (self.key_id and secret):
                raise ApplicationError(
                    "Online payment is not configured (RAZORPAY_KEY_ID / RAZORPAY_KEY_SECRET).",
                    code="provider_unavailable",
                    status_code=503,
                )
            self._client = razorpay.Client(auth=(self.key_id, secret))
        return self._client

    def create_checkout(self, invoice) -> str:
        try:
            order = self.client.order.create(
                {
                    "amount": invoice.amount_paise,
                    "currency": invoice.currency,
                    "receipt": invoice.number,
                    "notes": {"invoice_id": str(invoice.pk), "tenant_id": str(invoice.tenant_id)},
                }
            )
        except ApplicationError:
            raise
        except Exception as exc:  # the client raises its own errors and requests' ones
            raise ApplicationError(
                "Razorpay could not start the payment; try again in a moment.",
                code="provider_error",
                status_code=502,
            ) from exc
        return order["id"]

    def checkout_details(self, invoice) -> dict:
        return {
            "provider": self.name,
            "key_id": self.key_id,
            "order_id": invoice.provider_reference,
            "amount": invoice.amount_paise,
            "currency": invoice.currency,
            "name": invoice.seller_name,
            "description": f"Invoice {invoice.number}",
            "notes": {"invoice_id": str(invoice.pk), "tenant_id": str(invoice.tenant_id)},
        }

    def verify_webhook(self, *, body: bytes, headers) -> None:
        """HMAC-SHA256 of the raw body with the webhook secret, compared in constant time,
        before a single byte of the body is interpreted."""
        secret = getattr(settings, "RAZORPAY_WEBHOOK_SECRET", "")
        if not secret:
            raise WebhookRejected("Webhooks are not configured.", status_code=503)
        signature = headers.get("X-Razorpay-Signature", "")
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(expected, signature):
            raise WebhookRejected("The webhook signature does not match.", code="bad_signature")

    def parse_webhook(self, *, body: bytes, headers) -> ProviderEvent:
        try:
            data = json.loads(body)
            event_type = str(data["event"])
            payload = data.get("payload") or {}
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("The webhook body is not a Razorpay event.") from exc
        # Razorpay sends the event id in a header; a body hash stands in for it otherwise,
        # which still makes an identical replay a no-op.
        event_id = headers.get("X-Razorpay-Event-Id") or (
            "sha256:" + hashlib.sha256(body).hexdigest()
        )
        payment = _entity(payload, "payment")
        order = _entity(payload, "order")
        if event_type in self.PAYMENT_EVENTS:
            return ProviderEvent(
                provider=self.name,
                event_id=event_id,
                event_type=event_type,
                kind="payment",
                order_reference=str(payment.get("order_id") or order.get("id") or ""),
                payment_reference=str(payment.get("id") or ""),
                amount=_rupees(payment.get("amount")),
                currency=str(payment.get("currency") or ""),
                notes=_notes(payment) or _notes(order),
                payload=data,
            )
        if event_type in self.REFUND_EVENTS:
            refund = _entity(payload, "refund")
            return ProviderEvent(
                provider=self.name,
                event_id=event_id,
                event_type=event_type,
                kind="refund",
                order_reference=str(payment.get("order_id") or ""),
                payment_reference=str(refund.get("payment_id") or payment.get("id") or ""),
                refund_reference=str(refund.get("id") or ""),
                amount=_rupees(refund.get("amount")),
                currency=str(refund.get("currency") or ""),
                notes=_notes(refund) or _notes(payment),
                payload=data,
            )
        return ProviderEvent(self.name, event_id, event_type, "ignored", payload=data)


def _entity(payload: dict, name: str) -> dict:
    wrapper = payload.get(name) if isinstance(payload, dict) else None
    entity = wrapper.get("entity") if isinstance(wrapper, dict) else None
    return entity if isinstance(entity, dict) else {}


def _notes(entity: dict) -> dict:
    notes = entity.get("notes")
    return notes if isinstance(notes, dict) else {}


def _rupees(paise) -> Decimal | None:
    if isinstance(paise, bool) or not isinstance(paise, int):
        return None
    return (Decimal(paise) / 100).quantize(Decimal("0.01"))


PROVIDERS: dict[str, type[PaymentProvider]] = {
    ManualProvider.name: ManualProvider,
    RazorpayProvider.name: RazorpayProvider,
}


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider called `name`, or the one clinics pay with (BILLING_PROVIDER)."""
    name = name or getattr(settings, "BILLING_PROVIDER", "manual")
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise ApplicationError(f"Unknown payment provider {name!r}.", code="invalid") from None
