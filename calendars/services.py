"""What a consultant does with their calendars: list, connect, disconnect, choose which calendars
block slots and which one receives booked calls."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import QuerySet

from calendars.models import CalendarConnection, ExternalCalendar, ExternalCalendarEvent, Provider
from core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied

logger = logging.getLogger(__name__)


def consultant_check(user) -> None:
    """Calendars belong to people who take calls: consultants and owners."""
    if not user.is_consultant:
        raise PermissionDenied("Only consultants and owners connect calendars.")


def connections_of(consultant) -> QuerySet[CalendarConnection]:
    return CalendarConnection.objects.filter(consultant=consultant).order_by("created_at", "pk")


def calendars_of(consultant) -> QuerySet[ExternalCalendar]:
    return ExternalCalendar.objects.filter(consultant=consultant).select_related("connection") \
        .order_by("connection__created_at", "connection_id", "-primary", "name", "pk")


def _pk(value) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise NotFound("No such calendar.") from None


def calendars_to_reconnect(consultant) -> list[CalendarConnection]:
    """What the workspace tells the consultant to reconnect."""
    return list(connections_of(consultant).filter(status=CalendarConnection.Status.NEEDS_RECONNECT))


def connection_get(consultant, connection_id) -> CalendarConnection:
    conn = connections_of(consultant).filter(pk=_pk(connection_id)).first()
    if conn is None:
        raise NotFound("No such calendar connection.")
    return conn


def connection_disconnect(*, consultant, connection_id) -> None:
    """Take the events of upcoming calls out of its calendars, stop the push channels, give the
    grant back, and drop the connection with its calendars and mirrored events — the slots they
    blocked come back at once. (Events we could not reach stay; we can no longer update them.)"""
    from calendars.crypto import TokenUnreadable, token_decrypt
    from calendars.providers import client
    from calendars.push import channels_close_all
    from calendars.writeback import events_remove_for

    conn = connection_get(consultant, connection_id)
    if conn.is_oauth:
        if conn.status == CalendarConnection.Status.ACTIVE:
            events_remove_for(conn)
        channels_close_all(conn)
        try:
            token = token_decrypt(conn.refresh_token) or token_decrypt(conn.access_token)
        except TokenUnreadable:
            token = ""
        if token:
            client(conn.provider).token_revoke(token=token)
    with transaction.atomic():
        CalendarConnection.objects.filter(pk=conn.pk).delete()
    logger.info("Consultant %s disconnected calendar connection %s", consultant.pk, conn.pk)


def calendar_get(consultant, calendar_id) -> ExternalCalendar:
    calendar = calendars_of(consultant).filter(pk=_pk(calendar_id)).first()
    if calendar is None:
        raise NotFound("No such calendar.")
    return calendar


def calendar_update(*, consultant, calendar_id, readable: bool | None = None,
                    writable: bool | None = None) -> ExternalCalendar:
    """Choose whether a calendar blocks slots (readable) and whether booked calls go into it
    (writable: one calendar per consultant, so choosing one clears the previous)."""
    from calendars.push import sync_now
    from calendars.writeback import calls_rewrite_for

    if readable is None and writable is None:
        raise InvalidInput("Give “readable” and/or “writable” (true or false).")
    calendar = calendar_get(consultant, calendar_id)
    if writable and calendar.connection.provider == Provider.ICS:
        raise InvalidInput("An ICS address is read-only: calls cannot be written to it.", field="writable")
    if writable and not calendar.can_write:
        raise InvalidInput(f"You can only read “{calendar.name}”: choose a calendar you can edit.",
                           field="writable")
    if writable and calendar.connection.status != CalendarConnection.Status.ACTIVE:
        raise Conflict("Reconnect this account before writing calls into its calendar.",
                       code="calendar_needs_reconnect")
    with transaction.atomic():
        # All the consultant's calendars, in one order: two changes of "writable" at once queue up
        # instead of deadlocking or meeting the one-writable constraint half-way.
        mine = {cal.pk: cal for cal in ExternalCalendar.objects.select_for_update().filter(
            consultant=consultant).order_by("pk")}
        locked = mine[calendar.pk]
        writable_changed = writable is not None and writable != locked.writable
        if readable is not None and readable != locked.readable:
            locked.readable = readable
            if not readable:
                # It no longer blocks anything; a later "readable" starts again from a full pass.
                ExternalCalendarEvent.objects.filter(calendar=locked).delete()
                locked.sync_token, locked.mirrored_until = "", None
        if writable_changed:
            if writable:
                ExternalCalendar.objects.filter(consultant=consultant, writable=True).exclude(pk=locked.pk) \
                    .update(writable=False)
            locked.writable = writable
        locked.save(update_fields=["readable", "writable", "sync_token", "mirrored_until"])
        if readable is not None:
            sync_now(locked.connection)  # opens or closes push channels, mirrors a newly readable calendar
        if writable_changed:
            calls_rewrite_for(consultant.pk)
    calendar.refresh_from_db()
    return calendar


def connection_reconnect_due(conn: CalendarConnection) -> None:
    """After a reconnect: sync now, and write again what failed while the grant was refused."""
    from calendars.push import sync_now
    from calendars.writeback import calls_rewrite_for

    calls_rewrite_for(conn.consultant_id)
    sync_now(conn)
