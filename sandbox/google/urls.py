"""The Google emulator's URLs, mounted at ``sandbox/google/`` on the platform host while GOOGLE_EMULATED.

They answer only where CALENDAR_SANDBOX is on (development and tests), checked on every request: a
deployment without Google keys must not expose an open Google look-alike."""

from functools import wraps

from django.conf import settings
from django.http import Http404
from django.urls import path

from sandbox.google import api, dev, oauth


def _sandbox_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not settings.CALENDAR_SANDBOX:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


_calendar = "calendar/v3/calendars/<str:calendar_id>"

urlpatterns = [
    path(route, _sandbox_only(view), name=f"sandbox_google_{name}") for route, view, name in [
        ("o/oauth2/v2/auth", oauth.authorize, "authorize"),
        ("token", oauth.token, "token"),
        ("revoke", oauth.revoke, "revoke"),
        ("v1/userinfo", oauth.userinfo, "userinfo"),
        ("calendar/v3/users/me/calendarList", api.calendar_list, "calendar_list"),
        ("calendar/v3/users/me/calendarList/<str:calendar_id>", api.calendar_list_entry, "calendar_list_entry"),
        ("calendar/v3/channels/stop", api.channels_stop, "channels_stop"),
        (_calendar, api.calendar_detail, "calendar"),
        (f"{_calendar}/events", api.events, "events"),
        (f"{_calendar}/events/watch", api.events_watch, "events_watch"),
        (f"{_calendar}/events/<str:event_id>", api.event_detail, "event"),
        ("dev/events", dev.events, "dev_events"),
        ("dev/events/<str:event_id>", dev.event_detail, "dev_event"),
        ("dev/calendars", dev.calendars, "dev_calendars"),
        ("dev/faults", dev.faults, "dev_faults"),
        ("dev/expire-tokens", dev.expire_tokens, "dev_expire_tokens"),
        ("dev/revoke", dev.revoke, "dev_revoke"),
        ("dev/invalidate-sync", dev.invalidate_sync, "dev_invalidate_sync"),
        ("dev/channels", dev.channels, "dev_channels"),
    ]
]
