"""Reminders: scheduled when a call is confirmed, moved when it moves, dropped
when it is canceled. Each tenant's earliest unsent reminder is published in the
public due-work index (``core.DueWork``), so the per-minute dispatcher finds the
tenants with something due in one indexed query, whatever their number."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from booking.models import Call
from notifications.models import NotificationSettings, Reminder

REMINDERS_WORK = "notifications.reminders"


def notification_settings() -> NotificationSettings:
    return NotificationSettings.objects.first() or NotificationSettings.objects.create()


def _publish_next() -> None:
    from core.scheduling import due_work_set

    next_due = Reminder.objects.filter(sent_at__isnull=True).order_by("due_at").values_list(
        "due_at", flat=True).first()
    due_work_set(kind=REMINDERS_WORK, due_at=next_due)


def reminders_schedule(call: Call, *, now: datetime | None = None) -> None:
    """The call's reminders, at the tenant's offsets; those already past are not sent late."""
    now = now or timezone.now()
    for offset in notification_settings().reminder_offsets_minutes:
        due = call.start_at - timedelta(minutes=offset)
        Reminder.objects.update_or_create(call=call, offset_minutes=offset, defaults={
            "due_at": due, "sent_at": None if due > now else now})
    _publish_next()


def reminders_move(call: Call, *, now: datetime | None = None) -> None:
    if Reminder.objects.filter(call=call).exists():
        reminders_schedule(call, now=now)


def reminders_drop(call: Call) -> None:
    Reminder.objects.filter(call=call, sent_at__isnull=True).delete()
    _publish_next()


def reminders_send_due(*, now: datetime | None = None) -> int:
    """Queue every due reminder's emails (to every participant and the host), each reminder once."""
    from notifications.compose import reminder

    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        due = list(Reminder.objects.select_for_update(skip_locked=True, of=("self",)).select_related(
            "call", "call__consultant__profile").filter(sent_at__isnull=True, due_at__lte=now))
        for item in due:
            if item.call.status == Call.Status.CONFIRMED and item.call.start_at > now:
                reminder(item.call, item.offset_minutes)
                sent += 1
            item.sent_at = now
            item.save(update_fields=["sent_at"])
        _publish_next()
    return sent
