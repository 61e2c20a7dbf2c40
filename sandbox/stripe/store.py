"""Objects, ids, errors and events of the Stripe emulator."""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction

from sandbox.models import StripeObject
from sandbox.stripe.signing import signature_header

logger = logging.getLogger(__name__)
API_VERSION = "2025-01-27.acacia"


class StripeError(Exception):
    """Rendered as Stripe's error object: ``{"error": {"type", "code", "message", "param"}}``."""

    def __init__(self, status: int, type_: str, message: str, *, code: str | None = None,
                 param: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **({"code": code} if code else {}),
                               **({"param": param} if param else {}), **extra}}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(18).replace('-', 'A').replace('_', 'b')}"


def now() -> int:
    return int(time.time())


def save(obj: dict) -> dict:
    StripeObject.objects.update_or_create(id=obj["id"], defaults={"object": obj["object"], "data": obj})
    return obj


def get(object_id: str, object_type: str, param: str = "id") -> dict:
    row = StripeObject.objects.filter(id=object_id, object=object_type).first()
    if row is None:
        raise StripeError(404, "invalid_request_error", f"No such {object_type.replace('_', ' ')}: '{object_id}'",
                          code="resource_missing", param=param)
    return row.data


def event_emit(event_type: str, obj: dict, *, account: str | None = None) -> dict:
    """Record the event and deliver it, signed, to the configured endpoint once this commits."""
    event = {
        "id": new_id("evt"), "object": "event", "api_version": API_VERSION, "created": now(),
        "data": {"object": obj}, "livemode": False, "pending_webhooks": 1, "type": event_type,
        "request": {"id": None, "idempotency_key": None},
    }
    if account:
        event["account"] = account
    save(event)
    transaction.on_commit(lambda: deliver(event))
    return event


def deliver(event: dict) -> int | None:
    url = settings.STRIPE_WEBHOOK_URL
    if not url:
        return None
    payload = json.dumps(event)
    headers = {"Content-Type": "application/json; charset=utf-8",
               "Stripe-Signature": signature_header(payload, settings.STRIPE_WEBHOOK_SECRET),
               "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
    try:
        response = httpx.post(url, content=payload, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        logger.warning("Webhook %s to %s failed: %s", event["id"], url, exc)
        return None
    return response.status_code
