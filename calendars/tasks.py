"""Calendar work; each task runs in the tenant's schema (carried in the task headers)."""

from __future__ import annotations

from celery import shared_task


@shared_task
def connection_sync_task(connection_pk: int) -> str:
    from datetime import timedelta

    from django.utils import timezone

    from calendars.models import CalendarConnection
    from calendars.sync import connection_sync, sync_lock, sync_schedule

    conn = CalendarConnection.objects.filter(pk=connection_pk).first()
    if conn is None:
        return "gone"
    with sync_lock(conn.pk) as locked:
        if not locked:
            # The running sync may have read the provider before this change: look again shortly.
            soon = timezone.now() + timedelta(seconds=5)
            CalendarConnection.objects.filter(pk=conn.pk).update(next_sync_at=soon)
            sync_schedule(soon)
            return "busy"
        return connection_sync(conn)


@shared_task
def calendars_due_task() -> dict:
    from calendars.sync import due_sync

    return due_sync()


@shared_task
def writeback_task(call_pk: int) -> str:
    from calendars.writeback import call_event_write

    return call_event_write(call_id=call_pk)
