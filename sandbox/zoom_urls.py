"""The Zoom emulator's URLs, mounted at ``sandbox/zoom/`` on the platform host when ZOOM_EMULATED."""

from django.urls import path

from sandbox import zoom

urlpatterns = [
    path("v2/videosdk/sessions", zoom.sessions, name="sandbox_zoom_sessions"),
    path("faults", zoom.faults, name="sandbox_zoom_faults"),
]
