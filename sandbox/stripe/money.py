"""Money of the Stripe emulator: transfers to connected accounts (with the ``py_`` payment
each one makes there), transfer reversals, refunds, application fees, balances and payouts.

Ledgers: every connected account has balance transactions (``account_id`` = the account),
and so has the platform (``account_id`` = ``None``): ``charge`` for a payment, ``transfer``
for what it sends on, ``refund`` and ``transfer_refund`` (a reversal coming back). Only the
connected accounts' balances are served (``/v1/balance`` with ``Stripe-Account``); the
platform's transactions can be retrieved by id. Stripe's own processing fees are not charged."""

from __future__ import annotations

from django.db.models import Q

from sandbox.models import StripeObject
from sandbox.stripe import store
from sandbox.stripe.store import StripeError

AVAILABLE_AFTER = 2 * 24 * 3600  # funds of a card payment become available two days later
PAYOUT_TRANSIT = 2 * 24 * 3600
REPORTING_CATEGORY = {"charge": "charge", "payment": "charge", "refund": "refund", "payment_refund": "refund",
                      "transfer": "transfer", "transfer_refund": "transfer_reversal", "payout": "payout"}


def _truthy(value) -> bool:
    return str(value).lower() in ("true", "1")


def _amount(params: dict, name: str = "amount", *, required: bool = True) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        if required:
            raise StripeError(400, "invalid_request_error", f"Missing required param: {name}.",
                              code="parameter_missing", param=name)
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StripeError(400, "invalid_request_error", f"Invalid integer: {value}", param=name) from None
    if number <= 0:
        raise StripeError(400, "invalid_request_error", "This value must be greater than or equal to 1.",
                          param=name)
    return number


# --- balance transactions -----------------------------------------------------------


def balance_transaction_add(*, account: str | None, amount: int, currency: str, kind: str, source: str,
                            available_on: int | None = None) -> dict:
    """A balance transaction of ``account`` (``None``: the platform)."""
    created = store.now()
    if available_on is None:
        available_on = created + (AVAILABLE_AFTER if amount > 0 and kind in ("payment", "charge") else 0)
    return store.save({
        "id": store.new_id("txn"), "object": "balance_transaction", "account_id": account, "amount": amount,
        "currency": currency, "net": amount, "fee": 0, "fee_details": [], "type": kind, "source": source,
        "created": created, "available_on": available_on, "description": None, "exchange_rate": None,
        "reporting_category": REPORTING_CATEGORY.get(kind, kind),
    })


def _transactions(account: str | None) -> list[dict]:
    rows = StripeObject.objects.filter(object="balance_transaction", data__account_id=account)
    return [row.data for row in rows]


def _txn(txn_id: str | None) -> dict | None:
    row = StripeObject.objects.filter(id=txn_id or "", object="balance_transaction").first()
    return row.data if row else None


def _same_bucket(txn_id: str | None) -> int | None:
    """``available_on`` for money taken back from what ``txn_id`` brought: pending while that is."""
    txn = _txn(txn_id)
    if txn is None:
        return None
    return max(txn["available_on"], store.now())


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


def txn_get(txn_id: str, account: str | None) -> dict:
    """A balance transaction of ``account`` (the ``Stripe-Account`` header; ``None``: the platform)."""
    txn = _txn(txn_id)
    if txn is None or txn.get("account_id") != account:
        raise StripeError(404, "invalid_request_error", f"No such balance transaction: '{txn_id}'",
                          code="resource_missing", param="id")
    return public_txn(txn)


# --- transfers and their reversals ------------------------------------------------------


def transfer_create(*, destination: str, amount: int, currency: str, source_transaction: str | None = None,
                    available_on: int | None = None, metadata: dict | None = None, description: str | None = None,
                    transfer_group: str | None = None) -> dict:
    """Move ``amount`` from the platform to ``destination``. There it arrives as a payment
    (a ``py_…`` charge) whose balance transaction is pending until ``available_on`` (default: now)."""
    now = store.now()
    available_on = now if available_on is None else available_on
    transfer_id, payment_id = store.new_id("tr"), store.new_id("py")
    platform_txn = balance_transaction_add(account=None, amount=-amount, currency=currency, kind="transfer",
                                           source=transfer_id, available_on=available_on)
    credit = balance_transaction_add(account=destination, amount=amount, currency=currency, kind="payment",
                                     source=payment_id, available_on=available_on)
    store.save({
        "id": payment_id, "object": "charge", "account_id": destination, "created": now, "amount": amount,
        "amount_captured": amount, "amount_refunded": 0, "currency": currency, "paid": True, "captured": True,
        "refunded": False, "status": "succeeded", "balance_transaction": credit["id"],
        "source_transfer": transfer_id, "payment_intent": None, "application_fee_amount": None, "transfer": None,
        "description": None, "metadata": {}, "livemode": False})
    return store.save({
        "id": transfer_id, "object": "transfer", "created": now, "amount": amount, "amount_reversed": 0,
        "balance_transaction": platform_txn["id"], "currency": currency, "description": description,
        "destination": destination, "destination_payment": payment_id, "livemode": False,
        "metadata": metadata or {}, "reversed": False, "source_transaction": source_transaction,
        "source_type": "card", "transfer_group": transfer_group})


def public_transfer(transfer: dict) -> dict:
    rows = StripeObject.objects.filter(object="transfer_reversal", data__transfer=transfer["id"])
    reversals = store.list_page(rows, {}, f"/v1/transfers/{transfer['id']}/reversals")
    return {**transfer, "reversals": {**reversals, "total_count": rows.count()}}


def transfer_create_api(params: dict) -> dict:
    """``POST /v1/transfers``: a standalone transfer (separate charges and transfers)."""
    destination = params.get("destination")
    if not destination:
        raise StripeError(400, "invalid_request_error", "Missing required param: destination.",
                          code="parameter_missing", param="destination")
    store.get(destination, "account", param="destination")
    amount = _amount(params)
    currency = (params.get("currency") or "").lower()
    if not currency:
        raise StripeError(400, "invalid_request_error", "Missing required param: currency.",
                          code="parameter_missing", param="currency")
    available_on = None
    source = params.get("source_transaction") or None
    if source:
        charge = store.get(source, "charge", param="source_transaction")
        if charge.get("account_id") or charge["status"] != "succeeded":
            raise StripeError(400, "invalid_request_error",
                              f"The source_transaction {source} is not a succeeded charge of this account.",
                              param="source_transaction")
        if charge["currency"] != currency:
            raise StripeError(400, "invalid_request_error",
                              f"The currency of source_transaction's charge ({charge['currency']}) must be the "
                              f"same as the transfer currency ({currency}).", param="currency")
        sent = sum(row.data["amount"] - row.data["amount_reversed"] for row in StripeObject.objects.filter(
            object="transfer", data__source_transaction=source))
        if amount > charge["amount"] - charge["amount_refunded"] - sent:
            raise StripeError(400, "invalid_request_error",
                              f"The transfer amount ({amount}) exceeds what remains of the source transaction "
                              f"({charge['amount'] - charge['amount_refunded'] - sent}).",
                              code="balance_insufficient", param="amount")
        # The money follows the charge: it becomes available when the charge's does.
        available_on = _same_bucket(charge.get("balance_transaction"))
    transfer = transfer_create(destination=destination, amount=amount, currency=currency,
                               source_transaction=source, available_on=available_on,
                               metadata=params.get("metadata") or {}, description=params.get("description"),
                               transfer_group=params.get("transfer_group"))
    store.event_emit("transfer.created", public_transfer(transfer))
    return transfer


def transfer_reverse(transfer: dict, amount: int, *, metadata: dict | None = None,
                     source_refund: str | None = None) -> dict:
    """Take ``amount`` back from the connected account: a ``transfer_reversal`` (platform side) and a
    ``pyr_…`` refund of the ``py_…`` payment, whose negative balance transaction goes into the same
    bucket (pending or available) the payment went into."""
    now = store.now()
    reversal_id, payment_refund_id = store.new_id("trr"), store.new_id("pyr")
    payment = None
    if transfer.get("destination_payment"):
        payment = store.get(transfer["destination_payment"], "charge")
        credited_on = _same_bucket(payment["balance_transaction"])
    else:  # a transfer made before transfers had a destination payment
        credited = StripeObject.objects.filter(object="balance_transaction", data__source=transfer["id"]).first()
        credited_on = _same_bucket(credited.id if credited else None)
    debit = balance_transaction_add(account=transfer["destination"], amount=-amount, currency=transfer["currency"],
                                    kind="payment_refund", source=payment_refund_id, available_on=credited_on)
    platform_txn = balance_transaction_add(account=None, amount=amount, currency=transfer["currency"],
                                           kind="transfer_refund", source=reversal_id,
                                           available_on=_same_bucket(transfer.get("balance_transaction")))
    if payment is not None:
        store.save({
            "id": payment_refund_id, "object": "refund", "account_id": transfer["destination"], "amount": amount,
            "charge": payment["id"], "payment_intent": None, "currency": transfer["currency"], "created": now,
            "balance_transaction": debit["id"], "reason": None, "metadata": {}, "status": "succeeded",
            "source_transfer_reversal": reversal_id, "transfer_reversal": None})
        payment["amount_refunded"] += amount
        payment["refunded"] = payment["amount_refunded"] >= payment["amount"]
        store.save(payment)
    reversal = store.save({
        "id": reversal_id, "object": "transfer_reversal", "amount": amount, "currency": transfer["currency"],
        "balance_transaction": platform_txn["id"], "created": now,
        "destination_payment_refund": payment_refund_id if payment is not None else None,
        "metadata": metadata or {}, "source_refund": source_refund, "transfer": transfer["id"]})
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
    store.save(transfer)
    return reversal


def reversal_create_api(transfer_id: str, params: dict) -> dict:
    """``POST /v1/transfers/{id}/reversals``: all that remains by default, or ``amount``."""
    transfer = store.get(transfer_id, "transfer", lock=True)
    remaining = transfer["amount"] - transfer["amount_reversed"]
    amount = _amount(params, required=False)
    amount = remaining if amount is None else amount
    if remaining <= 0 or amount > remaining:
        raise StripeError(400, "invalid_request_error",
                          f"Transfer reversal amount ({amount}) is greater than the amount remaining on the "
                          f"transfer ({remaining}).", code="amount_too_large", param="amount")
    reversal = transfer_reverse(transfer, amount, metadata=params.get("metadata") or {})
    charge_id = transfer.get("source_transaction")
    if _truthy(params.get("refund_application_fee")) and charge_id:
        charge = store.get(charge_id, "charge")
        if transfer["reversed"]:
            application_fee_refund(charge, rest=True)
        else:
            fee = charge.get("application_fee_amount") or 0
            application_fee_refund(charge, amount=amount * fee // transfer["amount"])
    store.event_emit("transfer.reversed", public_transfer(transfer))
    return reversal


def reversals_list(transfer_id: str, params: dict) -> dict:
    store.get(transfer_id, "transfer")
    rows = StripeObject.objects.filter(object="transfer_reversal", data__transfer=transfer_id)
    return {**store.list_page(rows, params, f"/v1/transfers/{transfer_id}/reversals"), "total_count": rows.count()}


def transfers_list(params: dict) -> dict:
    rows = StripeObject.objects.filter(object="transfer")
    for name in ("destination", "transfer_group"):
        if params.get(name):
            rows = rows.filter(**{f"data__{name}": params[name]})
    return store.list_page(rows, params, "/v1/transfers", present=public_transfer)


# --- application fees ----------------------------------------------------------------------


def application_fee_create(*, charge_id: str, account: str, amount: int, currency: str) -> dict:
    fee_id = store.new_id("fee")
    return store.save({
        "id": fee_id, "object": "application_fee", "account": account, "amount": amount, "amount_refunded": 0,
        "application": None, "balance_transaction": None, "charge": charge_id, "created": store.now(),
        "currency": currency, "fee_source": {"charge": charge_id, "type": "charge"}, "livemode": False,
        "originating_transaction": None, "refunded": False,
        "refunds": {"object": "list", "data": [], "has_more": False, "total_count": 0,
                    "url": f"/v1/application_fees/{fee_id}/refunds"}})


def application_fee_refund(charge: dict, *, amount: int = 0, rest: bool = False) -> dict | None:
    """Record that ``amount`` of the platform's fee on ``charge`` was refunded (``rest``: all that is left)."""
    if not charge.get("application_fee"):
        return None
    fee = store.get(charge["application_fee"], "application_fee", lock=True)
    amount = fee["amount"] - fee["amount_refunded"] if rest else min(amount, fee["amount"] - fee["amount_refunded"])
    if amount <= 0:
        return None
    fee_refund = {"id": store.new_id("fr"), "object": "fee_refund", "amount": amount, "balance_transaction": None,
                  "created": store.now(), "currency": fee["currency"], "fee": fee["id"], "metadata": {}}
    fee["amount_refunded"] += amount
    fee["refunded"] = fee["amount_refunded"] >= fee["amount"]
    fee["refunds"]["data"].insert(0, fee_refund)
    fee["refunds"]["total_count"] += 1
    store.save(fee)
    return fee_refund


# --- refunds ---------------------------------------------------------------------------------


def refund_create(params: dict) -> dict:
    charge_id = params.get("charge")
    if not charge_id and params.get("payment_intent"):
        charge_id = store.get(params["payment_intent"], "payment_intent", param="payment_intent")["latest_charge"]
    if not charge_id:
        raise StripeError(400, "invalid_request_error", "Missing required param: charge or payment_intent.",
                          code="parameter_missing", param="charge")
    charge = store.get(charge_id, "charge", param="charge", lock=True)
    if charge.get("account_id") or charge["status"] != "succeeded":
        raise StripeError(400, "invalid_request_error", f"Charge {charge_id} cannot be refunded here"
                          + (": reverse its transfer instead." if charge.get("account_id") else "."),
                          code="charge_not_refundable", param="charge")
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining <= 0:
        raise StripeError(400, "invalid_request_error", f"Charge {charge_id} has already been refunded.",
                          code="charge_already_refunded")
    amount = _amount(params, required=False) or remaining
    if amount > remaining:
        raise StripeError(400, "invalid_request_error",
                          f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                          code="amount_too_large", param="amount")
    refund_id = store.new_id("re")
    rest = amount == remaining  # this refund completes the charge: nothing may be left over by rounding
    refund = {"id": refund_id, "object": "refund", "amount": amount, "charge": charge_id,
              "payment_intent": charge["payment_intent"], "currency": charge["currency"], "created": store.now(),
              "reason": params.get("reason"), "metadata": params.get("metadata") or {}, "status": "succeeded",
              "transfer_reversal": None, "source_transfer_reversal": None}
    refund["balance_transaction"] = balance_transaction_add(
        account=None, amount=-amount, currency=charge["currency"], kind="refund", source=refund_id)["id"]
    if _truthy(params.get("reverse_transfer")) and charge.get("transfer"):
        # As Stripe does for destination charges: the connected account gives back its share of the refund.
        transfer = store.get(charge["transfer"], "transfer", lock=True)
        left = transfer["amount"] - transfer["amount_reversed"]
        share = left if rest else min(left, amount * transfer["amount"] // charge["amount"])
        if share > 0:
            refund["transfer_reversal"] = transfer_reverse(transfer, share, source_refund=refund_id)["id"]
    if _truthy(params.get("refund_application_fee")) and charge.get("application_fee_amount"):
        application_fee_refund(charge, amount=amount * charge["application_fee_amount"] // charge["amount"],
                               rest=rest)
    store.save(refund)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    store.save(charge)
    store.event_emit("charge.refunded", charge)
    return refund


# --- payouts -----------------------------------------------------------------------------------


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
