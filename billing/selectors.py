"""Reads other apps need from billing."""

from __future__ import annotations

from billing.models import Payment, Refund


def payment_of(participant) -> Payment | None:
    return getattr(participant, "payment", None)


def refund_of(participant) -> Refund | None:
    """The participant's refund (uses what ``select_related("payment__refund")`` loaded)."""
    payment = payment_of(participant)
    return getattr(payment, "refund", None) if payment is not None else None


def cancel_refund_preview(*, participant, now=None):
    """What the client would get back by canceling now (shown before they confirm), or None."""
    from django.utils import timezone

    from billing.refunds import refund_amount_for_cancel
    from booking.models import Call
    from core.money import Money

    payment = payment_of(participant)
    if payment is None or payment.status != Payment.Status.PAID:
        return None
    amount, _ = refund_amount_for_cancel(payment=payment, by=Call.CanceledBy.CLIENT, call=participant.call,
                                         now=now or timezone.now())
    return Money(amount, payment.currency)


def payments_setup_needed() -> bool:
    """Paid offerings are listed but cannot be booked until the Stripe account is ready."""
    from billing.onboarding import payments_ready
    from booking.models import Offering

    return Offering.objects.filter(price_amount__gt=0, active=True, archived_at__isnull=True).exists() \
        and not payments_ready()
