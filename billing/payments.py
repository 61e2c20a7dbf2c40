"""Checkout for paid bookings: one Checkout Session per booking, confirmed by
the webhook or by the client's return, released when it expires or is left.

Creating a session holds a lock on that one booking while Stripe answers (with a
short timeout), so a double submit cannot make two sessions; nothing else waits on
Stripe inside a transaction."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from billing import stripe_api
from billing.fees import fee_amount, platform_fee_bps
from billing.models import Payment
from billing.onboarding import PaymentsUnavailable, connected_account
from billing.sweep import sweep_schedule
from booking.models import CallParticipant
from booking.services import booking_lock, booking_payment_received, booking_release_unpaid, hold_extend
from core.exceptions import ApplicationError, Conflict
from core.tasks import delay_on_commit

logger = logging.getLogger(__name__)

CHECKOUT_MIN_SECONDS = 30 * 60 + 10  # Stripe: a session lives at least 30 minutes from its creation


def _ts(value: datetime) -> int:
    return int(value.timestamp())



def checkout_start(*, participant: CallParticipant, success_url: str, cancel_url: str,
                   now: datetime | None = None) -> Payment:
    """The booking's Checkout Session, created once: a double submit gets the same one.

    The booking's row is locked while Stripe is asked, so two submits at the same
    moment queue up and the second finds the first one's session; the idempotency
    key covers the client library's own retries of a request whose answer was lost."""
    with transaction.atomic():
        participant = CallParticipant.objects.select_for_update().select_related("call").get(pk=participant.pk)
        existing = Payment.objects.filter(participant=participant).first()
        if existing is not None:
            if existing.status == Payment.Status.OPEN:
                return existing
            raise Conflict("This booking has already been paid." if existing.status == Payment.Status.PAID
                           else "This booking's payment time is over; please book again.")
        if participant.status != CallParticipant.Status.PENDING_PAYMENT:
            raise Conflict("This booking is not waiting for payment.")
        account = connected_account()
        if account is None or not account.ready:
            raise Conflict("This consultant cannot take payments yet.")
        return _session_open(participant, account.stripe_account_id, success_url, cancel_url,
                             now or timezone.now())


def _session_open(participant: CallParticipant, destination: str, success_url: str, cancel_url: str,
                  now: datetime) -> Payment:
    call = participant.call
    schema = connection.schema_name
    amount = participant.unit_price_amount * participant.seats
    fee = fee_amount(amount, platform_fee_bps(schema))
    expires_at = max(participant.hold_expires_at or now, now + timedelta(seconds=CHECKOUT_MIN_SECONDS))
    metadata = {"schema": schema, "call": str(call.public_id), "participant": str(participant.public_id)}
    currency = participant.currency
    params = {
        "mode": "payment",
        # Cards only: a delayed method (SEPA debit…) could not confirm within the hold.
        "payment_method_types": ["card"],
        "customer_email": participant.email,
        "client_reference_id": str(participant.public_id),
        "line_items": [{"quantity": participant.seats, "price_data": {
            "currency": currency.lower(),
            "unit_amount": stripe_api.to_stripe_amount(participant.unit_price_amount, currency),
            "product_data": {"name": call.title[:250]},
        }}],
        "payment_intent_data": {"application_fee_amount": stripe_api.to_stripe_amount(fee, currency),
                                "transfer_data": {"destination": destination}, "metadata": metadata},
        "metadata": metadata,
        "expires_at": _ts(expires_at),
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    try:
        session = stripe_api.checkout_session_create(
            params=params, idempotency_key=f"checkout-{schema}-{participant.public_id}-{_ts(now)}")
    except stripe_api.ProviderError as exc:
        raise PaymentsUnavailable("Payments cannot be taken right now; please try again in a few minutes.") \
            from exc
    payment = Payment.objects.create(
        participant=participant, checkout_session_id=session["id"], checkout_url=session["url"] or "",
        amount=stripe_api.from_stripe_amount(session["amount_total"], currency), currency=currency,
        application_fee=fee)
    hold_extend(participant=participant, until=stripe_api.from_timestamp(session["expires_at"]))
    return payment


def checkout_start_or_release(*, participant: CallParticipant, success_url: str, cancel_url: str) -> Payment:
    """Start checkout right after booking; if it cannot start, give the slot back at once."""
    try:
        return checkout_start(participant=participant, success_url=success_url, cancel_url=cancel_url)
    except ApplicationError:
        booking_release_unpaid(participant_id=participant.pk, reason="Payment could not be started")
        raise


def _lock_payment(session_id: str | None) -> Payment | None:
    """The session's payment, locked after its booking (see ``booking_lock``)."""
    participant_id = Payment.objects.filter(checkout_session_id=session_id or "-").values_list(
        "participant_id", flat=True).first()
    if participant_id is None:
        return None
    booking_lock(participant_id=participant_id)
    return Payment.objects.select_for_update().get(participant_id=participant_id)


def payment_paid(*, session: dict, now: datetime | None = None) -> Payment | None:
    """A completed, paid session (from the webhook or the client's return): confirm the booking once.

    When the hold had already been released, the booking is reinstated if its time
    is still free; otherwise the money goes straight back."""
    if session.get("payment_status") != "paid":
        return None
    now = now or timezone.now()
    with transaction.atomic():
        payment = _lock_payment(session.get("id"))
        if payment is None:
            return None
        if payment.status == Payment.Status.PAID:
            return payment
        payment.status, payment.paid_at = Payment.Status.PAID, now
        payment.payment_intent_id = session.get("payment_intent") or ""
        payment.failure_message = ""
        payment.save()
        kept = booking_payment_received(participant_id=payment.participant_id)
        if not kept:
            from billing.models import Refund
            from billing.refunds import refund_record

            refund = refund_record(payment=payment, amount=payment.amount, reason=Refund.Reason.PAID_TOO_LATE)
            from billing import signals

            signals.payment_not_kept.send(Payment, participant=payment.participant, refund=refund)
        from billing.tasks import payment_settle_task

        sweep_schedule()  # in case the settle task is lost or Stripe is down
        delay_on_commit(payment_settle_task, payment.pk)
    return payment


def payment_expired(*, session: dict) -> Payment | None:
    """The session expired unpaid: release the hold (if it still stands)."""
    with transaction.atomic():
        payment = _lock_payment(session.get("id"))
        if payment is None or payment.status != Payment.Status.OPEN:
            return payment
        payment.status = Payment.Status.EXPIRED
        payment.save(update_fields=["status", "updated_at"])
        booking_release_unpaid(participant_id=payment.participant_id, reason="Payment not completed")
    return payment


def payment_failed(*, intent: dict) -> Payment | None:
    """A declined card: the session stays open for another card; remember why for the client."""
    participant_id = (intent.get("metadata") or {}).get("participant")
    error = intent.get("last_payment_error") or {}
    payment = Payment.objects.filter(participant__public_id=participant_id).first() if participant_id else None
    if payment is None or payment.status != Payment.Status.OPEN:
        return payment
    payment.payment_intent_id = intent.get("id") or payment.payment_intent_id
    payment.failure_message = (error.get("message") or "The card was declined.")[:500]
    payment.save(update_fields=["payment_intent_id", "failure_message", "updated_at"])
    return payment


def checkout_return(*, payment: Payment) -> Payment:
    """The client came back from checkout: ask Stripe rather than wait for the webhook."""
    if payment.status != Payment.Status.OPEN:
        return payment
    try:
        session = stripe_api.checkout_session_get(payment.checkout_session_id)
    except stripe_api.ProviderError:
        return payment
    if session.get("status") == "complete":
        return payment_paid(session=session) or payment
    if session.get("status") == "expired":
        return payment_expired(session=session) or payment
    return payment


def checkout_abandon(*, payment: Payment) -> Payment:
    """The client left checkout: close the session so it cannot be paid later, then free the slot."""
    if payment.status != Payment.Status.OPEN:
        return payment
    try:
        session = stripe_api.checkout_session_expire(payment.checkout_session_id)
    except stripe_api.ProviderError:
        session = None
    if session is None:  # already complete or expired at Stripe: follow what Stripe says
        return checkout_return(payment=payment)
    return payment_expired(session=session) or payment


def session_close(*, payment_id: int) -> None:
    """After a hold was released elsewhere (the periodic release): expire the session at Stripe.

    If the client paid in the meantime, Stripe refuses and the paid session is
    followed instead (the booking is reinstated or refunded)."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or payment.status != Payment.Status.OPEN:
        return
    try:
        stripe_api.checkout_session_expire(payment.checkout_session_id)
    except stripe_api.ProviderError as exc:
        if exc.temporary:
            raise
    checkout_return(payment=payment)


def payment_settle(*, payment_id: int) -> Payment | None:
    """Learn when Stripe makes the tenant's share available (``available_on``) and Stripe's fee."""
    payment = Payment.objects.filter(pk=payment_id, status=Payment.Status.PAID).first()
    account = connected_account()
    if payment is None or account is None or not payment.payment_intent_id:
        return payment
    intent = stripe_api.payment_intent_get(payment.payment_intent_id)
    charge = stripe_api.charge_get(intent["latest_charge"])
    updates: dict = {"charge_id": charge["id"]}
    if charge.get("transfer"):
        transfer = stripe_api.transfer_get(charge["transfer"])
        if transfer.get("destination_payment"):
            destination_payment = stripe_api.charge_get(transfer["destination_payment"],
                                                        account=account.stripe_account_id)
            txn = stripe_api.balance_transaction_get(destination_payment["balance_transaction"],
                                                     account=account.stripe_account_id)
            updates["available_on"] = stripe_api.from_timestamp(txn["available_on"])
    try:
        platform_txn = stripe_api.balance_transaction_get(charge["balance_transaction"])
        updates["stripe_fee"] = int(platform_txn.get("fee", 0))
    except (stripe_api.ProviderError, KeyError, TypeError):
        logger.info("Stripe's fee for %s is not known", charge["id"])
    Payment.objects.filter(pk=payment.pk).update(**updates, updated_at=timezone.now())
    payment.refresh_from_db()
    return payment
