"""Video's side of the booking signals: every confirmed or moved call will be completed."""

from __future__ import annotations

from django.dispatch import receiver

from booking import signals
from video.completion import completion_schedule


@receiver(signals.booking_confirmed, dispatch_uid="video_booking_confirmed")
def _confirmed(sender, *, call, participant, **kwargs) -> None:
    completion_schedule(call)


@receiver(signals.call_rescheduled, dispatch_uid="video_call_rescheduled")
def _rescheduled(sender, *, call, old_start, old_end, **kwargs) -> None:
    completion_schedule(call)
