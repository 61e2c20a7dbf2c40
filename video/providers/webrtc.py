"""The built-in provider: browsers connect to each other (a mesh), our WebSocket carries the
signalling. Nothing to create on a server; the browser only needs the ICE servers."""

from __future__ import annotations

from django.conf import settings

from booking.models import Call
from video.providers.base import Person


class WebRTCProvider:
    name = "webrtc"

    def session_start(self, *, call: Call) -> str:
        return ""

    def join_config(self, *, call: Call, person: Person, session_id: str) -> dict:
        return {"provider": self.name, "ice_servers": ice_servers(), "max_people": settings.VIDEO_MESH_MAX_PEOPLE}


def ice_servers() -> list[dict]:
    """STUN/TURN servers for the browsers (RTCPeerConnection's ``iceServers``). None are needed
    when everyone is on one machine or network; across the internet a TURN server (coturn)
    relays for people behind strict NATs."""
    servers: list[dict] = [{"urls": url} for url in settings.VIDEO_STUN_URLS]
    if settings.VIDEO_TURN_URLS:
        servers.append({"urls": settings.VIDEO_TURN_URLS, "username": settings.VIDEO_TURN_USERNAME,
                        "credential": settings.VIDEO_TURN_PASSWORD})
    return servers
