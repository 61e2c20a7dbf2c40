"""Writing booked calls into the consultant's writable calendar.

Booking changes (confirm, reschedule, cancel) mark the call's ``CallCalendarEvent`` pending in
their own transaction — an outbox — and a task reconciles it after commit: the event exists, at
the call's time, while the call is confirmed, and is gone otherwise.

- **One writer at a time**: an attempt takes a two-minute lease (committed before any provider
  call); a task that finds the row leased leaves it. Each change raises the row's ``revision``;
  a write that started before a change does not mark the row done but queues the next attempt,
  so the newest state is always written last.
- **Failures back off** (30 s … 1 h, or the provider's ``Retry-After``) and the periodic work
  retries them. While the destination account needs reconnecting nothing is attempted and
  nothing is given up: reconnecting writes every upcoming call again.
- **Creating is idempotent** at the provider (Google: an event id derived from the call; Graph:
  ``transactionId``), so a retry after a lost answer does not duplicate the event."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
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
        consultant_id=consultant_id, writable=True).first()


def _queue(call_id: int, now: datetime) -> None:
    from calendars.sync import sync_schedule
    from calendars.tasks import writeback_task
    from core.tasks import delay_on_commit

    sync_schedule(now)
    delay_on_commit(writeback_task, call_id)


def call_event_mark(call) -> None:
    """Inside the booking change's transaction: the call's calendar event needs reconciling.

    Nothing is recorded for a consultant without a writable calendar, unless an event was written
    earlier (it must then follow the call)."""
    now = timezone.now()
    changed = CallCalendarEvent.objects.filter(call=call).update(
        pending=True, revision=F("revision") + 1, attempts=0, next_attempt_at=now, last_error="")
    if not changed:
        if not ExternalCalendar.objects.filter(consultant_id=call.consultant_id, writable=True).exists():
            return
        CallCalendarEvent.objects.get_or_create(call=call, defaults={"next_attempt_at": now})
    _queue(call.pk, now)


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
        if row is None or row.next_attempt_at is None or row.next_attempt_at > now \
                or (row.leased_until and row.leased_until > now):
            return None
        row.leased_until = now + LEASE
        row.attempts += 1
        row.save(update_fields=["leased_until", "attempts"])
    return row


def _delete(calendar: ExternalCalendar, event_id: str) -> None:
    api = client(calendar.connection.provider)
    with_token(calendar.connection, lambda access: api.event_delete(
        access_token=access, calendar_id=calendar.provider_calendar_id, event_id=event_id))


def call_event_write(*, call_id: int, now: datetime | None = None) -> str:
    """Reconcile one call's event. Returns "written", "deleted", "nothing", "waiting" (the
    destination needs reconnecting), "retry", "gave_up" or "busy" (not due, or another attempt
    holds it)."""
    from calendars.sync import needs_reconnect

    now = now or timezone.now()
    row = _lease(call_id, now)
    if row is None:
        return "busy"
    call = row.call
    wanted = call.status == "confirmed"
    target = writable_calendar(call.consultant_id) if wanted else None
    current = ExternalCalendar.objects.select_related("connection").filter(pk=row.calendar_id).first() \
        if row.calendar_id else None
    outcome = "nothing"
    if row.provider_event_id and current is not None and (not wanted or current.pk != getattr(target, "pk", None)):
        if current.connection.status != CalendarConnection.Status.ACTIVE:
            logger.info("Call %s: its old event stays in an account that needs reconnecting", call.pk)
        else:
            try:
                _delete(current, row.provider_event_id)
            except GrantRevoked as exc:
                needs_reconnect(current.connection, exc.message)  # that event is out of reach now
            except ProviderError as exc:
                return _failed(row, exc, now)
        row.provider_event_id, row.calendar = "", None
        outcome = "deleted"
    if wanted and target is not None:
        if target.connection.status != CalendarConnection.Status.ACTIVE:
            return _waiting(row)
        same = current is not None and current.pk == target.pk and row.provider_event_id
        api = client(target.connection.provider)
        try:
            row.provider_event_id = with_token(target.connection, lambda access: api.event_put(
                access_token=access, calendar_id=target.provider_calendar_id,
                event_id=row.provider_event_id if same else "", data=_event_data(call)))[:1024]
        except GrantRevoked as exc:
            needs_reconnect(target.connection, exc.message)
            return _waiting(row)
        except ProviderError as exc:
            return _failed(row, exc, now)
        row.calendar = target
        outcome = "written"
    return _done(row, outcome, now)


def _done(row: CallCalendarEvent, outcome: str, now: datetime) -> str:
    """Mark the row done — unless the call changed while this attempt ran: then the newer state
    is written by another attempt, queued here."""
    with transaction.atomic():
        settled = CallCalendarEvent.objects.filter(pk=row.pk, revision=row.revision).update(
            calendar=row.calendar, provider_event_id=row.provider_event_id, written_sequence=row.call.sequence,
            pending=False, attempts=0, next_attempt_at=None, leased_until=None, last_error="")
        if not settled:
            CallCalendarEvent.objects.filter(pk=row.pk).update(
                calendar=row.calendar, provider_event_id=row.provider_event_id, leased_until=None,
                next_attempt_at=now)
            _queue(row.call_id, now)
    return outcome


def _waiting(row: CallCalendarEvent) -> str:
    """The destination account needs reconnecting: keep the row pending, attempt nothing until
    then (reconnecting makes it due again), count no attempt."""
    CallCalendarEvent.objects.filter(pk=row.pk).update(
        calendar=row.calendar, provider_event_id=row.provider_event_id, leased_until=None, next_attempt_at=None,
        attempts=0, last_error="The calendar account needs reconnecting.")
    return "waiting"


def _failed(row: CallCalendarEvent, exc: ProviderError, now: datetime) -> str:
    """Keep what was done (an event deleted before the failure), and schedule the next attempt."""
    from calendars.sync import sync_schedule

    give_up = not exc.temporary and row.attempts >= GIVE_UP_AFTER
    retry_at = now + (timedelta(seconds=exc.retry_after) if exc.retry_after else _backoff(row.attempts))
    CallCalendarEvent.objects.filter(pk=row.pk).update(
        calendar=row.calendar, provider_event_id=row.provider_event_id, last_error=exc.message[:300],
        pending=not give_up, next_attempt_at=None if give_up else retry_at, leased_until=None)
    logger.warning("Writing call %s to its calendar failed (%s)%s", row.call_id, exc.message,
                   "; giving up" if give_up else f"; retry at {retry_at:%H:%M:%S}")
    if give_up:
        return "gave_up"
    sync_schedule(retry_at)
    return "retry"


def writebacks_due(*, now: datetime) -> int:
    """Every pending write-back whose time has come (the sweep behind the after-commit task)."""
    due = CallCalendarEvent.objects.filter(pending=True, next_attempt_at__lte=now).values_list("call_id", flat=True)
    done = 0
    for call_id in list(due[:200]):
        try:
            done += call_event_write(call_id=call_id, now=now) in ("written", "deleted", "nothing")
        except Exception:  # one odd call must not stop the others
            logger.exception("Writing call %s to its calendar failed unexpectedly", call_id)
    return done


def calls_rewrite_for(consultant_id: int) -> None:
    """After the writable calendar changed, or its account was reconnected: every upcoming
    confirmed call is written again — into the new calendar, out of the old one."""
    from booking.models import Call
    from calendars.sync import sync_schedule

    now = timezone.now()
    calls = Call.objects.filter(consultant_id=consultant_id, status=Call.Status.CONFIRMED, end_at__gt=now)
    CallCalendarEvent.objects.bulk_create(
        [CallCalendarEvent(call=call, pending=True, next_attempt_at=now) for call in calls],
        ignore_conflicts=True)
    CallCalendarEvent.objects.filter(call__consultant_id=consultant_id, call__end_at__gt=now).filter(
        call__status=Call.Status.CONFIRMED).update(pending=True, next_attempt_at=now, revision=F("revision") + 1)
    CallCalendarEvent.objects.filter(call__consultant_id=consultant_id, pending=False, calendar__isnull=False,
                                     call__end_at__gt=now).exclude(call__status=Call.Status.CONFIRMED) \
        .update(pending=True, next_attempt_at=now, revision=F("revision") + 1)
    sync_schedule(now)


def events_remove_for(conn: CalendarConnection) -> None:
    """Before a connection goes: take the events of upcoming calls out of its calendars (best
    effort), so nothing we can no longer update stays behind."""
    now = timezone.now()
    rows = CallCalendarEvent.objects.select_related("calendar__connection").filter(
        calendar__connection=conn, call__end_at__gt=now).exclude(provider_event_id="")
    for row in rows:
        try:
            _delete(row.calendar, row.provider_event_id)
        except ProviderError as exc:
            logger.info("Event of call %s left in the calendar (%s)", row.call_id, exc.message)
    CallCalendarEvent.objects.filter(calendar__connection=conn).update(provider_event_id="", calendar=None,
                                                                      pending=False, next_attempt_at=None)
