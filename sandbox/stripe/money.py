"""Refunds, balances and payouts of the Stripe emulator (connected accounts)."""

from __future__ import annotations

from django.db.models import Q

from sandbox.models import StripeObject
from sandbox.stripe import store
from sandbox.stripe.store import StripeError

AVAILABLE_AFTER = 2 * 24 * 3600  # funds on a connected account become available two days later
PAYOUT_TRANSIT = 2 * 24 * 3600


def _truthy(value) -> bool:
    return str(value).lower() in ("true", "1")


def balance_transaction_add(*, account: str, amount: int, currency: str, kind: str, source: str,
                            available_on: int | None = None) -> dict:
    created = store.now()
    if available_on is None:
        available_on = created + (AVAILABLE_AFTER if amount > 0 and kind == "payment" else 0)
    return store.save({
        "id": store.new_id("txn"), "object": "balance_transaction", "account_id": account, "amount": amount,
        "currency": currency, "net": amount, "fee": 0, "type": kind, "source": source, "created": created,
        "available_on": available_on,
    })


def _transactions(account: str) -> list[dict]:
    rows = StripeObject.objects.filter(object="balance_transaction", data__account_id=account)
    return [row.data for row in rows]


def balance(account: str) -> dict:
    store.get(account, "account")
    now = store.now()
    totals: dict[str, dict[str, int]] = {}
    for txn in _transactions(account):
        bucket = totals.setdefault(txn["currency"], {"available": 0, "pending": 0})
        bucket["available" if txn["available_on"] <= now else "pending"] += txn["net"]
    return {"object": "balance", "livemode": False,
            "available": [{"amount": v["available"], "currency": c} for c, v in sorted(totals.items())],
            "pending": [{"amount": v["pending"], "currency": c} for c, v in sorted(totals.items())]}


def public_txn(txn: dict) -> dict:
    txn = dict(txn)
    txn.pop("account_id", None)
    txn["status"] = "available" if txn["available_on"] <= store.now() else "pending"
    return txn


def refund_create(params: dict) -> dict:
    charge_id = params.get("charge")
    if not charge_id and params.get("payment_intent"):
        charge_id = store.get(params["payment_intent"], "payment_intent", param="payment_intent")["latest_charge"]
    if not charge_id:
        raise StripeError(400, "invalid_request_error", "Missing required param: charge or payment_intent.",
                          code="parameter_missing", param="charge")
    charge = store.get(charge_id, "charge", param="charge")
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining <= 0:
        raise StripeError(400, "invalid_request_error", f"Charge {charge_id} has already been refunded.",
                          code="charge_already_refunded")
    amount = int(params.get("amount") or remaining)
    if amount <= 0 or amount > remaining:
        raise StripeError(400, "invalid_request_error",
                          f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                          code="amount_too_large", param="amount")
    now = store.now()
    refund = {"id": store.new_id("re"), "object": "refund", "amount": amount, "charge": charge_id,
              "payment_intent": charge["payment_intent"], "currency": charge["currency"], "created": now,
              "reason": params.get("reason"), "metadata": params.get("metadata") or {}, "status": "succeeded",
              "transfer_reversal": None}
    if _truthy(params.get("reverse_transfer")) and charge.get("transfer"):
        transfer = store.get(charge["transfer"], "transfer")
        share = amount * transfer["amount"] // charge["amount"]
        if _truthy(params.get("refund_application_fee")):
            share = min(transfer["amount"] - transfer["amount_reversed"], amount)
        reversal = store.save({"id": store.new_id("trr"), "object": "transfer_reversal", "amount": share,
                               "currency": transfer["currency"], "transfer": transfer["id"], "created": now})
        transfer["amount_reversed"] += share
        transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
        store.save(transfer)
        # The reversal comes out of the same bucket (pending or available) the transfer went into.
        credited = StripeObject.objects.filter(object="balance_transaction", data__source=transfer["id"]).first()
        balance_transaction_add(account=transfer["destination"], amount=-share, currency=transfer["currency"],
                                kind="payment_refund", source=reversal["id"],
                                available_on=credited.data["available_on"] if credited else None)
        refund["transfer_reversal"] = reversal["id"]
    store.save(refund)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    store.save(charge)
    store.event_emit("charge.refunded", charge)
    return refund


def payout_create(account: str, params: dict) -> dict:
    try:
        amount = int(params.get("amount"))
    except (TypeError, ValueError):
        raise StripeError(400, "invalid_request_error", "Missing required param: amount.",
                          code="parameter_missing", param="amount") from None
    currency = (params.get("currency") or "").lower()
    available = {b["currency"]: b["amount"] for b in balance(account)["available"]}
    if amount <= 0 or amount > available.get(currency, 0):
        raise StripeError(400, "invalid_request_error",
                          "You have insufficient funds in your Stripe account for this transfer.",
                          code="balance_insufficient", param="amount")
    now = store.now()
    payout = store.save({"id": store.new_id("po"), "object": "payout", "amount": amount, "currency": currency,
                         "arrival_date": now + PAYOUT_TRANSIT, "created": now, "status": "in_transit",
                         "account_id": account, "metadata": params.get("metadata") or {}})
    txn = balance_transaction_add(account=account, amount=-amount, currency=currency, kind="payout",
                                  source=payout["id"])
    payout["balance_transaction"] = txn["id"]
    store.save(payout)
    store.event_emit("payout.created", public_payout(payout), account=account)
    return payout


def payout_refresh(payout: dict) -> dict:
    """A payout arrives on its arrival date, as Stripe reports it then."""
    if payout["status"] == "in_transit" and payout["arrival_date"] <= store.now():
        payout["status"] = "paid"
        store.save(payout)
        store.event_emit("payout.paid", public_payout(payout), account=payout["account_id"])
    return payout


def public_payout(payout: dict) -> dict:
    return {k: v for k, v in payout.items() if k != "account_id"}


def payouts_list(account: str) -> list[dict]:
    rows = StripeObject.objects.filter(Q(object="payout") & Q(data__account_id=account)).order_by("-created")
    return [public_payout(payout_refresh(row.data)) for row in rows]
