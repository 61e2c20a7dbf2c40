"""Writing booked calls into the consultant's writable calendar.

Booking changes (confirm, reschedule, cancel) mark the call's ``CallCalendarEvent`` pending in
their own transaction — an outbox — and a task reconciles it after commit: the event exists, at
the call's time, while the call is confirmed, and is gone otherwise. Each attempt takes a
two-minute lease first, so two workers never write the same call at once; failures back off
(30 s … 1 h, or the provider's Retry-After) and are retried by the periodic sweep. Creating is
idempotent at the provider (Google: an id derived from the call; Graph: ``transactionId``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from calendars.connect import with_token
from calendars.models import CalendarConnection, CallCalendarEvent, ExternalCalendar
from calendars.providers import client
from calendars.providers.base import CallEventData, GrantRevoked, ProviderError

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
GIVE_UP_AFTER = 12


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30) * (2 ** max(attempts - 1, 0)), timedelta(hours=1))


def writable_calendar(consultant_id: int) -> ExternalCalendar | None:
    return ExternalCalendar.objects.select_related("connection").filter(
        consultant_id=consultant_id, writable=True, connection__status=CalendarConnection.Status.ACTIVE).first()


def call_event_mark(call) -> None:
    """Inside the booking change's transaction: the call's calendar event needs reconciling.

    Nothing is recorded for a consultant without a writable calendar, unless an event was written
    earlier (it must then follow the call)."""
    from calendars.sync import sync_schedule
    from calendars.tasks import writeback_task
    from core.tasks import delay_on_commit

    exists = CallCalendarEvent.objects.filter(call=call).exists()
    if not exists and not ExternalCalendar.objects.filter(consultant_id=call.consultant_id, writable=True).exists():
        return
    now = timezone.now()
    CallCalendarEvent.objects.update_or_create(
        call=call, defaults={"pending": True, "attempts": 0, "next_attempt_at": now, "last_error": ""})
    sync_schedule(now)
    delay_on_commit(writeback_task, call.pk)


def _event_data(call) -> CallEventData:
    from notifications.compose import host_of

    clients = [p.name for p in call.participants.all() if p.status == "confirmed"]
    who = ", ".join(clients[:10]) + (f" and {len(clients) - 10} more" if len(clients) > 10 else "")
    host = host_of(call)
    join_url = host.join_link
    lines = [f"{call.title}, booked on your booking page.", f"With: {who or 'no one yet'}",
             f"Join: {join_url}", f"Details: {host.link}"]
    return CallEventData(call_public_id=str(call.public_id), title=f"{call.title} — {who}" if who else call.title,
                         description="\n".join(lines), start=call.start_at, end=call.end_at, join_url=join_url)


def _lease(call_id: int, now: datetime) -> CallCalendarEvent | None:
    """Claim the row for one attempt (committed before any provider call)."""
    with transaction.atomic():
        row = CallCalendarEvent.objects.select_for_update(skip_locked=True).select_related("call").filter(
            call_id=call_id, pending=True).first()
        if row is None or (row.next_attempt_at and row.next_attempt_at > now):
            return None
        row.next_attempt_at = now + LEASE
        row.attempts += 1
        row.save(update_fields=["next_attempt_at", "attempts"])
    return row


def call_event_write(*, call_id: int, now: datetime | None = None) -> str:
    """Reconcile one call's event. Returns "written", "deleted", "nothing", "retry", "gave_up" or
    "busy" (another attempt holds it)."""
    now = now or timezone.now()
    row = _lease(call_id, now)
    if row is None:
        return "busy"
    call = row.call
    wanted = call.status == "confirmed"
    target = writable_calendar(call.consultant_id) if wanted else None
    current = ExternalCalendar.objects.select_related("connection").filter(pk=row.calendar_id).first() \
        if row.calendar_id else None
    try:
        outcome = "nothing"
        if row.provider_event_id and current is not None and (not wanted or current.pk != getattr(target, "pk", None)):
            _delete(current, row.provider_event_id)
            row.provider_event_id, row.calendar = "", None
            outcome = "deleted"
        if wanted and target is not None:
            same = current is not None and current.pk == target.pk and row.provider_event_id
            api = client(target.connection.provider)
            row.provider_event_id = with_token(target.connection, lambda access: api.event_put(
                access_token=access, calendar_id=target.provider_calendar_id,
                event_id=row.provider_event_id if same else "", data=_event_data(call)))[:1024]
            row.calendar = target
            outcome = "written"
    except GrantRevoked as exc:
        from calendars.sync import needs_reconnect

        needs_reconnect((target or current).connection, exc.message)
        return _failed(row, exc, now)
    except ProviderError as exc:
        return _failed(row, exc, now)
    with transaction.atomic():
        CallCalendarEvent.objects.filter(pk=row.pk).update(
            calendar=row.calendar, provider_event_id=row.provider_event_id, written_sequence=call.sequence,
            pending=False, attempts=0, next_attempt_at=None, last_error="")
    return outcome


def _delete(calendar: ExternalCalendar, event_id: str) -> None:
    api = client(calendar.connection.provider)
    with_token(calendar.connection, lambda access: api.event_delete(
        access_token=access, calendar_id=calendar.provider_calendar_id, event_id=event_id))


def _failed(row: CallCalendarEvent, exc: ProviderError, now: datetime) -> str:
    """Keep what was done (an event deleted before the failure), and schedule the next attempt."""
    from calendars.sync import sync_schedule

    give_up = not exc.temporary and row.attempts >= GIVE_UP_AFTER
    retry_at = now + (timedelta(seconds=exc.retry_after) if exc.retry_after else _backoff(row.attempts))
    CallCalendarEvent.objects.filter(pk=row.pk).update(
        calendar=row.calendar, provider_event_id=row.provider_event_id, last_error=exc.message[:300],
        pending=not give_up, next_attempt_at=None if give_up else retry_at)
    logger.warning("Writing call %s to its calendar failed (%s)%s", row.call_id, exc.message,
                   "; giving up" if give_up else f"; retry at {retry_at:%H:%M:%S}")
    if give_up:
        return "gave_up"
    sync_schedule(retry_at)
    return "retry"


def writebacks_due(*, now: datetime) -> int:
    """Every pending write-back whose time has come (the sweep behind the after-commit task)."""
    due = CallCalendarEvent.objects.filter(pending=True, next_attempt_at__lte=now).values_list("call_id", flat=True)
    return sum(call_event_write(call_id=call_id, now=now) in ("written", "deleted", "nothing")
               for call_id in list(due[:200]))


def calls_rewrite_for(consultant_id: int) -> None:
    """After the writable calendar changed (or was reconnected): every upcoming confirmed call is
    written again — into the new calendar, out of the old one."""
    from booking.models import Call
    from calendars.sync import sync_schedule

    now = timezone.now()
    calls = Call.objects.filter(consultant_id=consultant_id, status=Call.Status.CONFIRMED, end_at__gt=now)
    rows = [CallCalendarEvent(call=call, pending=True, next_attempt_at=now) for call in calls]
    CallCalendarEvent.objects.bulk_create(rows, update_conflicts=True, unique_fields=["call"],
                                          update_fields=["pending", "next_attempt_at"])
    CallCalendarEvent.objects.filter(call__consultant_id=consultant_id, pending=False,
                                     calendar__isnull=False).exclude(call__in=calls) \
        .filter(call__end_at__gt=now).update(pending=True, next_attempt_at=now)
    sync_schedule(now)
