"""Reminders: scheduled when a call is confirmed, moved when it moves, dropped
when it is canceled. Each tenant's earliest unsent reminder is published in the
public due-work index (``core.DueWork``), so the per-minute dispatcher finds the
tenants with something due in one indexed query, whatever their number."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from booking.models import Call
from core.models import settings_row
from notifications.models import NotificationSettings, Reminder

REMINDERS_WORK = "notifications.reminders"


def notification_settings() -> NotificationSettings:
    return settings_row(NotificationSettings)


def _next_reminder() -> datetime | None:
    return Reminder.objects.filter(sent_at__isnull=True).order_by("due_at").values_list(
        "due_at", flat=True).first()


def _announce(call: Call) -> None:
    """Adding work only ever lowers the tenant's due-work entry; the reminders task itself
    recomputes it (see ``due_work_recompute``)."""
    from core.scheduling import due_work_schedule

    due = Reminder.objects.filter(call=call, sent_at__isnull=True).order_by("due_at").values_list(
        "due_at", flat=True).first()
    if due is not None:
        due_work_schedule(kind=REMINDERS_WORK, due_at=due)


def reminders_schedule(call: Call, *, now: datetime | None = None) -> None:
    """The call's reminders at the tenant's offsets (once per call: a group call's later
    participants share them); those already past are not sent late."""
    now = now or timezone.now()
    if Reminder.objects.filter(call=call).exists():
        return
    Reminder.objects.bulk_create([
        Reminder(call=call, offset_minutes=offset, due_at=call.start_at - timedelta(minutes=offset),
                 sent_at=None if call.start_at - timedelta(minutes=offset) > now else now)
        for offset in notification_settings().reminder_offsets_minutes])
    _announce(call)


def reminders_move(call: Call, *, now: datetime | None = None) -> None:
    """The call moved: each reminder keeps its own offset, counted from the new start."""
    now = now or timezone.now()
    for item in Reminder.objects.filter(call=call):
        item.due_at = call.start_at - timedelta(minutes=item.offset_minutes)
        item.sent_at = None if item.due_at > now else (item.sent_at or now)
        item.save(update_fields=["due_at", "sent_at"])
    _announce(call)


def reminders_drop(call: Call) -> None:
    Reminder.objects.filter(call=call, sent_at__isnull=True).delete()


REMINDERS_PER_TRANSACTION = 100


def reminders_send_due(*, now: datetime | None = None) -> int:
    """Queue the due reminders' emails (to every participant and the host), each reminder once.

    When several of a call's reminders are due at once (the dispatcher was down), only the
    nearest one is sent, worded from the time really left; a reminder is not sent once the call
    is less than five minutes away. A backlog is worked through a hundred reminders per
    transaction: each commit hands its emails to a send task at once, and no lock is held
    over the whole backlog."""
    from core.scheduling import due_work_recompute

    now = now or timezone.now()
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(Reminder.objects.select_for_update(skip_locked=True, of=("self",)).select_related(
                "call", "call__consultant__profile").filter(sent_at__isnull=True, due_at__lte=now)
                .order_by("call_id", "offset_minutes")[:REMINDERS_PER_TRANSACTION])
            if not batch:
                break
            # A call's reminders are never split across batches (its later ones are marked with it).
            calls = {item.call_id for item in batch}
            rest = Reminder.objects.select_for_update(of=("self",)).filter(
                call_id__in=calls, sent_at__isnull=True, due_at__lte=now).exclude(pk__in=[i.pk for i in batch])
            sent += _send_batch(batch + list(rest.select_related("call", "call__consultant__profile")), now)
    due_work_recompute(kind=REMINDERS_WORK, next_due=_next_reminder)
    return sent


def _send_batch(items: list[Reminder], now: datetime) -> int:
    from notifications.compose import reminder

    sent = 0
    seen: set[int] = set()
    for item in sorted(items, key=lambda r: (r.call_id, r.offset_minutes)):
        call = item.call
        if item.call_id not in seen and call.status == Call.Status.CONFIRMED \
                and call.start_at > now + timedelta(minutes=5):
            reminder(call, call.start_at - now)
            sent += 1
        seen.add(item.call_id)
    Reminder.objects.filter(pk__in=[item.pk for item in items]).update(sent_at=now)
    return sent
