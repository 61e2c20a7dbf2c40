"""``POST /webhooks/stripe`` on the platform host: one endpoint for the platform's
and the connected accounts' events.

Each event is verified, recorded once (its id is unique) and routed to its
tenant's schema — by the metadata we put on Checkout Sessions and payments, or
by the connected account it concerns. Recording and handling share one
transaction: if handling fails we answer 500, nothing is kept, and Stripe's
retry starts afresh. Handlers are written so that a late, repeated or
out-of-order event leaves the same result."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_tenants.utils import get_public_schema_name, tenant_context

from billing import stripe_api
from core.models import WebhookEvent

logger = logging.getLogger(__name__)


def _checkout_completed(obj: dict, event: dict) -> None:
    from billing.payments import payment_paid

    payment_paid(session=obj)


def _checkout_expired(obj: dict, event: dict) -> None:
    from billing.payments import payment_expired

    payment_expired(session=obj)


def _payment_failed(obj: dict, event: dict) -> None:
    from billing.payments import payment_failed

    payment_failed(intent=obj)


def _charge_refunded(obj: dict, event: dict) -> None:
    from billing.refunds import refunds_from_charge

    refunds_from_charge(charge=obj)


def _refund_updated(obj: dict, event: dict) -> None:
    from billing.refunds import refund_update

    refund_update(refund_data=obj)


def _account_updated(obj: dict, event: dict) -> None:
    """The account's state is read back from Stripe, so events arriving out of order cannot
    leave an older state behind; the event's own copy serves when Stripe cannot be reached."""
    from billing.onboarding import account_state_apply

    try:
        current = stripe_api.account_get(obj["id"])
    except stripe_api.ProviderError:
        account_state_apply(account_data=obj, event_created=int(event.get("created") or 0))
        return
    account_state_apply(account_data=current, event_created=max(int(event.get("created") or 0), _now()))


def _payout_changed(obj: dict, event: dict) -> None:
    from billing.payouts import payout_apply

    payout_apply(payout=obj)


def _now() -> int:
    import time

    return int(time.time())


HANDLERS: dict[str, Callable[[dict, dict], None]] = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _checkout_completed,
    "checkout.session.expired": _checkout_expired,
    "payment_intent.payment_failed": _payment_failed,
    "charge.refunded": _charge_refunded,
    "charge.refund.updated": _refund_updated,
    "refund.updated": _refund_updated,
    "refund.failed": _refund_updated,
    "account.updated": _account_updated,
    "payout.created": _payout_changed,
    "payout.updated": _payout_changed,
    "payout.paid": _payout_changed,
    "payout.failed": _payout_changed,
    "payout.canceled": _payout_changed,
}


def event_tenant(event: dict):
    """The tenant an event belongs to, or None."""
    from tenants.models import Tenant

    obj = (event.get("data") or {}).get("object") or {}
    schema = (obj.get("metadata") or {}).get("schema") if isinstance(obj.get("metadata"), dict) else None
    tenants = Tenant.objects.exclude(schema_name=get_public_schema_name())
    account = event.get("account") or (obj.get("id") if obj.get("object") == "account" else None)
    if account:
        # A connected account's event belongs to that account's tenant, whatever its metadata says.
        tenant = tenants.filter(stripe_account_id=account).first()
        return tenant if tenant is not None and (not schema or schema == tenant.schema_name) else None
    if schema:
        return tenants.filter(schema_name=schema).first()
    return None


def stripe_event_receive(*, event: dict, payload: str) -> dict:
    handler = HANDLERS.get(event["type"])
    tenant = event_tenant(event)
    outcome = (WebhookEvent.Outcome.IGNORED if handler is None else
               WebhookEvent.Outcome.UNROUTED if tenant is None else WebhookEvent.Outcome.HANDLED)
    created = datetime.fromtimestamp(event["created"], tz=UTC) if isinstance(event.get("created"), int) else None
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(
                    provider="stripe", event_id=event["id"], type=str(event["type"])[:100],
                    account=str(event.get("account") or "")[:255],
                    schema_name=tenant.schema_name if tenant else "", payload=payload, outcome=outcome,
                    created=created)
        except IntegrityError:
            logger.info("Stripe event %s received again: nothing to do", event["id"])
            return {"received": True, "duplicate": True}
        if outcome != WebhookEvent.Outcome.HANDLED:
            logger.info("Stripe event %s (%s) recorded, not handled: %s", event["id"], event["type"], outcome)
            return {"received": True, "handled": False}
        with tenant_context(tenant):
            handler(event["data"]["object"], event)
    return {"received": True, "handled": True}


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    try:
        event = stripe_api.webhook_event_verify(payload=request.body,
                                                signature=request.headers.get("Stripe-Signature", ""))
    except stripe_api.SignatureError as exc:
        logger.warning("Rejected a Stripe webhook: %s", exc)
        return JsonResponse({"detail": f"Invalid Stripe signature: {exc}"}, status=400)
    return JsonResponse(stripe_event_receive(event=event, payload=request.body.decode()))
