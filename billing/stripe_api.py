"""The one place that talks to Stripe. Everything in billing goes through these
functions, so the rest of the code deals in plain dicts and our own errors.

``settings.STRIPE_API_BASE`` decides where requests go: Stripe itself with real
keys, or the local emulator when no key is configured. Nothing here (or above
it) behaves differently between the two."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)

WEBHOOK_TOLERANCE_SECONDS = 300


class ProviderError(Exception):
    """Stripe refused the request or could not be reached.

    ``temporary`` errors (no connection, rate limits, Stripe's own 5xx, a concurrent
    request with the same idempotency key) are worth retrying; the others are not."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 temporary: bool = False) -> None:
        super().__init__(message)
        self.message, self.code, self.status, self.temporary = message, code, status, temporary


# Stripe's amounts are the currency's minor unit, except for these, which Stripe takes
# with two decimals although they have none (https://docs.stripe.com/currencies#special-cases).
_STRIPE_TWO_DECIMALS_FOR_ZERO = {"ISK", "UGX"}
TIMEOUT_SECONDS = 20


def from_timestamp(value: int | str | None) -> datetime | None:
    """Stripe's Unix times (``created``, ``expires_at``, ``available_on``, ``arrival_date``) as datetimes."""
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def to_stripe_amount(amount: int, currency: str) -> int:
    return amount * 100 if currency.upper() in _STRIPE_TWO_DECIMALS_FOR_ZERO else amount


def from_stripe_amount(amount: int, currency: str) -> int:
    return amount // 100 if currency.upper() in _STRIPE_TWO_DECIMALS_FOR_ZERO else amount


class SignatureError(Exception):
    """A webhook whose signature is missing, forged or too old."""


def _client() -> stripe.StripeClient:
    """A short timeout: some callers hold a row lock (one booking, one tenant) while Stripe answers."""
    return stripe.StripeClient(
        settings.STRIPE_API_KEY, base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
    )


def _options(*, idempotency_key: str | None = None, account: str | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if idempotency_key:
        options["idempotency_key"] = idempotency_key
    if account:
        options["stripe_account"] = account
    return options


def _call(method, *args, **kwargs) -> dict:
    try:
        return method(*args, **kwargs).to_dict()
    except stripe.APIConnectionError as exc:
        logger.warning("Stripe unreachable: %s", exc)
        raise ProviderError("The payment provider cannot be reached.", temporary=True) from exc
    except stripe.StripeError as exc:
        error = exc.error
        message = (error.message if error is not None and error.message else str(exc)) or "Stripe error"
        status = exc.http_status or 0
        temporary = isinstance(exc, stripe.RateLimitError | stripe.APIError) or status in (409, 429) \
            or status >= 500
        logger.log(logging.WARNING if temporary else logging.INFO, "Stripe refused a request: %s (%s)",
                   message, exc.code)
        raise ProviderError(message, code=exc.code, status=exc.http_status, temporary=temporary) from exc


# --- Connect accounts ---------------------------------------------------------------------


def account_create(*, email: str, country: str | None, metadata: dict[str, str], idempotency_key: str) -> dict:
    params: dict[str, Any] = {
        "type": "express", "email": email, "metadata": metadata,
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        # Money leaves only through "Withdraw", which applies the freeze rule; Stripe's default
        # automatic payouts would send each payment to the bank as soon as Stripe allows.
        "settings": {"payouts": {"schedule": {"interval": "manual"}}},
    }
    if country:
        params["country"] = country
    return _call(_client().v1.accounts.create, params=params, options=_options(idempotency_key=idempotency_key))


def account_get(account_id: str) -> dict:
    return _call(_client().v1.accounts.retrieve, account_id)


def account_link_create(*, account_id: str, refresh_url: str, return_url: str) -> dict:
    return _call(_client().v1.account_links.create, params={
        "account": account_id, "type": "account_onboarding", "refresh_url": refresh_url, "return_url": return_url})


# --- Checkout -----------------------------------------------------------------------------


def checkout_session_create(*, params: dict[str, Any], idempotency_key: str) -> dict:
    return _call(_client().v1.checkout.sessions.create, params=params,
                 options=_options(idempotency_key=idempotency_key))


def checkout_session_get(session_id: str) -> dict:
    return _call(_client().v1.checkout.sessions.retrieve, session_id)


def checkout_session_expire(session_id: str) -> dict:
    return _call(_client().v1.checkout.sessions.expire, session_id)


def payment_intent_get(intent_id: str) -> dict:
    return _call(_client().v1.payment_intents.retrieve, intent_id)


def charge_get(charge_id: str, *, account: str | None = None) -> dict:
    return _call(_client().v1.charges.retrieve, charge_id, options=_options(account=account))


def transfer_get(transfer_id: str) -> dict:
    return _call(_client().v1.transfers.retrieve, transfer_id)


def balance_transaction_get(txn_id: str, *, account: str | None = None) -> dict:
    return _call(_client().v1.balance_transactions.retrieve, txn_id, options=_options(account=account))


# --- Refunds, balance, payouts --------------------------------------------------------------


def refund_create(*, payment_intent: str, amount: int, currency: str, metadata: dict[str, str],
                  idempotency_key: str) -> dict:
    """A refund of a destination charge: the tenant gives back its share, the platform its fee."""
    return _call(_client().v1.refunds.create, params={
        "payment_intent": payment_intent, "amount": to_stripe_amount(amount, currency), "reverse_transfer": True,
        "refund_application_fee": True, "metadata": metadata,
    }, options=_options(idempotency_key=idempotency_key))


def balance_get(*, account: str) -> dict:
    return _call(_client().v1.balance.retrieve, options=_options(account=account))


def payout_create(*, account: str, amount: int, currency: str, metadata: dict[str, str],
                  idempotency_key: str) -> dict:
    return _call(_client().v1.payouts.create, params={
        "amount": to_stripe_amount(amount, currency), "currency": currency.lower(), "metadata": metadata,
    }, options=_options(idempotency_key=idempotency_key, account=account))


# --- Webhooks -------------------------------------------------------------------------------


def webhook_event_verify(*, payload: bytes, signature: str) -> dict:
    """The event, once its ``Stripe-Signature`` proves it is Stripe's and at most five minutes old."""
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature,
                                              settings.STRIPE_WEBHOOK_SECRET, WEBHOOK_TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise SignatureError(str(exc)) from exc
    import json

    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise SignatureError("The payload is not JSON.") from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event.get("type"):
        raise SignatureError("The payload is not a Stripe event.")
    return event
