"""Push notifications: Google watch channels and Microsoft Graph subscriptions on readable calendars.

Providers notify the platform host (``/webhooks/google-calendar``, ``/webhooks/microsoft-calendar``)
naming only the channel; the public ``PushRoute`` row sends the notification to the tenant's
schema, where the channel's secret (Google's channel token, Graph's ``clientState``) is compared
before anything happens. A notification only makes the connection due for a sync now: the sync
itself reads the changes, so a forged or repeated notification can at worst cause one more sync.
Channels are renewed a day before they expire; the periodic poll covers missed notifications."""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from calendars.connect import with_token
from calendars.models import CalendarConnection, ExternalCalendar, PushChannel
from calendars.providers import google, microsoft
from calendars.providers.base import GrantRevoked, ProviderError
from core.models import PushRoute

logger = logging.getLogger(__name__)

RENEW_BEFORE = timedelta(days=1)
WEBHOOK_PATHS = {"google": "/webhooks/google-calendar", "microsoft": "/webhooks/microsoft-calendar"}


def address_for(provider: str) -> str:
    return settings.CALENDAR_PUSH_BASE_URL + WEBHOOK_PATHS[provider]


def _route_add(provider: str, channel_id: str) -> None:
    PushRoute.objects.update_or_create(provider=provider, channel_id=channel_id,
                                       defaults={"schema_name": db_connection.schema_name})


def _channel_open(conn: CalendarConnection, calendar: ExternalCalendar, *, now: datetime) -> None:
    secret = secrets.token_urlsafe(32)
    if conn.provider == "google":
        channel_id = f"consultio-{secrets.token_hex(16)}"
        # Routed before it exists: Google's first ("sync") notification may beat our commit.
        _route_add("google", channel_id)
        try:
            resource_id, expires_at = with_token(conn, lambda access: google.watch_start(
                access_token=access, calendar_id=calendar.provider_calendar_id, channel_id=channel_id,
                secret=secret, address=address_for("google")))
        except ProviderError:
            PushRoute.objects.filter(provider="google", channel_id=channel_id).delete()
            raise
    else:
        channel_id, expires_at = with_token(conn, lambda access: microsoft.subscription_start(
            access_token=access, calendar_id=calendar.provider_calendar_id, secret=secret,
            address=address_for("microsoft")))
        resource_id = ""
        _route_add("microsoft", channel_id)
    PushChannel.objects.create(calendar=calendar, provider=conn.provider, channel_id=channel_id,
                               resource_id=resource_id, secret=secret, expires_at=expires_at)


def channel_close(conn: CalendarConnection, channel: PushChannel) -> None:
    """Stop the provider's channel (best effort: it also lapses on its own) and forget it."""
    try:
        if channel.provider == "google":
            with_token(conn, lambda access: google.watch_stop(
                access_token=access, channel_id=channel.channel_id, resource_id=channel.resource_id))
        else:
            with_token(conn, lambda access: microsoft.subscription_stop(
                access_token=access, subscription_id=channel.channel_id))
    except ProviderError as exc:
        logger.info("Could not stop push channel %s (%s); it lapses by itself", channel.channel_id, exc.message)
    PushRoute.objects.filter(provider=channel.provider, channel_id=channel.channel_id).delete()
    channel.delete()


def channels_ensure(conn: CalendarConnection, *, now: datetime) -> None:
    """Every readable calendar has one live channel; others have none.

    A channel the provider refuses (e.g. an address that is not public https) is logged and left
    to the periodic poll; only a revoked grant propagates."""
    if conn.provider not in ("google", "microsoft"):
        return
    for calendar in conn.calendars.prefetch_related("channels"):
        channels = list(calendar.channels.all())
        try:
            if not calendar.readable:
                for channel in channels:
                    channel_close(conn, channel)
                continue
            live = [c for c in channels if c.expires_at - RENEW_BEFORE > now]
            for channel in channels:
                if channel not in live and _channel_renew_or_close(conn, calendar, channel, now=now):
                    live.append(channel)
            if not live:
                _channel_open(conn, calendar, now=now)
        except GrantRevoked:
            raise
        except ProviderError as exc:
            logger.warning("Push channel for calendar %s not opened (%s); polling covers it",
                           calendar.pk, exc.message)


def _channel_renew_or_close(conn: CalendarConnection, calendar: ExternalCalendar, channel: PushChannel, *,
                            now: datetime) -> bool:
    """Graph subscriptions are renewed in place (True); Google channels cannot be: the old one is
    stopped and ``channels_ensure`` opens a new one."""
    if channel.provider == "microsoft":
        try:
            channel.expires_at = with_token(conn, lambda access: microsoft.subscription_renew(
                access_token=access, subscription_id=channel.channel_id))
            channel.save(update_fields=["expires_at"])
            return True
        except ProviderError as exc:
            if isinstance(exc, GrantRevoked):
                raise
            logger.info("Renewing subscription %s failed (%s); opening a new one", channel.channel_id, exc.message)
    channel_close(conn, channel)
    return False


def channels_forget(conn: CalendarConnection) -> None:
    """Drop the connection's channels on our side only (no grant to stop them with)."""
    channels = PushChannel.objects.filter(calendar__connection=conn)
    PushRoute.objects.filter(channel_id__in=list(channels.values_list("channel_id", flat=True))).delete()
    channels.delete()


def channels_close_all(conn: CalendarConnection) -> None:
    for channel in PushChannel.objects.filter(calendar__connection=conn):
        channel_close(conn, channel)


# --- Receiving ---------------------------------------------------------------------------------------


def notification_accept(*, provider: str, channel_id: str, secret: str, resource_id: str = "",
                        sync: bool = True) -> str:
    """In the platform's schema: route one notification and make its connection due now (not for
    Google's first "sync" message, which only confirms the channel).

    Returns "accepted", "unknown" (no such channel: 404) or "forbidden" (wrong secret or resource:
    403)."""
    from django_tenants.utils import schema_context

    from tenants.models import Tenant

    # A deleted tenant's routes lead nowhere (its schema is gone).
    route = PushRoute.objects.filter(provider=provider, channel_id=channel_id,
                                     schema_name__in=Tenant.objects.values("schema_name")).first()
    if route is None:
        return "unknown"
    with schema_context(route.schema_name):
        channel = PushChannel.objects.select_related("calendar__connection").filter(
            provider=provider, channel_id=channel_id).first()
        if channel is None:
            return "unknown"
        if not hmac.compare_digest(channel.secret.encode(), (secret or "").encode()):
            logger.warning("Push notification for channel %s with a wrong secret refused", channel_id)
            return "forbidden"
        if channel.resource_id and resource_id and channel.resource_id != resource_id:
            return "forbidden"
        if sync:
            sync_now(channel.calendar.connection)
    return "accepted"


def sync_now(conn: CalendarConnection) -> None:
    """Make the connection due and have it synced right after this commits (in this schema)."""
    from calendars.sync import sync_schedule
    from calendars.tasks import connection_sync_task
    from core.tasks import delay_on_commit

    now = timezone.now()
    with transaction.atomic():
        CalendarConnection.objects.filter(pk=conn.pk, status=CalendarConnection.Status.ACTIVE) \
            .update(next_sync_at=now)
        sync_schedule(now)
        delay_on_commit(connection_sync_task, conn.pk)
