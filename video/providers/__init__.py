"""Video providers, chosen per deployment (``VIDEO_PROVIDER``) and overridable per tenant."""

from __future__ import annotations

from django.conf import settings

from video.providers.base import Person, ProviderUnavailable, VideoProvider

PROVIDER_NAMES = ("webrtc", "zoom")

__all__ = ["PROVIDER_NAMES", "Person", "ProviderUnavailable", "VideoProvider", "provider_get"]


def provider_get(name: str = "") -> VideoProvider:
    """The provider called ``name``, or the deployment's default when ``name`` is empty."""
    name = name or settings.VIDEO_PROVIDER
    if name == "webrtc":
        from video.providers.webrtc import WebRTCProvider

        return WebRTCProvider()
    if name == "zoom":
        from video.providers.zoom import ZoomProvider

        return ZoomProvider()
    raise ValueError(f"Unknown video provider {name!r}; choose one of {', '.join(PROVIDER_NAMES)}.")
