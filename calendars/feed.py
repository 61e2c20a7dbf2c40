"""The consultant's private ICS feed of their own calls, for any calendar app that subscribes to
an address (Apple Calendar, Thunderbird, Google's "From URL", Outlook's "Subscribe from web").

The secret address is the only credential: no login, 404 for anything unknown, and a new token
makes the old address answer 404. Each call is one VEVENT with the UID and SEQUENCE of the host's
email invites, so both describe the same event and a change or cancellation updates it in place."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, timedelta

from django.db.models import Q, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe
from icalendar import Calendar, Event, vDuration

from calendars.models import CalendarFeed
from core.urls import host_url
from notifications.ics import PRODID
from notifications.outbox import current_tenant

FEED_PATH = "/calendar-feed/{token}.ics"
# Calls from this long ago stay in the feed (a subscribed calendar keeps its recent past).
PAST = timedelta(days=30)
REFRESH = timedelta(minutes=15)
MAX_TOKEN_LENGTH = 64
MAX_NAMES = 10


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def _url(token: str) -> str:
    tenant = current_tenant()
    return host_url(tenant.primary_domain) + FEED_PATH.format(token=token)


def feed_url(consultant) -> str:
    """The consultant's feed address on the tenant's site; the feed is made on first use."""
    feed, _ = CalendarFeed.objects.get_or_create(consultant=consultant, defaults={"token": _new_token()})
    return _url(feed.token)


def feed_regenerate(consultant) -> str:
    """A new secret address (the old one then answers 404), for a leaked or shared link."""
    feed, _ = CalendarFeed.objects.update_or_create(consultant=consultant, defaults={"token": _new_token()})
    return _url(feed.token)


def _calls(consultant):
    """Confirmed and completed calls from 30 days ago on, and those canceled in that time after
    having been confirmed (a subscribed calendar then drops its copy).

    Calls waiting for payment are left out: they are holds of a few minutes that usually lapse,
    nobody has an invite for them yet, and a polled feed would show them long after they lapsed.
    A call that was ever confirmed has no hold expiry left (confirming clears it)."""
    from booking.models import Call

    since = timezone.now() - PAST
    live = Q(status__in=(Call.Status.CONFIRMED, Call.Status.COMPLETED))
    canceled = Q(status=Call.Status.CANCELED, canceled_at__gte=since, hold_expires_at__isnull=True)
    return Call.objects.filter(live | canceled, consultant=consultant, end_at__gte=since) \
        .order_by("start_at", "pk").prefetch_related("participants")


def _who(call) -> str:
    from booking.models import Call, CallParticipant

    people = list(call.participants.all())
    if call.status != Call.Status.CANCELED:
        people = [p for p in people if p.status == CallParticipant.Status.CONFIRMED]
    names = [p.name for p in people]
    return ", ".join(names[:MAX_NAMES]) + (f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else "")


def _event(call) -> Event:
    from booking.models import Call
    from notifications.compose import host_of

    host = host_of(call)
    who = _who(call)
    canceled = call.status == Call.Status.CANCELED
    event = Event()
    event.add("uid", host.uid)
    event.add("sequence", call.sequence)
    event.add("dtstamp", call.updated_at.astimezone(UTC))
    event.add("last-modified", call.updated_at.astimezone(UTC))
    event.add("dtstart", call.start_at.astimezone(UTC))
    event.add("dtend", call.end_at.astimezone(UTC))
    event.add("summary", f"{call.title} — {who}" if who else call.title)
    lines = [f"{call.title}" + (f" with {who}" if who else "") + ".",
             f"Join: {host.join_link}", f"Call page: {host.link}"]
    if canceled:
        lines.insert(0, "Canceled." + (f" {call.cancel_reason}" if call.cancel_reason else ""))
    event.add("description", "\n".join(lines))
    event.add("url", host.join_link)
    event.add("location", host.join_link)
    event.add("status", "CANCELLED" if canceled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if canceled else "OPAQUE")
    return event


def feed_ics(consultant) -> str:
    """The whole feed as text; a fixed number of queries whatever the number of calls."""
    tenant = current_tenant()
    prefetch_related_objects([tenant], "domains")  # every call's links need the primary domain
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    name = f"{tenant.name} — {consultant.full_name}"
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-caldesc", f"Your calls booked on {tenant.name}.")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH).to_ical().decode())  # Outlook's name for it
    for call in _calls(consultant):
        call.consultant = consultant  # with its profile: the links and UID come from it
        calendar.add_component(_event(call))
    return calendar.to_ical().decode()


@require_safe
def feed_view(request: HttpRequest, token: str) -> HttpResponse:
    """``/calendar-feed/<token>.ics`` on the tenant host: the feed, or 404."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Http404("No such calendar feed.")
    feed = CalendarFeed.objects.select_related("consultant__profile").filter(
        token=token, consultant__is_active=True).first()
    if feed is None:
        raise Http404("No such calendar feed.")
    body = feed_ics(feed.consultant).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": "private, max-age=300", "ETag": etag, "X-Robots-Tag": "noindex",
               "Content-Disposition": 'inline; filename="calls.ics"'}
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        return HttpResponse(status=304, headers=headers)
    return HttpResponse(body, content_type="text/calendar; charset=utf-8", headers=headers)

