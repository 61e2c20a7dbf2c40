"""Webhook signatures exactly as Stripe makes them: ``Stripe-Signature: t=<unix time>,v1=<hex>``
where the hex is HMAC-SHA256 of ``"{t}.{payload}"`` with the endpoint's signing secret."""

from __future__ import annotations

import hashlib
import hmac
import time


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
