"""Calendars' side of the booking signals: a confirmed, moved or canceled call is written into
(or out of) the consultant's writable calendar, through the write-back outbox."""

from __future__ import annotations

from django.dispatch import receiver

from booking import signals
from calendars.writeback import call_event_mark


@receiver(signals.booking_confirmed, dispatch_uid="calendars_booking_confirmed")
def _confirmed(sender, *, call, participant, **kwargs) -> None:
    call_event_mark(call)


@receiver(signals.call_rescheduled, dispatch_uid="calendars_call_rescheduled")
def _rescheduled(sender, *, call, old_start, old_end, **kwargs) -> None:
    call_event_mark(call)


@receiver(signals.booking_canceled, dispatch_uid="calendars_booking_canceled")
def _canceled(sender, *, call, participant, **kwargs) -> None:
    call_event_mark(call)
