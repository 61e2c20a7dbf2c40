"""Mirroring busy events from connected calendars into the tenant's schema.

The slot engine reads only the mirror (``ExternalCalendarEvent``): a slow or failing provider
never slows or breaks a booking page. A sync asks for what changed since its last position
(Google's ``syncToken``, Graph's ``deltaLink``), follows every page, and applies the result in one
transaction; a forgotten position (410) means one full pass. A temporary failure (network, 429,
5xx) reschedules the connection — after the provider's ``Retry-After`` when it gave one — and a
refused grant marks it "needs reconnecting" and tells the consultant once."""

from __future__ import annotations

import logging
import zlib
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from calendars import push
from calendars.connect import with_token
from calendars.models import CalendarConnection, ExternalCalendar, ExternalCalendarEvent
from calendars.providers import client
from calendars.providers.base import (
    GrantRevoked,
    ProviderError,
    RemoteEvent,
    RemoteNotFound,
    SyncResult,
    SyncTokenInvalid,
)

logger = logging.getLogger(__name__)

SYNC_WORK = "calendars.sync"
DEFAULT_HORIZON_DAYS = 60
# Mirror a month past the horizon, so the window slides for weeks before a full pass is needed.
HORIZON_MARGIN = timedelta(days=30)
# Events that started a day ago may still be running (and time zones reach back that far).
LOOKBACK = timedelta(days=1)
RETRY_MIN = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)


def horizon_days(consultant_id: int) -> int:
    """How far ahead the consultant's offerings can be booked (the longest horizon)."""
    from booking.models import Offering

    longest = Offering.objects.filter(consultant_id=consultant_id, archived_at__isnull=True) \
        .aggregate(longest=Max("horizon_days"))["longest"]
    return max(longest or 0, DEFAULT_HORIZON_DAYS)


def window_for(consultant_id: int, now: datetime) -> tuple[datetime, datetime]:
    return now - LOOKBACK, now + timedelta(days=horizon_days(consultant_id)) + timedelta(days=1)


# --- Applying what a provider returned ------------------------------------------------------------


def _row(calendar: ExternalCalendar, event: RemoteEvent) -> ExternalCalendarEvent:
    return ExternalCalendarEvent(
        calendar=calendar, consultant_id=calendar.consultant_id, provider_event_id=event.id[:1024],
        start=event.start, end=event.end, all_day=event.all_day, transparency=event.transparency,
        status=event.status)


def mirror_apply(calendar: ExternalCalendar, result: SyncResult, *, window: tuple[datetime, datetime],
                 now: datetime) -> int:
    """Write ``result`` into the mirror; returns how many events the calendar now mirrors.

    Kept: events that overlap the window and have a length. Dropped: removed ones, those outside
    the window, and the events the product wrote for calls (they are the calls themselves)."""
    keep: dict[str, RemoteEvent] = {}
    drop: set[str] = set()
    for event in result.events:
        inside = (not event.removed and not event.ours and event.start is not None and event.end is not None
                  and event.end > event.start and event.end > window[0] and event.start < window[1])
        if inside:
            keep[event.id] = event
            drop.discard(event.id)
        else:
            drop.add(event.id)
            keep.pop(event.id, None)
    with transaction.atomic():
        locked = ExternalCalendar.objects.select_for_update().filter(pk=calendar.pk).first()
        if locked is None:
            return 0  # disconnected meanwhile
        events = ExternalCalendarEvent.objects.filter(calendar=calendar)
        if result.full:
            events.exclude(provider_event_id__in=list(keep)).delete()
        elif drop:
            events.filter(provider_event_id__in=list(drop)).delete()
        # Past events are of no use to the slot engine.
        events.filter(end__lte=now - LOOKBACK).delete()
        ExternalCalendarEvent.objects.bulk_create(
            [_row(calendar, event) for event in keep.values()], batch_size=1000,
            update_conflicts=True, unique_fields=["calendar", "provider_event_id"],
            update_fields=["start", "end", "all_day", "transparency", "status"])
        locked.sync_token = result.next_token
        locked.synced_at = now
        if result.full:
            locked.mirrored_until = window[1]
        locked.save(update_fields=["sync_token", "synced_at", "mirrored_until"])
        calendar.sync_token, calendar.synced_at, calendar.mirrored_until = (
            locked.sync_token, locked.synced_at, locked.mirrored_until)
        return events.count()


def calendar_sync(conn: CalendarConnection, calendar: ExternalCalendar, *, now: datetime) -> int:
    """One calendar: incremental when its position is still good, otherwise a full pass."""
    wanted = window_for(conn.consultant_id, now)
    token = calendar.sync_token
    if not calendar.mirrored_until or calendar.mirrored_until < wanted[1]:
        token = ""  # the horizon moved past what is mirrored
    window = (wanted[0], wanted[1] + HORIZON_MARGIN) if not token else (wanted[0], calendar.mirrored_until)
    api = client(conn.provider)

    def fetch(sync_token: str) -> SyncResult:
        return with_token(conn, lambda access: api.events_sync(
            access_token=access, calendar_id=calendar.provider_calendar_id, sync_token=sync_token,
            window=window, time_zone=calendar.time_zone))

    try:
        result = fetch(token)
    except SyncTokenInvalid:
        logger.info("Sync position of calendar %s expired; syncing it in full", calendar.pk)
        window = (wanted[0], wanted[1] + HORIZON_MARGIN)
        result = fetch("")
    return mirror_apply(calendar, result, window=window, now=now)


# --- Connections ------------------------------------------------------------------------------------


def _retry_at(conn: CalendarConnection, exc: ProviderError, now: datetime) -> datetime:
    if exc.retry_after:
        return now + timedelta(seconds=exc.retry_after)
    # Back off from the last success: 30 s, then doubling, at most an hour.
    since = now - (conn.last_synced_at or now)
    return now + min(max(RETRY_MIN, since / 4), RETRY_MAX)


def connection_sync(conn: CalendarConnection, *, now: datetime | None = None, list_calendars: bool = False) -> str:
    """Sync every readable calendar of ``conn`` and keep its push channels open.

    Each calendar on its own: one that fails does not hold the others back. A calendar the
    provider no longer has (404) is dropped after the calendar list is read again; the periodic
    poll (``list_calendars``) reads the list too, so calendars added at the provider appear.

    Returns what happened: "synced", "retry" (temporary failure, rescheduled), "needs_reconnect",
    "failed" (the provider refused; polled again later) or "skipped"."""
    now = now or timezone.now()
    if conn.status == CalendarConnection.Status.NEEDS_RECONNECT:
        return "skipped"
    if conn.provider == "ics":
        from calendars.ics import ics_sync  # builds on this module

        return ics_sync(conn, now=now)
    failures: list[ProviderError] = []
    try:
        if list_calendars:
            try:
                _calendars_refresh(conn)
            except GrantRevoked:
                raise
            except ProviderError as exc:
                failures.append(exc)
        for calendar in conn.calendars.filter(readable=True):
            try:
                calendar_sync(conn, calendar, now=now)
            except GrantRevoked:
                raise
            except RemoteNotFound:
                _calendars_refresh(conn)
            except ProviderError as exc:
                logger.warning("Sync of calendar %s failed: %s", calendar.pk, exc.message)
                failures.append(exc)
        push.channels_ensure(conn, now=now)
    except GrantRevoked as exc:
        needs_reconnect(conn, exc.message)
        return "needs_reconnect"
    if failures:
        temporary = [exc for exc in failures if exc.temporary]
        when = min(_retry_at(conn, exc, now) for exc in temporary) if temporary \
            else now + timedelta(seconds=settings.CALENDAR_POLL_SECONDS)
        _set(conn, next_sync_at=when, failure_reason=failures[0].message[:300])
        sync_schedule(when)
        return "retry" if temporary else "failed"
    next_at = now + timedelta(seconds=settings.CALENDAR_POLL_SECONDS)
    _set(conn, last_synced_at=now, next_sync_at=next_at, failure_reason="")
    sync_schedule(next_at)
    return "synced"


def _calendars_refresh(conn: CalendarConnection) -> None:
    """Read the provider's calendar list again (a calendar was deleted or unshared there)."""
    from calendars.connect import _consultant_zone, calendars_update

    remote = with_token(conn, lambda access: client(conn.provider).calendars_list(access_token=access))
    with transaction.atomic():
        calendars_update(conn, remote, time_zone=_consultant_zone(conn.consultant))


def _set(conn: CalendarConnection, **fields) -> None:
    CalendarConnection.objects.filter(pk=conn.pk).update(**fields)
    for name, value in fields.items():
        setattr(conn, name, value)


def needs_reconnect(conn: CalendarConnection, reason: str) -> None:
    """The provider refuses our access: stop syncing and tell the consultant — once per failure.
    The mirrored events stay, so the last known busy times keep blocking slots."""
    from notifications import compose

    with transaction.atomic():
        locked = CalendarConnection.objects.select_for_update().select_related("consultant").get(pk=conn.pk)
        first_time = locked.failure_notified_at is None
        locked.status = CalendarConnection.Status.NEEDS_RECONNECT
        locked.failure_reason = (reason or "The provider refused our access.")[:300]
        locked.next_sync_at = None
        if first_time:
            locked.failure_notified_at = timezone.now()
        locked.save(update_fields=["status", "failure_reason", "next_sync_at", "failure_notified_at"])
        if first_time:
            compose.calendar_needs_reconnect(locked)
        # Its channels cannot be stopped without a grant; they lapse at the provider. Forgetting
        # them here keeps them from being renewed (and notifications for them go unrouted).
        push.channels_forget(locked)
    conn.status, conn.failure_reason = locked.status, locked.failure_reason
    logger.warning("Calendar connection %s needs reconnecting: %s", conn.pk, reason)


@contextmanager
def sync_lock(connection_pk: int):
    """One sync per connection at a time (push notifications come in bursts, and the periodic
    work may meet a sync a notification started): a PostgreSQL advisory lock keyed by schema and
    connection. Yields False when another sync holds it."""
    key = (zlib.crc32(db_connection.schema_name.encode()) & 0x7FFFFFFF, int(connection_pk))
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:
            with db_connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


# --- When to run ------------------------------------------------------------------------------------


def sync_schedule(due_at: datetime) -> None:
    from core.scheduling import due_work_schedule

    due_work_schedule(kind=SYNC_WORK, due_at=due_at)


def next_due() -> datetime | None:
    """The earliest of: a connection's next poll, a push channel's renewal, a pending write-back."""
    from calendars.models import CallCalendarEvent, PushChannel

    renewal = PushChannel.objects.filter(calendar__connection__status=CalendarConnection.Status.ACTIVE) \
        .aggregate(due=Min("expires_at"))["due"]
    candidates = [
        CalendarConnection.objects.filter(status=CalendarConnection.Status.ACTIVE)
        .aggregate(due=Min("next_sync_at"))["due"],
        renewal - push.RENEW_BEFORE if renewal else None,
        CallCalendarEvent.objects.filter(pending=True).aggregate(due=Min("next_attempt_at"))["due"],
    ]
    due = [moment for moment in candidates if moment is not None]
    return min(due) if due else None


def due_sync(*, now: datetime | None = None) -> dict[str, int]:
    """A tenant's periodic work: sync the connections that are due (which also renews their push
    channels), retry pending write-backs, then work out when to come back."""
    from calendars.writeback import writebacks_due
    from core.scheduling import due_work_recompute

    now = now or timezone.now()
    done = {"synced": 0, "written": 0}
    due = CalendarConnection.objects.filter(status=CalendarConnection.Status.ACTIVE).filter(
        Q(next_sync_at__lte=now) | Q(calendars__channels__expires_at__lte=now + push.RENEW_BEFORE)).distinct()
    for conn in due:
        try:
            with sync_lock(conn.pk) as locked:
                if locked and connection_sync(conn, now=now, list_calendars=True) == "synced":
                    done["synced"] += 1
        except Exception:  # one odd connection must not stop the others (it is retried next poll)
            logger.exception("Sync of calendar connection %s failed unexpectedly", conn.pk)
            when = now + timedelta(seconds=settings.CALENDAR_POLL_SECONDS)
            CalendarConnection.objects.filter(pk=conn.pk).update(next_sync_at=when)
    done["written"] = writebacks_due(now=now)
    due_work_recompute(kind=SYNC_WORK, next_due=next_due)
    return done
