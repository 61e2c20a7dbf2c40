"""Billing's side of booking's signals."""

from __future__ import annotations

from django.dispatch import receiver

from billing.refunds import refund_for_cancel
from booking import signals


@receiver(signals.booking_canceled, dispatch_uid="billing_refund_on_cancel")
def _refund_on_cancel(sender, *, participant, by, now, **kwargs) -> None:
    if participant is not None:
        refund_for_cancel(participant=participant, by=by, now=now)
