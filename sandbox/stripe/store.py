"""Objects, ids, errors, lists, events and the clock of the Stripe emulator.

The clock: every part of the emulator reads the time from :func:`now`, which is
the real time plus an offset kept in the database (the ``StripeObject`` row
``clock_emulator``), so scripts and browser tests move time forward without
sleeping — ``POST /sandbox/stripe/clock`` with ``{"advance_seconds": 172800}``
makes two days pass (pending funds become available, sessions expire, payouts
arrive). Webhook signatures keep the real time: the receiver checks them
against its own clock."""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from sandbox.models import StripeObject
from sandbox.stripe.signing import signature_header

logger = logging.getLogger(__name__)
API_VERSION = "2025-01-27.acacia"


class StripeError(Exception):
    """Rendered as Stripe's error object: ``{"error": {"type", "code", "message", "param"}}``.

    With ``keep=True`` what the request did before the error is committed all the same (a
    declined card leaves a failed payment intent and its event behind); see :func:`atomic`."""

    def __init__(self, status: int, type_: str, message: str, *, code: str | None = None,
                 param: str | None = None, keep: bool = False, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.keep = keep
        self.body = {"error": {"type": type_, "message": message, **({"code": code} if code else {}),
                               **({"param": param} if param else {}), **extra}}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(18).replace('-', 'A').replace('_', 'b')}"


def atomic(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a transaction: an error rolls it back, except a ``keep`` error,
    which is raised once what came before it is committed (and its events delivered)."""
    kept = None
    with transaction.atomic():
        try:
            return fn(*args, **kwargs)
        except StripeError as exc:
            if not exc.keep:
                raise
            kept = exc
    raise kept


# --- the clock ------------------------------------------------------------------

CLOCK_ID = "clock_emulator"


def clock_offset() -> int:
    data = StripeObject.objects.filter(id=CLOCK_ID).values_list("data", flat=True).first()
    return int((data or {}).get("offset", 0))


def now() -> int:
    """The emulator's "now": the real time, moved forward by the test clock."""
    return int(time.time()) + clock_offset()


def clock_advance(seconds: int) -> int:
    with transaction.atomic():
        row, _ = StripeObject.objects.select_for_update().get_or_create(
            id=CLOCK_ID, defaults={"object": "emulator_clock", "data": {"id": CLOCK_ID, "offset": 0}})
        row.data = {"id": CLOCK_ID, "object": "emulator_clock", "offset": int(row.data.get("offset", 0)) + seconds}
        row.save(update_fields=["data"])
    return now()


def clock_reset() -> int:
    StripeObject.objects.filter(id=CLOCK_ID).delete()
    return now()


# --- objects --------------------------------------------------------------------


def save(obj: dict) -> dict:
    """Store ``obj``. The row's ``created`` is the wall clock, not Django's ``timezone.now``: lists
    keep insertion order even while a test has patched the application's time."""
    from datetime import UTC, datetime

    StripeObject.objects.update_or_create(
        id=obj["id"], defaults={"object": obj["object"], "data": obj},
        create_defaults={"object": obj["object"], "data": obj,
                         "created": datetime.fromtimestamp(time.time(), tz=UTC)})
    return obj


def get(object_id: str, object_type: str, param: str = "id", *, lock: bool = False) -> dict:
    rows = StripeObject.objects.filter(id=object_id, object=object_type)
    row = (rows.select_for_update() if lock else rows).first()
    if row is None:
        raise StripeError(404, "invalid_request_error", f"No such {object_type.replace('_', ' ')}: '{object_id}'",
                          code="resource_missing", param=param)
    return row.data


def private_strip(obj: dict) -> dict:
    """What the API shows of a stored object: without the emulator's own bookkeeping (``account_id``)."""
    return {k: v for k, v in obj.items() if k != "account_id"}


def list_page(rows, params: dict, url: str, present=private_strip) -> dict:
    """Stripe's list object over ``rows`` (a ``StripeObject`` queryset), newest first, with
    ``limit`` (1–100, default 10) and ``starting_after`` (an object id) as Stripe pages them."""
    raw_limit = params.get("limit", 10)
    try:
        limit = int(raw_limit)
    except (TypeError, ValueError):
        limit = 0
    if not 1 <= limit <= 100:
        raise StripeError(400, "invalid_request_error", f"Invalid integer: {raw_limit}", param="limit")
    if params.get("starting_after"):
        anchor = StripeObject.objects.filter(id=params["starting_after"]).values_list("created", "id").first()
        if anchor is None:
            raise StripeError(404, "invalid_request_error", f"No such object: '{params['starting_after']}'",
                              code="resource_missing", param="starting_after")
        rows = rows.filter(Q(created__lt=anchor[0]) | Q(created=anchor[0], id__lt=anchor[1]))
    page = list(rows.order_by("-created", "-id")[:limit + 1])
    return {"object": "list", "data": [present(row.data) for row in page[:limit]],
            "has_more": len(page) > limit, "url": url}


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
