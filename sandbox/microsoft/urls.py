"""The Microsoft emulator's URLs, mounted at ``sandbox/microsoft/`` on the platform host when
MICROSOFT_EMULATED. They answer 404 unless CALENDAR_SANDBOX is on (development and tests), read at
request time: a deployment without Microsoft keys must not expose an open look-alike."""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from sandbox.microsoft import api, dev, oauth


def _sandbox_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.CALENDAR_SANDBOX:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


urlpatterns = [
    path("<str:tenant>/oauth2/v2.0/authorize", _sandbox_only(oauth.authorize), name="sandbox_microsoft_authorize"),
    path("<str:tenant>/oauth2/v2.0/token", _sandbox_only(oauth.token), name="sandbox_microsoft_token"),
    path("graph/v1.0/<path:path>", _sandbox_only(api.dispatch), name="sandbox_microsoft_graph"),
    path("dev/events", _sandbox_only(dev.events), name="sandbox_microsoft_dev_events"),
    path("dev/events/<str:event_id>", _sandbox_only(dev.event_detail), name="sandbox_microsoft_dev_event"),
    path("dev/calendars", _sandbox_only(dev.calendars), name="sandbox_microsoft_dev_calendars"),
    path("dev/faults", _sandbox_only(dev.faults), name="sandbox_microsoft_dev_faults"),
    path("dev/expire-tokens", _sandbox_only(dev.expire_tokens), name="sandbox_microsoft_dev_expire_tokens"),
    path("dev/revoke", _sandbox_only(dev.revoke), name="sandbox_microsoft_dev_revoke"),
    path("dev/invalidate-sync", _sandbox_only(dev.invalidate_sync), name="sandbox_microsoft_dev_invalidate_sync"),
    path("dev/channels", _sandbox_only(dev.channels), name="sandbox_microsoft_dev_channels"),
]
