"""HTTP face of the Stripe emulator: ``/sandbox/stripe/v1/...`` speaks Stripe's API
(form-encoded in, JSON out, Bearer secret key, Idempotency-Key), and the hosted
pages stand in for Stripe's own (onboarding, checkout).

Helpers for scripts and browser tests (JSON in, JSON out):

- ``POST /sandbox/stripe/accounts/{id}/onboarding`` ``{"outcome": "complete"|"abandon"}``
- ``POST /sandbox/stripe/checkout/{session_id}/pay`` ``{"card": "4242424242424242"}``
- ``GET|POST|DELETE /sandbox/stripe/clock``: the emulator's test clock. ``POST {"advance_seconds": N}``
  (an integer ≥ 0) moves the emulator's "now" N seconds forward; ``DELETE`` puts it back on the
  real time. Each answers ``{"now": <unix time>}``. Moving it is how a script lets funds become
  available, sessions expire or payouts arrive without waiting; note that ``expires_at`` of new
  Checkout Sessions is checked against the moved clock too."""

from __future__ import annotations

import hashlib
import json
from functools import wraps

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from core.money import Money
from sandbox.models import StripeIdempotentRequest, StripeObject
from sandbox.stripe import checkout, money, store
from sandbox.stripe.encoding import EncodingError, decode_form
from sandbox.stripe.store import StripeError


def api(view):
    """Authentication, decoding, errors and idempotency, as Stripe does them."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        auth = request.headers.get("Authorization", "")
        key = auth.removeprefix("Bearer ").strip()
        if not key.startswith(("sk_test_", "rk_test_")):
            return JsonResponse(StripeError(401, "invalid_request_error",
                                            f"Invalid API Key provided: {key[:8]}****").body, status=401)
        try:
            params = decode_form(request.body.decode()) if request.method == "POST" else decode_form(
                request.META.get("QUERY_STRING", ""))
        except (EncodingError, UnicodeDecodeError) as exc:
            return JsonResponse(StripeError(400, "invalid_request_error", str(exc)).body, status=400)
        idem_key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
        request_hash = hashlib.sha256(f"{request.path}\n{request.body!r}".encode()).hexdigest()
        if idem_key:
            previous = StripeIdempotentRequest.objects.filter(key=idem_key).first()
            if previous is not None:
                if previous.request_hash != request_hash:
                    return JsonResponse(StripeError(
                        400, "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        f"used with. Try using a key other than '{idem_key}' if you meant to execute a different "
                        "request.").body, status=400)
                response = JsonResponse(previous.body, status=previous.status)
                response["Idempotent-Replayed"] = "true"
                return response
        try:
            with transaction.atomic():
                status, body = view(request, params, *args, **kwargs)
                if idem_key:
                    StripeIdempotentRequest.objects.create(key=idem_key, path=request.path,
                                                           request_hash=request_hash, status=status, body=body)
        except StripeError as exc:
            status, body = exc.status, exc.body
        except IntegrityError:  # the same key raced in twice: the first one wins
            previous = StripeIdempotentRequest.objects.get(key=idem_key)
            status, body = previous.status, previous.body
        response = JsonResponse(body, status=status)
        response["Request-Id"] = store.new_id("req")
        return response

    return wrapped


def _required(params: dict, name: str) -> str:
    value = params.get(name)
    if value in (None, ""):
        raise StripeError(400, "invalid_request_error", f"Missing required param: {name}.",
                          code="parameter_missing", param=name)
    return value


# --- accounts -------------------------------------------------------------------

ONBOARDING_DUE = ["business_profile.url", "external_account", "individual.first_name", "individual.last_name",
                  "tos_acceptance.date"]


@api
def accounts(request: HttpRequest, params: dict):
    if request.method != "POST":
        raise StripeError(405, "invalid_request_error", "Unrecognized request URL (GET: /v1/accounts).")
    account_type = params.get("type", "express")
    if account_type not in ("express", "standard", "custom"):
        raise StripeError(400, "invalid_request_error", f"Invalid type: {account_type}", param="type")
    account = {
        "id": store.new_id("acct"), "object": "account", "type": account_type, "created": store.now(),
        "country": params.get("country", "US"), "default_currency": params.get("default_currency", "usd"),
        "email": params.get("email"), "metadata": params.get("metadata", {}),
        "settings": {"payouts": {"schedule": {
            "interval": (((params.get("settings") or {}).get("payouts") or {}).get("schedule") or {}).get(
                "interval", "daily")}}},
        "charges_enabled": False, "payouts_enabled": False, "details_submitted": False,
        "capabilities": {name: "inactive" for name in (params.get("capabilities") or {})},
        "requirements": {"currently_due": ONBOARDING_DUE, "eventually_due": ONBOARDING_DUE, "past_due": [],
                         "disabled_reason": "requirements.past_due"},
    }
    return 200, store.save(account)


@api
def account_detail(request: HttpRequest, params: dict, account_id: str):
    return 200, store.get(account_id, "account")


@api
def account_links(request: HttpRequest, params: dict):
    account_id = _required(params, "account")
    store.get(account_id, "account", param="account")
    link_type = _required(params, "type")
    if link_type not in ("account_onboarding", "account_update"):
        raise StripeError(400, "invalid_request_error", f"Invalid type: {link_type}", param="type")
    link_id = store.new_id("acctlink")
    link = {
        "id": link_id, "object": "account_link", "created": store.now(), "expires_at": store.now() + 300,
        "url": request.build_absolute_uri(f"/sandbox/stripe/onboarding/{link_id}/"),
        "account": account_id, "return_url": _required(params, "return_url"),
        "refresh_url": _required(params, "refresh_url"),
    }
    store.save(link)
    public = {k: link[k] for k in ("object", "created", "expires_at", "url")}
    return 200, public


def onboarding_finish(account_id: str, outcome: str) -> dict:
    """What finishing ("complete") or leaving ("abandon") the hosted onboarding does."""
    account = store.get(account_id, "account")
    if outcome == "complete":
        account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True,
                       capabilities={name: "active" for name in account["capabilities"]} or {},
                       requirements={"currently_due": [], "eventually_due": [], "past_due": [],
                                     "disabled_reason": None})
    elif outcome == "abandon":
        account["details_submitted"] = False
    else:
        raise StripeError(400, "invalid_request_error", "outcome must be “complete” or “abandon”.",
                          param="outcome")
    store.save(account)
    store.event_emit("account.updated", account, account=account_id)
    return account


@csrf_exempt
def onboarding_page(request: HttpRequest, link_id: str) -> HttpResponse:
    try:
        link = store.get(link_id, "account_link")
    except StripeError:
        return HttpResponse("This onboarding link does not exist.", status=404)
    if link["expires_at"] < store.now():
        return redirect(link["refresh_url"])
    if request.method == "POST":
        outcome = request.POST.get("outcome", "")
        with transaction.atomic():
            onboarding_finish(link["account"], outcome)
        return redirect(link["return_url"])
    return render(request, "sandbox/stripe_onboarding.html", {"link": link})


def script(view):
    """The emulator's helpers for scripts and tests: POST with a JSON object, JSON back, Stripe errors."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "POST":
            return JsonResponse({"error": {"type": "invalid_request_error", "message": "Use POST."}}, status=405)
        try:
            body = json.loads(request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError
            return JsonResponse(store.atomic(view, request, body, *args, **kwargs))
        except ValueError:
            return JsonResponse({"error": {"type": "invalid_request_error", "message": "Send a JSON object."}},
                                status=400)
        except StripeError as exc:
            return JsonResponse(exc.body, status=exc.status)

    return wrapped


@script
def onboarding_script(request: HttpRequest, body: dict, account_id: str) -> dict:
    """``POST {"outcome": "complete"|"abandon"}`` does what the hosted onboarding page does."""
    return onboarding_finish(account_id, str(body.get("outcome", "")))


# --- checkout -------------------------------------------------------------------


@api
def checkout_sessions(request: HttpRequest, params: dict):
    if request.method != "POST":
        raise StripeError(405, "invalid_request_error", "Unrecognized request URL (GET: /v1/checkout/sessions).")
    hosted = request.build_absolute_uri("/sandbox/stripe/checkout/SESSION_ID/")
    return 200, checkout.public(checkout.session_create(params, hosted))


@api
def checkout_session_detail(request: HttpRequest, params: dict, session_id: str):
    return 200, checkout.public(checkout.session_get(session_id))


@api
def checkout_session_expire(request: HttpRequest, params: dict, session_id: str):
    return 200, checkout.public(checkout.session_expire(checkout.session_get(session_id)))


@api
def payment_intent_detail(request: HttpRequest, params: dict, intent_id: str):
    return 200, store.get(intent_id, "payment_intent")


@api
def charge_detail(request: HttpRequest, params: dict, charge_id: str):
    """Charges of the platform (``ch_…``) and the payments transfers made on connected accounts (``py_…``)."""
    return 200, store.private_strip(store.get(charge_id, "charge"))


@api
def application_fee_detail(request: HttpRequest, params: dict, fee_id: str):
    return 200, store.get(fee_id, "application_fee")


@csrf_exempt
@never_cache  # the back button shows the session as it is now (paid, expired), as Stripe's page does
def checkout_page(request: HttpRequest, session_id: str) -> HttpResponse:
    """Stands in for Stripe's hosted checkout page."""
    try:
        session = checkout.session_get(session_id)
    except StripeError:
        return HttpResponse("This payment page does not exist.", status=404)
    error = None
    if request.method == "POST" and session["status"] == "complete":
        return redirect(checkout.success_redirect(session))  # a second click on "Pay": paid already
    if request.method == "POST" and session["status"] == "open":
        try:
            session = store.atomic(checkout.session_pay, session, request.POST.get("card", ""))
        except StripeError as exc:
            session = checkout.session_get(session_id)
            if session["status"] == "complete":  # paid by the first of two clicks meanwhile
                return redirect(checkout.success_redirect(session))
            error = exc.body["error"]["message"]
        else:
            return redirect(checkout.success_redirect(session))
    return render(request, "sandbox/stripe_checkout.html", {
        "session": session, "error": error, "success_url": checkout.success_redirect(session),
        "amount": Money(session["amount_total"], session["currency"].upper()),
        "items": [(item.get("price_data", {}).get("product_data", {}).get("name", ""), item.get("quantity"))
                  for item in session.get("line_items_data") or []],
    }, status=402 if error else 200)


@script
def checkout_pay_script(request: HttpRequest, body: dict, session_id: str) -> dict:
    """``POST {"card": "4242424242424242"}`` pays as the hosted checkout page would."""
    session = checkout.session_pay(checkout.session_get(session_id), str(body.get("card", "")))
    return {"status": "complete", "redirect_url": checkout.success_redirect(session)}


# --- money: refunds, balance, payouts -------------------------------------------------


def _connected_account(request: HttpRequest) -> str:
    account = request.headers.get("Stripe-Account", "")
    if not account:
        raise StripeError(400, "invalid_request_error",
                          "This emulator keeps balances for connected accounts: send the Stripe-Account header.")
    return account


@api
def refunds(request: HttpRequest, params: dict):
    if request.method != "POST":
        raise StripeError(405, "invalid_request_error", "Unrecognized request URL (GET: /v1/refunds).")
    return 200, money.refund_create(params)


@api
def balance(request: HttpRequest, params: dict):
    return 200, money.balance(_connected_account(request))


@api
def balance_transactions(request: HttpRequest, params: dict):
    account = _connected_account(request)
    store.get(account, "account")
    txns = sorted((money.public_txn(t) for t in money._transactions(account)), key=lambda t: -t["created"])
    return 200, {"object": "list", "url": "/v1/balance_transactions", "has_more": False, "data": txns}


@api
def payouts(request: HttpRequest, params: dict):
    account = _connected_account(request)
    if request.method == "POST":
        return 200, money.public_payout(money.payout_create(account, params))
    store.get(account, "account")
    return 200, {"object": "list", "url": "/v1/payouts", "has_more": False, "data": money.payouts_list(account)}


@api
def balance_transaction_detail(request: HttpRequest, params: dict, txn_id: str):
    """A connected account's transaction with its ``Stripe-Account`` header, the platform's without."""
    return 200, money.txn_get(txn_id, request.headers.get("Stripe-Account") or None)


# --- transfers ----------------------------------------------------------------------------


@api
def transfers(request: HttpRequest, params: dict):
    if request.method == "POST":
        return 200, money.public_transfer(money.transfer_create_api(params))
    return 200, money.transfers_list(params)


@api
def transfer_detail(request: HttpRequest, params: dict, transfer_id: str):
    transfer = store.get(transfer_id, "transfer", lock=request.method == "POST")
    if request.method == "POST":  # update: description and metadata (an empty value unsets a key)
        metadata = {**transfer["metadata"], **(params.get("metadata") or {})}
        transfer["metadata"] = {k: v for k, v in metadata.items() if v != ""}
        transfer["description"] = params.get("description", transfer["description"])
        store.save(transfer)
    return 200, money.public_transfer(transfer)


@api
def transfer_reversals(request: HttpRequest, params: dict, transfer_id: str):
    if request.method == "POST":
        return 200, money.reversal_create_api(transfer_id, params)
    return 200, money.reversals_list(transfer_id, params)


# --- events -------------------------------------------------------------------------------


@api
def events(request: HttpRequest, params: dict):
    """Newest first; ``type`` (``charge.refunded``, or ``charge.*``); with ``Stripe-Account``, that
    account's events only."""
    if request.method != "GET":
        raise StripeError(405, "invalid_request_error", f"Unrecognized request URL ({request.method}: /v1/events).")
    rows = StripeObject.objects.filter(object="event")
    event_type = params.get("type")
    if event_type:
        rows = (rows.filter(data__type__startswith=event_type[:-1]) if event_type.endswith("*")
                else rows.filter(data__type=event_type))
    if request.headers.get("Stripe-Account"):
        rows = rows.filter(data__account=request.headers["Stripe-Account"])
    return 200, store.list_page(rows, params, "/v1/events")


@api
def event_detail(request: HttpRequest, params: dict, event_id: str):
    return 200, store.get(event_id, "event")


# --- the test clock -------------------------------------------------------------------------


@csrf_exempt
def clock(request: HttpRequest) -> HttpResponse:
    """``GET``: the emulator's now; ``POST {"advance_seconds": N}``: move it on; ``DELETE``: back to real time."""
    if request.method == "GET":
        return JsonResponse({"now": store.now()})
    if request.method == "DELETE":
        return JsonResponse({"now": store.clock_reset()})
    if request.method != "POST":
        return JsonResponse({"error": {"type": "invalid_request_error", "message": "Use GET, POST or DELETE."}},
                            status=405)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    seconds = body.get("advance_seconds") if isinstance(body, dict) else None
    if type(seconds) is not int or seconds < 0:
        return JsonResponse({"error": {"type": "invalid_request_error", "param": "advance_seconds",
                                       "message": "Send {\"advance_seconds\": N} with N a whole number ≥ 0."}},
                            status=400)
    return JsonResponse({"now": store.clock_advance(seconds)})
