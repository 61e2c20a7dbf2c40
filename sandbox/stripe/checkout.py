"""Checkout Sessions of the Stripe emulator: create, retrieve, expire, and pay with
Stripe's documented test cards (through the hosted page or the script endpoint)."""

from __future__ import annotations

from sandbox.stripe import money, store
from sandbox.stripe.store import StripeError

CARD_OK = "4242424242424242"
DECLINES = {
    "4000000000000002": ("card_declined", "generic_decline", "Your card was declined."),
    "4000000000009995": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
}
MIN_EXPIRY, MAX_EXPIRY = 30 * 60, 24 * 3600


def _int(params: dict, name: str, param: str | None = None) -> int:
    value = params.get(name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StripeError(400, "invalid_request_error", f"Invalid integer: {value}", param=param or name) from None
    if number < 0:
        raise StripeError(400, "invalid_request_error", f"Invalid integer: {value}", param=param or name)
    return number


def session_create(params: dict, hosted_url: str) -> dict:
    if params.get("mode") != "payment":
        raise StripeError(400, "invalid_request_error", "Only mode=payment is supported here.", param="mode")
    items = params.get("line_items") or []
    if not items:
        raise StripeError(400, "invalid_request_error", "Missing required param: line_items.",
                          code="parameter_missing", param="line_items")
    currency, total = None, 0
    for i, item in enumerate(items):
        price = item.get("price_data") or {}
        item_currency = (price.get("currency") or "").lower()
        if not item_currency:
            raise StripeError(400, "invalid_request_error", "Missing required param: currency.",
                              code="parameter_missing", param=f"line_items[{i}][price_data][currency]")
        if currency and item_currency != currency:
            raise StripeError(400, "invalid_request_error", "All line items must share one currency.")
        currency = item_currency
        total += _int(price, "unit_amount", f"line_items[{i}][price_data][unit_amount]") * _int(
            item, "quantity", f"line_items[{i}][quantity]")
    for name in ("success_url", "cancel_url"):
        if not params.get(name):
            raise StripeError(400, "invalid_request_error", f"Missing required param: {name}.",
                              code="parameter_missing", param=name)
    now = store.now()
    expires_at = _int(params, "expires_at") if params.get("expires_at") else now + MAX_EXPIRY
    if not now + MIN_EXPIRY - 60 <= expires_at <= now + MAX_EXPIRY:
        raise StripeError(400, "invalid_request_error",
                          "The `expires_at` timestamp must be between 30 minutes and 24 hours from now.",
                          param="expires_at")
    intent_data = params.get("payment_intent_data") or {}
    destination = (intent_data.get("transfer_data") or {}).get("destination")
    if destination:
        store.get(destination, "account", param="payment_intent_data[transfer_data][destination]")
    session_id = store.new_id("cs_test")
    session = {
        "id": session_id, "object": "checkout.session", "created": now, "expires_at": expires_at,
        "mode": "payment", "status": "open", "payment_status": "unpaid", "livemode": False,
        "amount_subtotal": total, "amount_total": total, "currency": currency,
        "customer_email": params.get("customer_email"), "client_reference_id": params.get("client_reference_id"),
        "metadata": params.get("metadata") or {}, "payment_intent": None,
        "success_url": params["success_url"], "cancel_url": params["cancel_url"],
        "url": hosted_url.replace("SESSION_ID", session_id),
        "line_items_data": items,
        "payment_intent_data": {
            "application_fee_amount": _int(intent_data, "application_fee_amount")
            if intent_data.get("application_fee_amount") is not None else None,
            "destination": destination, "metadata": intent_data.get("metadata") or {},
        },
    }
    return store.save(session)


PUBLIC_FIELDS = ("id", "object", "created", "expires_at", "mode", "status", "payment_status", "livemode",
                 "amount_subtotal", "amount_total", "currency", "customer_email", "client_reference_id",
                 "metadata", "payment_intent", "success_url", "cancel_url", "url")


def public(session: dict) -> dict:
    return {key: session[key] for key in PUBLIC_FIELDS}


def session_get(session_id: str, *, lock: bool = False) -> dict:
    """A session, expired first if its time ran out (as Stripe does on its own)."""
    session = store.get(session_id, "checkout.session", lock=lock)
    if session["status"] == "open" and session["expires_at"] <= store.now():
        session_expire(session)
    return session


def session_expire(session: dict) -> dict:
    if session["status"] != "open":
        raise StripeError(400, "invalid_request_error",
                          f"Only Checkout Sessions with a status in [\"open\"] can be expired; this one is "
                          f"{session['status']}.")
    session["status"] = "expired"
    session["url"] = None
    store.save(session)
    store.event_emit("checkout.session.expired", public(session))
    return session


def _intent(session: dict) -> dict:
    """The session's payment intent, made on the first attempt to pay (as Stripe does)."""
    if session["payment_intent"]:
        return store.get(session["payment_intent"], "payment_intent", lock=True)
    intent_data = session["payment_intent_data"]
    intent = store.save({
        "id": store.new_id("pi"), "object": "payment_intent", "created": store.now(),
        "amount": session["amount_total"], "amount_capturable": 0, "amount_received": 0,
        "currency": session["currency"], "status": "requires_payment_method", "capture_method": "automatic",
        "payment_method_types": ["card"], "latest_charge": None, "last_payment_error": None,
        "application_fee_amount": intent_data["application_fee_amount"],
        "transfer_data": {"destination": intent_data["destination"]} if intent_data["destination"] else None,
        "transfer_group": None, "description": None, "metadata": intent_data["metadata"], "livemode": False})
    session["payment_intent"] = intent["id"]
    store.save(session)
    return intent


def _charge(session: dict, intent: dict, card: str, **fields) -> dict:
    intent_data = session["payment_intent_data"]
    return {
        "id": store.new_id("ch"), "object": "charge", "created": store.now(), "amount": session["amount_total"],
        "amount_captured": 0, "amount_refunded": 0, "currency": session["currency"], "paid": False,
        "captured": False, "refunded": False, "payment_intent": intent["id"],
        "application_fee": None, "application_fee_amount": intent_data["application_fee_amount"],
        "transfer": None, "transfer_group": None, "failure_code": None, "failure_message": None,
        "transfer_data": {"destination": intent_data["destination"]} if intent_data["destination"] else None,
        "balance_transaction": None, "billing_details": {"email": session["customer_email"]},
        "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": card[-4:]}},
        "metadata": intent_data["metadata"], "livemode": False, **fields}


def _decline(session: dict, intent: dict, card: str) -> StripeError:
    """A failed charge on the intent, which goes back to ``requires_payment_method`` and says why."""
    code, decline_code, message = DECLINES[card]
    charge = store.save(_charge(
        session, intent, card, status="failed", failure_code=code, failure_message=message,
        outcome={"type": "issuer_declined", "reason": decline_code, "network_status": "declined_by_network",
                 "risk_level": "normal", "seller_message": "The bank did not return any further details with "
                                                           "this decline."}))
    intent.update(status="requires_payment_method", latest_charge=charge["id"], last_payment_error={
        "type": "card_error", "code": code, "decline_code": decline_code, "message": message,
        "charge": charge["id"], "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        "payment_method": {"object": "payment_method", "type": "card",
                           "card": {"brand": "visa", "last4": card[-4:]}}})
    store.save(intent)
    store.event_emit("payment_intent.payment_failed", intent)
    return StripeError(402, "card_error", message, code=code, decline_code=decline_code, keep=True)


def session_pay(session: dict, card: str) -> dict:
    """Complete the session with a test card. A declined card leaves the session open and its payment
    intent failed (with a ``payment_intent.payment_failed`` event), then raises a 402 card error that
    keeps all that (run it through ``store.atomic``)."""
    card = "".join(ch for ch in card if ch.isdigit())
    session = session_get(session["id"], lock=True)
    if session["status"] != "open":
        raise StripeError(409, "invalid_request_error", f"This Checkout Session is {session['status']}.",
                          code="checkout_session_not_open")
    if card not in DECLINES and card != CARD_OK:
        raise StripeError(402, "card_error", "Your card number is incorrect.", code="incorrect_number")
    intent = _intent(session)
    if card in DECLINES:
        raise _decline(session, intent, card)
    intent_data = session["payment_intent_data"]
    destination, fee = intent_data["destination"], intent_data["application_fee_amount"]
    charge = _charge(session, intent, card, status="succeeded", paid=True, captured=True,
                     amount_captured=session["amount_total"])
    txn = money.balance_transaction_add(account=None, amount=charge["amount"], currency=charge["currency"],
                                        kind="charge", source=charge["id"])
    charge["balance_transaction"] = txn["id"]
    if destination:
        # A destination charge: what is left after the platform's fee goes on to the connected
        # account at once, and becomes available there when the charge's funds do.
        charge["transfer_group"] = f"group_{intent['id']}"
        charge["transfer"] = money.transfer_create(
            destination=destination, amount=charge["amount"] - (fee or 0), currency=charge["currency"],
            source_transaction=charge["id"], available_on=txn["available_on"],
            transfer_group=charge["transfer_group"])["id"]
        if fee:
            charge["application_fee"] = money.application_fee_create(
                charge_id=charge["id"], account=destination, amount=fee, currency=charge["currency"])["id"]
    store.save(charge)
    intent.update(status="succeeded", amount_received=charge["amount"], latest_charge=charge["id"],
                  last_payment_error=None, transfer_group=charge["transfer_group"])
    store.save(intent)
    session.update(status="complete", payment_status="paid", url=None,
                   customer_details={"email": session["customer_email"]})
    store.save(session)
    store.event_emit("checkout.session.completed", public(session))
    return session


def success_redirect(session: dict) -> str:
    return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
