"""Calls complete themselves once their time (and the grace period) is over; attendance then
decides billing's refunds."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Least
from django.utils import timezone

from billing.refunds import refund_for_attendance
from booking.models import Call
from video.access import video_settings
from video.models import Attendance, Room
from video.room import STALE_AFTER

COMPLETION_WORK = "video.complete"


def completion_schedule(call: Call) -> None:
    """Make sure the completion task runs when this call's room closes."""
    from core.scheduling import due_work_schedule

    due_work_schedule(kind=COMPLETION_WORK,
                      due_at=call.end_at + timedelta(minutes=video_settings().grace_minutes))


def completion_reschedule() -> None:
    """Have the completion task look again now (it then computes the next due time itself):
    after the grace period changed, or for calls confirmed before calls completed themselves."""
    from django.utils import timezone

    from core.scheduling import due_work_schedule

    due_work_schedule(kind=COMPLETION_WORK, due_at=timezone.now())


@transaction.atomic
def call_complete(*, call_id: int, now: datetime) -> bool:
    """Close the room, mark the call completed and settle refunds by who came. False when the
    call is not (or no longer) due — canceled, already completed, or moved later."""
    call = Call.objects.select_for_update().filter(pk=call_id).first()
    grace = timedelta(minutes=video_settings().grace_minutes)
    if call is None or call.status != Call.Status.CONFIRMED or call.end_at + grace > now:
        return False
    # Anyone still "in" left at the latest when last heard from (a connection can die unseen).
    Attendance.objects.filter(call=call, left_at__isnull=True).update(
        left_at=Least(Value(now), F("seen_at") + STALE_AFTER))
    rows = Attendance.objects.filter(call=call)
    host_joined = rows.filter(participant__isnull=True).exists()
    joined = set(rows.filter(participant__isnull=False).values_list("participant_id", flat=True))
    call.status = Call.Status.COMPLETED
    call.save(update_fields=["status", "updated_at"])
    Room.objects.filter(call=call, completed_at__isnull=True).update(completed_at=now)
    refund_for_attendance(call=call, host_joined=host_joined, joined_participant_ids=joined, now=now)
    transaction.on_commit(lambda: _room_closed(call), robust=True)
    return True


def _room_closed(call: Call) -> None:
    """Tell anyone still connected that the call is over (their page shows the rating form)."""
    from video.live import room_broadcast

    room_broadcast(call, {"type": "call_over", "message": "This call is over."})


def calls_complete_due(*, now: datetime | None = None) -> int:
    """Complete every call that is due, then tell the public index when the next one is."""
    from core.scheduling import due_work_recompute

    now = now or timezone.now()
    grace = timedelta(minutes=video_settings().grace_minutes)
    due = list(Call.objects.filter(status=Call.Status.CONFIRMED, end_at__lte=now - grace)
               .order_by("end_at").values_list("pk", flat=True)[:500])
    completed = sum(call_complete(call_id=pk, now=now) for pk in due)

    def next_due() -> datetime | None:
        end = Call.objects.filter(status=Call.Status.CONFIRMED).order_by("end_at") \
            .values_list("end_at", flat=True).first()
        return None if end is None else end + grace  # at once again if more than 500 were due

    due_work_recompute(kind=COMPLETION_WORK, next_due=next_due)
    return completed
