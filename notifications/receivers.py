"""Notifications' side of the booking and billing signals: every message and
reminder is recorded in the transaction of the change that causes it."""

from __future__ import annotations

from django.dispatch import receiver

from billing import signals as billing_signals
from booking import signals
from booking.models import Call, Offering
from notifications import compose
from notifications.reminders import reminders_drop, reminders_move, reminders_schedule


@receiver(signals.booking_confirmed, dispatch_uid="notifications_booking_confirmed")
def _confirmed(sender, *, call, participant, **kwargs) -> None:
    compose.booking_confirmed(call, participant)
    reminders_schedule(call)


@receiver(signals.booking_canceled, dispatch_uid="notifications_booking_canceled")
def _canceled(sender, *, call, participant, by, reason="", **kwargs) -> None:
    compose.booking_canceled(call, participant, by, reason)
    if call.status == Call.Status.CANCELED or (call.kind == Offering.Kind.INDIVIDUAL):
        reminders_drop(call)


@receiver(signals.call_rescheduled, dispatch_uid="notifications_call_rescheduled")
def _rescheduled(sender, *, call, old_start, old_end, **kwargs) -> None:
    compose.call_rescheduled(call, old_start, old_end)
    reminders_move(call)


@receiver(billing_signals.payout_created, dispatch_uid="notifications_payout_sent")
def _payout(sender, *, payout, requested_by, **kwargs) -> None:
    if requested_by is not None:
        compose.payout_sent(payout, requested_by)


@receiver(billing_signals.payment_not_kept, dispatch_uid="notifications_payment_not_kept")
def _not_kept(sender, *, participant, refund, **kwargs) -> None:
    compose.payment_refunded_late(participant, refund)
