"""Video's side of the booking signals: every confirmed or moved call will be completed, and a
canceled or moved call's room lets nobody stay in."""

from __future__ import annotations

from django.dispatch import receiver
from django.utils import timezone

from booking import signals
from booking.models import Call
from core.tasks import on_commit_in_schema
from video.access import room_window, video_settings
from video.completion import completion_schedule
from video.live import room_put_out


@receiver(signals.booking_confirmed, dispatch_uid="video_booking_confirmed")
def _confirmed(sender, *, call, participant, **kwargs) -> None:
    completion_schedule(call)


@receiver(signals.call_rescheduled, dispatch_uid="video_call_rescheduled")
def _rescheduled(sender, *, call, old_start, old_end, **kwargs) -> None:
    completion_schedule(call)
    opens_at, closes_at = room_window(call, video_settings())
    if not opens_at <= timezone.now() <= closes_at:
        on_commit_in_schema(lambda: room_put_out(
            call, "This call has moved to another time: use the link in your email then."))


@receiver(signals.booking_canceled, dispatch_uid="video_booking_canceled")
def _canceled(sender, *, call, participant, **kwargs) -> None:
    if call.status == Call.Status.CANCELED:
        on_commit_in_schema(lambda: room_put_out(call, "This call was canceled."))
    elif participant is not None:
        on_commit_in_schema(lambda: room_put_out(call, "Your booking for this call was canceled.",
                                           participant_id=participant.pk))
