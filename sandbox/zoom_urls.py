"""The Zoom emulator's URLs, mounted at ``sandbox/zoom/`` on the platform host when ZOOM_EMULATED.

They answer only where ZOOM_SANDBOX is on (development and tests): a production deployment
without Zoom keys uses the built-in video and must not expose an open Zoom look-alike."""

from functools import wraps

from django.conf import settings
from django.http import Http404
from django.urls import path

from sandbox import zoom


def _sandbox_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not (settings.ZOOM_EMULATED and settings.ZOOM_SANDBOX):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


urlpatterns = [
    path("v2/videosdk/sessions", _sandbox_only(zoom.sessions), name="sandbox_zoom_sessions"),
    path("faults", _sandbox_only(zoom.faults), name="sandbox_zoom_faults"),
]
